// LayerNorm over the last axis, nn.LayerNorm(normalized_shape=C, eps).

import type { Gpu } from '../gpu/gpu.js';
import { layerNorm } from '../ops/layernorm.js';
import { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(gpu: Gpu, seed: number, readonly features: number, readonly eps: number) {
    super(gpu, seed);
    this.weight = this.param('weight', [features], new Float32Array(features).fill(1));
    this.bias = this.param('bias', [features], new Float32Array(features));
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
