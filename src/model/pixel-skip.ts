// A full-resolution skip from the input to the output, as UNETR has one (Hatamizadeh et al. 2022:
// convolutions on the image itself, joined with the decoder at full size). The ViT sees the window
// in P×P patches and every decoder here works up from the token grid, so an outline finer than a
// patch is interpolated, not seen. This branch reads the window's own pixels and corrects the
// decoder's logits with them:
//
//   logits + classifier(fuse([logits, input.1(input.0(x))]))
//
// `input.0` and `input.1` are 3×3 ConvModules over all C·D channels of the window (so the depth of
// each pixel is seen too), `fuse` a 3×3 ConvModule over those features and the logits, and
// `classifier` a 1×1 conv back to the classes. The classifier starts at zero, so a new model
// predicts exactly what its decoder does and the branch learns only a correction. Not in the
// paper's model: off unless `pixelSkip` (its width) is set.

import type { Gpu } from '../gpu/gpu.js';
import { add } from '../ops/elementwise.js';
import { concat, reshape } from '../ops/shape.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { Conv2d, ConvModule } from '../nn/conv.js';
import { Module } from '../nn/module.js';

export class PixelSkip extends Module {
  readonly input: [ConvModule, ConvModule];
  readonly fuse: ConvModule;
  readonly classifier: Conv2d;

  /** inChannels: C·D, the window's channels times its slices; width: the branch's channels. */
  constructor(gpu: Gpu, seed: number, readonly inChannels: number, readonly classes: number, readonly width: number) {
    super(gpu, seed);
    const module = <M extends Module>(name: string, make: (seed: number) => M) => this.child(name, make(this.seedFor(name)));
    this.input = [
      module('input.0', (s) => new ConvModule(gpu, s, inChannels, width, 3, 1)),
      module('input.1', (s) => new ConvModule(gpu, s, width, width, 3, 1)),
    ];
    this.fuse = module('fuse', (s) => new ConvModule(gpu, s, classes + width, width, 3, 1));
    this.classifier = module('classifier', (s) => new Conv2d(gpu, s, width, classes, 1, { init: 'zeros' }));
  }

  /** x [B, C, D, H, W] and the decoder's logits [B, classes, H, W] → corrected logits, same shape. */
  forward(x: Tensor, logits: Tensor): Tensor {
    const [B, C, D, H, W] = x.shape;
    const [b, k, h, w] = logits.shape;
    if (x.rank !== 5 || C * D !== this.inChannels || logits.rank !== 4 || b !== B || k !== this.classes || h !== H || w !== W) {
      throw new Error(
        `PixelSkip: expects a window [B, C, D, H, W] with C·D = ${this.inChannels} and logits [B, ${this.classes}, H, W], ` +
          `got [${x.shape.join(', ')}] and [${logits.shape.join(', ')}]`,
      );
    }
    return scope(() => {
      const [first, second] = this.input;
      const pixels = second.forward(first.forward(reshape(x, [B, C * D, H, W])));
      return add(logits, this.classifier.forward(this.fuse.forward(concat([logits, pixels], 1))));
    });
  }
}
