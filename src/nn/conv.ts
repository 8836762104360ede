// Convolution modules with PyTorch's parameter names and layouts: Conv2d (stride 1, zero padding),
// ConvTranspose2d (kernel = stride, the 2×2 stride-2 up-sampling of the decoders) and mmcv's
// ConvModule (conv without bias → BatchNorm → ReLU, children named `conv` and `bn` as mmcv names
// them, so `lateral_convs.0.conv.weight` and `lateral_convs.0.bn.running_mean` load unchanged).

import type { Gpu } from '../gpu/gpu.js';
import { conv2d, convTranspose2d } from '../ops/conv.js';
import { scope } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { randn, uniform } from '../util/random.js';
import { Module } from './module.js';
import { BatchNorm2d } from './norm.js';

export interface Conv2dModuleOptions {
  /** Zero padding on every side (default 0). */
  padding?: number;
  /** A learned per-channel bias (default true). */
  bias?: boolean;
  /**
   * 'torch': nn.Conv2d's default, U(±1/√fan_in) for weight and bias (fan_in = C·k·k).
   * 'kaiming-fan-out': mmcv's kaiming_init for a conv followed by ReLU, N(0, 2/fan_out) with
   * fan_out = O·k·k, and a zero bias.
   * 'zeros': weight and bias 0, for a layer whose output starts as nothing (a residual branch).
   */
  init?: 'torch' | 'kaiming-fan-out' | 'zeros';
}

/** nn.Conv2d with stride 1: `weight` [O, C, k, k], optional `bias` [O]. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly padding: number;

  constructor(gpu: Gpu, seed: number, readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, options: Conv2dModuleOptions = {}) {
    super(gpu, seed);
    this.padding = options.padding ?? 0;
    const n = outChannels * inChannels * kernelSize * kernelSize;
    const init = options.init ?? 'torch';
    const bound = 1 / Math.sqrt(inChannels * kernelSize * kernelSize);
    const weight = {
      torch: () => uniform(n, this.seedFor('weight'), -bound, bound),
      'kaiming-fan-out': () => randn(n, this.seedFor('weight'), Math.sqrt(2 / (outChannels * kernelSize * kernelSize))),
      zeros: () => new Float32Array(n),
    }[init];
    this.weight = this.param('weight', [outChannels, inChannels, kernelSize, kernelSize], weight());
    this.bias = options.bias === false
      ? null
      : this.param('bias', [outChannels], init === 'torch' ? uniform(outChannels, this.seedFor('bias'), -bound, bound) : new Float32Array(outChannels));
  }

  /** x [B, C, H, W] → [B, O, H + 2p − k + 1, W + 2p − k + 1]. */
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias ?? undefined, { padding: this.padding });
  }
}

/**
 * nn.ConvTranspose2d with kernel = stride (default 2, as every decoder here uses): `weight`
 * [Cin, Cout, k, k] and `bias` [Cout]. PyTorch's default init computes fan_in from the weight's
 * second axis, so both are U(±1/√(Cout·k·k)).
 */
export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(gpu: Gpu, seed: number, readonly inChannels: number, readonly outChannels: number, readonly kernelSize = 2) {
    super(gpu, seed);
    const bound = 1 / Math.sqrt(outChannels * kernelSize * kernelSize);
    const n = inChannels * outChannels * kernelSize * kernelSize;
    this.weight = this.param('weight', [inChannels, outChannels, kernelSize, kernelSize], uniform(n, this.seedFor('weight'), -bound, bound));
    this.bias = this.param('bias', [outChannels], uniform(outChannels, this.seedFor('bias'), -bound, bound));
  }

  /** x [B, Cin, H, W] → [B, Cout, k·H, k·W]. */
  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias);
  }
}

/**
 * mmcv's ConvModule with norm_cfg BN and the default ReLU: a bias-free conv (the BN's shift makes a
 * bias redundant), BatchNorm2d (eps 1e-5) and ReLU. Initialised as mmcv does: kaiming normal,
 * fan_out, for the conv; BN weight 1 and bias 0.
 */
export class ConvModule extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;

  constructor(gpu: Gpu, seed: number, inChannels: number, outChannels: number, kernelSize: number, padding = 0) {
    super(gpu, seed);
    this.conv = this.child('conv', new Conv2d(gpu, this.seedFor('conv'), inChannels, outChannels, kernelSize, {
      padding, bias: false, init: 'kaiming-fan-out',
    }));
    this.bn = this.child('bn', new BatchNorm2d(gpu, this.seedFor('bn'), outChannels));
  }

  forward(x: Tensor): Tensor {
    return scope(() => this.bn.forward(this.conv.forward(x), true)); // BN and ReLU in one pass
  }
}
