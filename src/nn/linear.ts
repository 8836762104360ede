// Linear: y = x·Wᵀ + b with PyTorch's weight layout [out, in].

import type { Gpu } from '../gpu/gpu.js';
import { matmul } from '../ops/matmul.js';
import { Tensor } from '../tensor/tensor.js';
import { truncatedNormal, uniform } from '../util/random.js';
import { Module } from './module.js';

export interface LinearOptions {
  bias?: boolean;
  /**
   * 'torch': nn.Linear's default, U(±1/√in) for weight and bias.
   * 'vit': timm's ViT init, truncated normal std 0.02 for the weight and zeros for the bias.
   */
  init?: 'torch' | 'vit';
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(gpu: Gpu, seed: number, readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    super(gpu, seed);
    const vit = options.init === 'vit';
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.param(
      'weight',
      [outFeatures, inFeatures],
      vit ? truncatedNormal(outFeatures * inFeatures, this.seedFor('weight'), 0.02) : uniform(outFeatures * inFeatures, this.seedFor('weight'), -bound, bound),
    );
    this.bias = options.bias === false
      ? null
      : this.param('bias', [outFeatures], vit ? new Float32Array(outFeatures) : uniform(outFeatures, this.seedFor('bias'), -bound, bound));
  }

  /** x: [..., in] → [..., out]. */
  forward(x: Tensor): Tensor {
    return matmul(x, this.weight, { transB: true, bias: this.bias ?? undefined });
  }
}
