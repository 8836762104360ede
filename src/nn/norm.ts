// Normalisation modules on [B, C, H, W] maps with PyTorch's names: BatchNorm2d (learned affine and
// running statistics) and InstanceNorm2d (affine off, as MONAI's get_norm_layer("instance")).

import type { Gpu } from '../gpu/gpu.js';
import { batchNorm2d, instanceNorm2d } from '../ops/channelnorm.js';
import { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export interface BatchNorm2dOptions {
  /** Default 1e-5 (PyTorch, mmcv). */
  eps?: number;
  /** Weight of each batch in the running averages; default 0.1 (PyTorch). */
  momentum?: number;
}

/**
 * nn.BatchNorm2d (SyncBatchNorm on one device is the same): `weight` 1 and `bias` 0 learned,
 * buffers `running_mean` 0 and `running_var` 1. In training mode it normalises with the batch
 * statistics and updates the running ones in place; in eval mode it uses the running ones.
 * PyTorch's third buffer, `num_batches_tracked`, is not kept: it only matters with momentum=None
 * (a cumulative average), which nothing here uses. Skip it when loading a PyTorch checkpoint
 * (`loadWeights(..., { ignore: (n) => n.endsWith('num_batches_tracked') })`).
 */
export class BatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly eps: number;
  readonly momentum: number;

  constructor(gpu: Gpu, seed: number, readonly channels: number, options: BatchNorm2dOptions = {}) {
    super(gpu, seed);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.weight = this.param('weight', [channels], new Float32Array(channels).fill(1));
    this.bias = this.param('bias', [channels], new Float32Array(channels));
    this.runningMean = this.buffer('running_mean', [channels], new Float32Array(channels));
    this.runningVar = this.buffer('running_var', [channels], new Float32Array(channels).fill(1));
  }

  /** `relu`: apply ReLU to the output in the same pass (ConvModule). */
  forward(x: Tensor, relu = false): Tensor {
    return batchNorm2d(x, this.weight, this.bias, { runningMean: this.runningMean, runningVar: this.runningVar }, {
      training: this.training, momentum: this.momentum, eps: this.eps, relu,
    });
  }
}

/** nn.InstanceNorm2d(affine=False): each (image, channel) plane normalised on its own. No state. */
export class InstanceNorm2d extends Module {
  constructor(gpu: Gpu, readonly eps = 1e-5) {
    super(gpu, 0);
  }

  forward(x: Tensor): Tensor {
    return instanceNorm2d(x, this.eps);
  }
}
