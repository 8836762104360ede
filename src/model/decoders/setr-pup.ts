// SETR's progressive up-sampling decoder as TransSeg has it (backbones/decoders/setrpup.py, spec
// §1.8), on the last block's map: three times conv3×3 → InstanceNorm → ReLU → bilinear ×2, then
// conv3×3 → InstanceNorm → ReLU → conv1×1 to the classes → bilinear to the input size.
//
// Names are TransSeg's: convs `decoder0`…`decoder4`, norms `norm0`…`norm3` (MONAI's instance norm:
// affine off, eps 1e-5, so they hold nothing). Differences, both invisible at TransSeg's settings:
// the ×2 steps double height and width separately (TransSeg doubles the width and makes the map
// square), and the last step resizes to the input size (TransSeg's ×2 reaches it for patch 16).
// `decoder0` reads the encoder width E and the rest work at `channels` (TransSeg: both 768).

import type { Gpu } from '../../gpu/gpu.js';
import { relu } from '../../ops/elementwise.js';
import { upsampleBilinear } from '../../ops/resample.js';
import { scope } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Conv2d } from '../../nn/conv.js';
import { Module } from '../../nn/module.js';
import { InstanceNorm2d } from '../../nn/norm.js';

export interface SetrPupOptions {
  classes: number;
  /** Width of the decoder (TransSeg: the encoder width, 768). */
  channels: number;
}

export class SetrPup extends Module {
  /** decoder0…decoder3 (3×3, padding 1) and decoder4 (1×1 to the classes). */
  readonly convs: Conv2d[];
  readonly norms: InstanceNorm2d[];

  constructor(gpu: Gpu, seed: number, readonly embedDim: number, options: SetrPupOptions) {
    super(gpu, seed);
    const { channels, classes } = options;
    this.convs = [0, 1, 2, 3].map((i) =>
      this.child(`decoder${i}`, new Conv2d(gpu, this.seedFor(`decoder${i}`), i === 0 ? embedDim : channels, channels, 3, { padding: 1 })),
    );
    this.convs.push(this.child('decoder4', new Conv2d(gpu, this.seedFor('decoder4'), channels, classes, 1)));
    this.norms = [0, 1, 2, 3].map((i) => this.child(`norm${i}`, new InstanceNorm2d(gpu)));
  }

  /** features: [[B, E, h, w]] (the last block) → logits [B, classes, ...size]. */
  forward(features: readonly Tensor[], size: readonly [number, number]): Tensor {
    const [x] = features;
    if (features.length !== 1 || x.rank !== 4 || x.shape[1] !== this.embedDim) {
      throw new Error(`SetrPup: expects one feature map [B, ${this.embedDim}, h, w], got ${features.map((f) => `[${f.shape.join(', ')}]`).join(', ') || 'none'}`);
    }
    return scope(() => {
      let h = x;
      for (let i = 0; i < 4; i++) {
        h = relu(this.norms[i].forward(this.convs[i].forward(h)));
        if (i < 3) h = upsampleBilinear(h, [2 * h.shape[2], 2 * h.shape[3]]);
      }
      return upsampleBilinear(this.convs[4].forward(h), size);
    });
  }
}
