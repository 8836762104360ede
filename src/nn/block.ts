// The pre-norm transformer block of ViT: x + attn(norm1(x)), then + mlp(norm2(x)).

import type { Gpu } from '../gpu/gpu.js';
import { add, gelu, mul } from '../ops/elementwise.js';
import type { RelativePositionIndex } from '../ops/gather.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MultiHeadAttention, type AttentionOptions } from './attention.js';
import { LayerNorm } from './layernorm.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(gpu: Gpu, seed: number, dim: number, hidden: number, init?: 'torch' | 'vit') {
    super(gpu, seed);
    this.fc1 = this.child('fc1', new Linear(gpu, this.seedFor('fc1'), dim, hidden, { init }));
    this.fc2 = this.child('fc2', new Linear(gpu, this.seedFor('fc2'), hidden, dim, { init }));
  }

  forward(x: Tensor): Tensor {
    return scope(() => this.fc2.forward(gelu(this.fc1.forward(x))));
  }
}

/** A learned per-channel scale on a residual branch (timm's LayerScale; BEiT's gamma_1/2). */
export class LayerScale extends Module {
  readonly gamma: Tensor;

  constructor(gpu: Gpu, seed: number, dim: number, initValue: number) {
    super(gpu, seed);
    this.gamma = this.param('gamma', [dim], new Float32Array(dim).fill(initValue));
  }

  forward(x: Tensor): Tensor {
    return mul(x, this.gamma);
  }
}

export interface BlockOptions extends AttentionOptions {
  /** MLP hidden width (default 4·dim). */
  mlpHidden?: number;
  /** LayerNorm epsilon: 1e-6 in timm's ViT, 1e-5 in PyTorch's default and vit-pytorch. */
  eps?: number;
  /** Initial value of layer-scale gammas (BEiT uses 0.1); no layer scale when absent. */
  layerScale?: number;
}

export class Block extends Module {
  readonly norm1: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;
  readonly ls1: LayerScale | null;
  readonly ls2: LayerScale | null;

  constructor(gpu: Gpu, seed: number, dim: number, options: BlockOptions) {
    super(gpu, seed);
    const eps = options.eps ?? 1e-6;
    this.norm1 = this.child('norm1', new LayerNorm(gpu, this.seedFor('norm1'), dim, eps));
    this.attn = this.child('attn', new MultiHeadAttention(gpu, this.seedFor('attn'), dim, options));
    this.norm2 = this.child('norm2', new LayerNorm(gpu, this.seedFor('norm2'), dim, eps));
    this.mlp = this.child('mlp', new Mlp(gpu, this.seedFor('mlp'), dim, options.mlpHidden ?? 4 * dim, options.init));
    const ls = options.layerScale;
    this.ls1 = ls === undefined ? null : this.child('ls1', new LayerScale(gpu, 0, dim, ls));
    this.ls2 = ls === undefined ? null : this.child('ls2', new LayerScale(gpu, 0, dim, ls));
  }

  /** x: [B, T, E] → [B, T, E]. */
  forward(x: Tensor, relativeIndex?: RelativePositionIndex): Tensor {
    return scope(() => {
      const a = this.attn.forward(this.norm1.forward(x), relativeIndex);
      const h = add(x, this.ls1 ? this.ls1.forward(a) : a);
      const m = this.mlp.forward(this.norm2.forward(h));
      return add(h, this.ls2 ? this.ls2.forward(m) : m);
    });
  }
}
