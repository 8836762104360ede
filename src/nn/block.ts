// The pre-norm transformer block of ViT: x + attn(norm1(x)), then + mlp(norm2(x)).

import type { Gpu } from '../gpu/gpu.js';
import { add, gelu } from '../ops/elementwise.js';
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

export interface BlockOptions extends AttentionOptions {
  mlpRatio?: number;
  /** LayerNorm epsilon: 1e-6 in timm's ViT, 1e-5 in PyTorch's default and vit-pytorch. */
  eps?: number;
}

export class Block extends Module {
  readonly norm1: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;

  constructor(gpu: Gpu, seed: number, dim: number, options: BlockOptions) {
    super(gpu, seed);
    const eps = options.eps ?? 1e-6;
    this.norm1 = this.child('norm1', new LayerNorm(gpu, this.seedFor('norm1'), dim, eps));
    this.attn = this.child('attn', new MultiHeadAttention(gpu, this.seedFor('attn'), dim, options));
    this.norm2 = this.child('norm2', new LayerNorm(gpu, this.seedFor('norm2'), dim, eps));
    this.mlp = this.child('mlp', new Mlp(gpu, this.seedFor('mlp'), dim, Math.round(dim * (options.mlpRatio ?? 4)), options.init));
  }

  /** x: [B, T, E] → [B, T, E]. */
  forward(x: Tensor, attnBias?: Tensor): Tensor {
    return scope(() => {
      const h = add(x, this.attn.forward(this.norm1.forward(x), attnBias));
      return add(h, this.mlp.forward(this.norm2.forward(h)));
    });
  }
}
