// A canonical 2-D checkpoint → a 3-D TransSeg encoder (docs/method.md §5–§7): the patch kernel is
// turned grey, spread over the new input channels and inflated over D slices; the absolute
// position embedding and BEiT's relative-position tables are resized to the new token grid; the
// classification head and final norm are dropped (the segmenter reads block outputs only).

import type { HostTensor } from '../tensor/host-tensor.js';
import { tokenGrid, type VitConfig } from '../model/config.js';
import { HEAD_TENSORS } from '../model/pretrained.js';
import { inflatePatchEmbed, type InflationMethod } from './patch-embed.js';
import { resizePositionEmbedding, type PositionResizeMode } from './position-embedding.js';
import { resizeRelativePositionBias } from './relative-position.js';

export interface InflateOptions {
  /** Slices per window D (5 in the paper); 1 gives the paper's "w/o D" 2-D model. */
  depth: number;
  /** Input channels of the 3-D model (modalities: 1 for CT, 2–4 for multi-modal MRI). */
  inChannels: number;
  method: InflationMethod;
  /** The segmenter's in-plane input size [H, W]. */
  imageSize: [number, number];
  /** How the absolute position embedding is resized (timm: bicubic; DINO's loader: nearest). */
  positionInterpolation?: PositionResizeMode;
}

export interface InflatedEncoder {
  config: VitConfig;
  tensors: Map<string, HostTensor>;
}

export function inflateCheckpoint(config2d: VitConfig, tensors2d: Map<string, HostTensor>, options: InflateOptions): InflatedEncoder {
  const { depth, inChannels, method, imageSize } = options;
  for (const [name, v] of [['depth', depth], ['inChannels', inChannels]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`inflate: ${name} must be a positive integer, got ${v}`);
  }
  if (config2d.depthSlices !== 1) throw new Error(`inflate: the checkpoint is already 3-D (depth ${config2d.depthSlices})`);
  const config: VitConfig = {
    ...config2d,
    depthSlices: depth,
    inChannels,
    imageSize,
    finalNorm: 'none',
    head: { kind: 'none' },
    // TransSeg feeds intensities scaled to [0, 1] in (docs/method.md §5); no ImageNet mean/std.
    normalization: { mean: new Array(inChannels).fill(0), std: new Array(inChannels).fill(1) },
  };
  const from = tokenGrid(config2d, config2d.imageSize);
  const to = tokenGrid(config, imageSize);
  const E = config.embedDim;
  const out = new Map<string, HostTensor>();
  for (const [name, t] of tensors2d) {
    if (HEAD_TENSORS.test(name)) continue;
    if (name === 'patch_embed.proj.weight') {
      // [E, C, P, P] from a 2-D checkpoint, or [E, C, 1, P, P] from a depth-1 model of ours.
      const [e, c, p, q] = t.shape.length === 5 && t.shape[2] === 1 ? [t.shape[0], t.shape[1], t.shape[3], t.shape[4]] : t.shape;
      out.set(name, { shape: [e, inChannels, depth, p, q], data: inflatePatchEmbed(t.data, [e, c, p, q], { channels: inChannels, depth, method }) });
    } else if (name === 'pos_embed') {
      const data = resizePositionEmbedding(t.data, [1, t.shape[1], E], {
        prefixTokens: config.prefixTokens, from, to, mode: options.positionInterpolation ?? 'bicubic',
      });
      out.set(name, { shape: [1, config.prefixTokens + to[0] * to[1], E], data });
    } else if (name.endsWith('.attn.relative_position_bias_table')) {
      const [rows, heads] = t.shape;
      const data = resizeRelativePositionBias(t.data, [rows, heads], from, to);
      out.set(name, { shape: [(2 * to[0] - 1) * (2 * to[1] - 1) + 3, heads], data });
    } else {
      out.set(name, t);
    }
  }
  return { config, tensors: out };
}
