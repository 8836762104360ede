// TransSeg's transposed-convolution decoder (decoders/convtrans.py, docs/method.md §8), on the
// last block's map: InstanceNorm → ReLU, then three times ConvT 2×2 stride 2 → InstanceNorm → ReLU,
// then ConvT 2×2 stride 2 to the classes: 16× the token grid, the input size for patch 16.
//
// Names are TransSeg's: `decoder1`…`decoder4` (ConvT with bias), `norm0`…`norm3` (MONAI's instance
// norm: affine off, eps 1e-5, nothing stored). `decoder1` reads the encoder width E, the rest work
// at `channels` (TransSeg: both 768). For other patch sizes, where 16× the grid is not the input
// size, the logits are resized bilinearly to it; TransSeg has no such step.

import type { Gpu } from '../../gpu/gpu.js';
import { relu } from '../../ops/elementwise.js';
import { upsampleBilinear } from '../../ops/resample.js';
import { scope } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ConvTranspose2d } from '../../nn/conv.js';
import { Module } from '../../nn/module.js';
import { InstanceNorm2d } from '../../nn/norm.js';

export interface ConvTransOptions {
  classes: number;
  /** Width of the decoder (TransSeg: the encoder width, 768). */
  channels: number;
}

export class ConvTrans extends Module {
  /** decoder1…decoder4. */
  readonly convs: ConvTranspose2d[];
  readonly norms: InstanceNorm2d[];

  constructor(gpu: Gpu, seed: number, readonly embedDim: number, options: ConvTransOptions) {
    super(gpu, seed);
    const { channels, classes } = options;
    const widths = [embedDim, channels, channels, channels, classes];
    this.norms = [0, 1, 2, 3].map((i) => this.child(`norm${i}`, new InstanceNorm2d(gpu)));
    this.convs = [1, 2, 3, 4].map((i) =>
      this.child(`decoder${i}`, new ConvTranspose2d(gpu, this.seedFor(`decoder${i}`), widths[i - 1], widths[i])),
    );
  }

  /** features: [[B, E, h, w]] (the last block) → logits [B, classes, ...size]. */
  forward(features: readonly Tensor[], size: readonly [number, number]): Tensor {
    const [x] = features;
    if (features.length !== 1 || x.rank !== 4 || x.shape[1] !== this.embedDim) {
      throw new Error(`ConvTrans: expects one feature map [B, ${this.embedDim}, h, w], got ${features.map((f) => `[${f.shape.join(', ')}]`).join(', ') || 'none'}`);
    }
    return scope(() => {
      let h = relu(this.norms[0].forward(x));
      for (let i = 0; i < 3; i++) h = relu(this.norms[i + 1].forward(this.convs[i].forward(h)));
      const logits = this.convs[3].forward(h);
      const [H, W] = size;
      return logits.shape[2] === H && logits.shape[3] === W ? logits : upsampleBilinear(logits, size);
    });
  }
}
