// The whole segmentation model of TransSeg (model.py SegmentationModel): the ViT encoder with its
// 3-D patch embedding, then a 2-D decoder on the maps of some of its blocks, giving logits for the
// centre slice of each window. Parameters are `encoder.*` and `decoder.*`, as TransSeg names them.
//
// The paper's ablations map onto this as follows.
// - "w/o D" (`--force_2d`): build with `force2dConfig(config)` and feed `centreSlice(x)`.
// - "w/o T&D" (`--use_pretrained 0` as well): simply do not load pre-trained weights. The encoder
//   then keeps VisionTransformer's timm-style init: Linear weights, the CLS token and the relative
//   position tables truncated normal (std 0.02) with zero biases, LayerNorm 1 and 0, layer scales
//   0.1, and PyTorch's default U(±1/√fan_in) for the patch-embedding Conv3d.

import type { Gpu } from '../gpu/gpu.js';
import { slice } from '../ops/shape.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';
import type { VitConfig } from './config.js';
import { ConvTrans } from './decoders/convtrans.js';
import { SetrPup } from './decoders/setr-pup.js';
import { UPERNET_FEATURE_INDICES, UperNet } from './decoders/upernet.js';
import { PixelSkip } from './pixel-skip.js';
import { VisionTransformer } from './vit.js';

export type DecoderKind = 'upernet' | 'setr-pup' | 'convtrans';

export interface SegmenterOptions {
  classes: number;
  /** Default 'upernet' (TransSeg's default). */
  decoder?: DecoderKind;
  /** Width of the decoder; default the encoder width (TransSeg: hidden_size). */
  channels?: number;
  /**
   * The encoder blocks (0-based) whose outputs the decoder reads: four for UPerNet (default
   * [3, 5, 7, 11], TransSeg's for depth 12), one for the others (default the last block).
   */
  featureIndices?: readonly number[];
  /** UPerNet's Dropout2d probability in training mode; default 0.1. */
  dropout?: number;
  /**
   * Width of a full-resolution branch from the input window to the logits (pixel-skip.ts,
   * UNETR's skip from the image); absent or 0: none, the paper's model.
   */
  pixelSkip?: number;
}

export interface SegmenterForwardOptions {
  /**
   * Seed of this call's dropout masks (the step number, for example): training with dropout needs
   * one, so that a run can be repeated exactly. Eval mode ignores it.
   */
  dropoutSeed?: number;
}

export class Segmenter extends Module {
  readonly encoder: VisionTransformer;
  readonly decoder: UperNet | SetrPup | ConvTrans;
  readonly featureIndices: readonly number[];
  readonly classes: number;
  readonly pixelSkip: PixelSkip | null;

  constructor(gpu: Gpu, seed: number, config: VitConfig, options: SegmenterOptions) {
    super(gpu, seed);
    const { classes, decoder = 'upernet' } = options;
    const E = config.embedDim;
    const channels = options.channels ?? E;
    for (const [name, v] of [['classes', classes], ['channels', channels]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Segmenter: ${name} must be a positive integer, got ${v}`);
    }
    const skipWidth = options.pixelSkip ?? 0;
    if (!Number.isInteger(skipWidth) || skipWidth < 0) throw new Error(`Segmenter: pixelSkip must be a whole number (0 = none), got ${skipWidth}`);
    if (options.dropout !== undefined && decoder !== 'upernet') {
      throw new Error(`Segmenter: dropout is an option of the upernet decoder; ${decoder} has none`);
    }
    const indices = options.featureIndices ?? (decoder === 'upernet' ? UPERNET_FEATURE_INDICES : [config.depth - 1]);
    const wanted = decoder === 'upernet' ? 4 : 1;
    if (indices.length !== wanted || indices.some((i) => !Number.isInteger(i) || i < 0 || i >= config.depth)) {
      throw new Error(
        `Segmenter: the ${decoder} decoder needs ${wanted} feature block ${wanted > 1 ? 'indices' : 'index'} in 0..${config.depth - 1} ` +
          `(the encoder has depth ${config.depth}), got [${indices.join(', ')}]; pass featureIndices`,
      );
    }
    this.featureIndices = [...indices];
    this.classes = classes;

    this.encoder = this.child('encoder', new VisionTransformer(gpu, this.seedFor('encoder'), config));
    const decoderSeed = this.seedFor('decoder');
    this.decoder = this.child('decoder',
      decoder === 'upernet'
        ? new UperNet(gpu, decoderSeed, E, { classes, channels, dropout: options.dropout })
        : decoder === 'setr-pup'
          ? new SetrPup(gpu, decoderSeed, E, { classes, channels })
          : new ConvTrans(gpu, decoderSeed, E, { classes, channels }));
    this.pixelSkip = skipWidth > 0
      ? this.child('pixel_skip', new PixelSkip(gpu, this.seedFor('pixel_skip'), config.inChannels * config.depthSlices, classes, skipWidth))
      : null;
  }

  /** x [B, C, D, H, W] (D = the config's depthSlices) → logits [B, classes, H, W] for the centre slice. */
  forward(x: Tensor, options: SegmenterForwardOptions = {}): Tensor {
    const [H, W] = this.encoder.config.imageSize;
    return scope(() => {
      const logits = this.decoder.forward(this.encoder.features(x, this.featureIndices), [H, W], options.dropoutSeed);
      return this.pixelSkip ? this.pixelSkip.forward(x, logits) : logits;
    });
  }
}

/** The paper's "w/o D": the same encoder built for one slice (a 2-D patch embedding). */
export function force2dConfig(config: VitConfig): VitConfig {
  return { ...config, depthSlices: 1 };
}

/** The centre slice D//2 of a window batch: [B, C, D, H, W] → [B, C, 1, H, W], for a force-2d model. */
export function centreSlice(x: Tensor): Tensor {
  if (x.rank !== 5) throw new Error(`centreSlice: x must be [B, C, D, H, W], got [${x.shape.join(', ')}]`);
  const d = Math.floor(x.shape[2] / 2);
  return slice(x, 2, d, d + 1);
}
