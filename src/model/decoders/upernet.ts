// UPerNet, TransSeg's default decoder (decoders/upernet.py there, docs/method.md §8): BEiT's feature
// pyramid neck on the maps of four encoder blocks, then mmseg's UPerHead (a PPM on the coarsest
// level, a top-down FPN, fusion of all levels, a 1×1 classifier).
//
// Parameter names are TransSeg's, so its checkpoints load unchanged: the neck's nn.Sequential
// members keep their indices (`fpn1.0` ConvT, `fpn1.1` BN, `fpn1.3` ConvT; `fpn1.2` is the GELU and
// `fpn3`/`fpn4` have no parameters), a PPM branch is `psp_modules.<i>.1` (index 0 is its pooling),
// and every ConvModule has `conv` and `bn` children.
//
// Widths: the neck keeps the encoder width E (TransSeg's fpn convs are channels→channels with
// channels = E); the head works at `channels`. The last resize goes to the input size: TransSeg's
// "×4 from level 0" is exactly that for patch 16, and the input size also fits other patch sizes.

import type { Gpu } from '../../gpu/gpu.js';
import { dropout2d } from '../../ops/dropout.js';
import { add, gelu } from '../../ops/elementwise.js';
import { adaptiveAvgPool2d, maxPool2d } from '../../ops/pool.js';
import { upsampleBilinear } from '../../ops/resample.js';
import { concat } from '../../ops/shape.js';
import { scope } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Conv2d, ConvModule, ConvTranspose2d } from '../../nn/conv.js';
import { Module } from '../../nn/module.js';
import { BatchNorm2d } from '../../nn/norm.js';

/** The encoder blocks UPerNet reads in TransSeg (depth 12): blocks 4, 6, 8 and 12. */
export const UPERNET_FEATURE_INDICES: readonly number[] = [3, 5, 7, 11];

/** The PPM's adaptive-pooling bins. */
const POOL_SCALES = [1, 2, 3, 6];

export interface UperNetOptions {
  classes: number;
  /** Width of the head (TransSeg: the encoder width, 768). */
  channels: number;
  /** Dropout2d probability before `conv_seg` in training mode; default 0.1. */
  dropout?: number;
}

const spatial = (t: Tensor): [number, number] => [t.shape[2], t.shape[3]];

export class UperNet extends Module {
  readonly dropout: number;
  readonly convSeg: Conv2d;
  readonly fpn1: [ConvTranspose2d, BatchNorm2d, ConvTranspose2d];
  readonly fpn2: ConvTranspose2d;
  readonly pspModules: ConvModule[];
  readonly bottleneck: ConvModule;
  readonly lateralConvs: ConvModule[];
  readonly fpnConvs: ConvModule[];
  readonly fpnBottleneck: ConvModule;

  constructor(gpu: Gpu, seed: number, readonly embedDim: number, options: UperNetOptions) {
    super(gpu, seed);
    const { classes, channels } = options;
    this.dropout = options.dropout ?? 0.1;
    if (!(this.dropout >= 0 && this.dropout < 1)) throw new Error(`UperNet: dropout must be in [0, 1), got ${this.dropout}`);
    const E = embedDim;
    // Registers a child under its PyTorch name, seeded from that name.
    const module = <M extends Module>(name: string, make: (seed: number) => M) => this.child(name, make(this.seedFor(name)));

    this.convSeg = module('conv_seg', (s) => new Conv2d(gpu, s, channels, classes, 1));
    this.fpn1 = [
      module('fpn1.0', (s) => new ConvTranspose2d(gpu, s, E, E)),
      module('fpn1.1', (s) => new BatchNorm2d(gpu, s, E)),
      module('fpn1.3', (s) => new ConvTranspose2d(gpu, s, E, E)),
    ];
    this.fpn2 = module('fpn2.0', (s) => new ConvTranspose2d(gpu, s, E, E));
    this.pspModules = POOL_SCALES.map((_, i) => module(`psp_modules.${i}.1`, (s) => new ConvModule(gpu, s, E, channels, 1)));
    this.bottleneck = module('bottleneck', (s) => new ConvModule(gpu, s, E + POOL_SCALES.length * channels, channels, 3, 1));
    this.lateralConvs = [0, 1, 2].map((i) => module(`lateral_convs.${i}`, (s) => new ConvModule(gpu, s, E, channels, 1)));
    this.fpnConvs = [0, 1, 2].map((i) => module(`fpn_convs.${i}`, (s) => new ConvModule(gpu, s, channels, channels, 3, 1)));
    this.fpnBottleneck = module('fpn_bottleneck', (s) => new ConvModule(gpu, s, 4 * channels, channels, 3, 1));
  }

  /**
   * features: four [B, E, h, w] block outputs, shallow to deep → logits [B, classes, ...size].
   * `dropoutSeed` draws this call's Dropout2d mask; it is required in training mode with dropout > 0.
   */
  forward(features: readonly Tensor[], size: readonly [number, number], dropoutSeed?: number): Tensor {
    this.checkFeatures(features);
    const applyDropout = this.training && this.dropout > 0;
    if (applyDropout && dropoutSeed === undefined) {
      throw new Error('UperNet: training with dropout needs a dropoutSeed (e.g. the step number), so the run is reproducible');
    }
    return scope(() => {
      // The pyramid: 4×, 2×, 1× and ½× the token grid.
      const [c0, bn, c1] = this.fpn1;
      const levels = [c1.forward(gelu(bn.forward(c0.forward(features[0])))), this.fpn2.forward(features[1]), features[2], maxPool2d(features[3])];

      const laterals = this.lateralConvs.map((conv, i) => conv.forward(levels[i]));
      laterals.push(this.psp(levels[3]));
      for (let i = laterals.length - 1; i > 0; i--) {
        laterals[i - 1] = add(laterals[i - 1], upsampleBilinear(laterals[i], spatial(laterals[i - 1])));
      }

      const outs = this.fpnConvs.map((conv, i) => conv.forward(laterals[i]));
      outs.push(laterals[laterals.length - 1]);
      const top = spatial(outs[0]);
      const fused = this.fpnBottleneck.forward(concat(outs.map((o, i) => (i === 0 ? o : upsampleBilinear(o, top))), 1));
      const logits = this.convSeg.forward(applyDropout ? dropout2d(fused, this.dropout, dropoutSeed!) : fused);
      return upsampleBilinear(logits, size);
    });
  }

  /** PSP: x with its pooled-and-restored context at every bin count, fused by a 3×3 ConvModule. */
  private psp(x: Tensor): Tensor {
    const context = this.pspModules.map((conv, i) => upsampleBilinear(conv.forward(adaptiveAvgPool2d(x, POOL_SCALES[i])), spatial(x)));
    return this.bottleneck.forward(concat([x, ...context], 1));
  }

  private checkFeatures(features: readonly Tensor[]): void {
    const shapes = features.map((f) => `[${f.shape.join(', ')}]`).join(', ');
    const [first] = features;
    const ok = features.length === 4 && features.every((f) =>
      f.rank === 4 && f.shape[1] === this.embedDim && f.shape.every((d, i) => d === first.shape[i]));
    if (!ok) throw new Error(`UperNet: expects four feature maps [B, ${this.embedDim}, h, w] of one shape, got ${shapes || 'none'}`);
  }
}
