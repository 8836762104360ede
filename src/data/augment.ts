// Training augmentation of a window [C, D, H, W] and its centre-slice label [H, W] together,
// TransSeg's MONAI 0.6 train transforms after Resized (docs/method.md §2), in their order:
//   1. zoom by one factor U(0.5, 2) (the range can be changed) to ⌊H·z⌋ × ⌊W·z⌋ (area for the
//      image, nearest for the label);
//   2. random crop to the model size where larger (RandSpatialCropd);
//   3. the dataset's intensity transform (ScaleIntensityRanged), image only;
//   4. flips along H, W and D, each with p = 0.1 (RandFlipd on spatial axes 0, 1, 2; the probability
//      can be changed: nnU-Net and MONAI's BraTS recipe mirror each axis with p = 0.5);
//   5. rot90 in the (H, W) plane by k ∈ {1, 2, 3} quarter turns with p = 0.1 (RandRotate90d);
//   6. intensity shift by U(−0.1, 0.1) with p = 0.5 (RandShiftIntensityd), image only;
//   7. symmetric zero padding up to the model size (SpatialPadd).
// Beyond TransSeg, optional: before the shift, each channel multiplied by its own factor U(MIN, MAX)
// (nnU-Net's multiplicative brightness, MONAI's RandScaleIntensity channel-wise). Lesion contrast
// differs between scanners and patients; without it a model learns absolute intensity thresholds.
// Zoom is in-plane only. MONAI zooms the depth axis too (one factor for all three axes), after
// which TransSeg crops or pads the D slices back to D, shifting which neighbours the window holds;
// our model needs exactly D slices of fixed spacing, so depth is left as it is. The label follows
// every geometric step; a depth flip leaves it unchanged (D is odd, the centre stays the centre).
//
// Randomness: one seeded generator (util/random.ts rng) passed in; drawAugmentation takes every
// random decision up front (MONAI's randomize), applyAugmentation is deterministic.

import { noIntensity, type IntensityTransform } from './intensity.js';
import { resizeArea, resizeNearest, type Size2 } from './resize.js';
import type { Window } from './windows.js';

export const AUGMENTATION = {
  minZoom: 0.5,
  maxZoom: 2,
  flipProbability: 0.1,
  rot90Probability: 0.1,
  shiftProbability: 0.5,
  maxShift: 0.1,
} as const;

export interface AugmentParams {
  zoom: number;
  /** [⌊H·zoom⌋, ⌊W·zoom⌋] (at least 1). */
  zoomed: [number, number];
  /** Top-left corner of the crop in the zoomed plane ([0, 0] along axes not larger than the size). */
  crop: [number, number];
  flip: { height: boolean; width: boolean; depth: boolean };
  /** Quarter turns, 0 for none. */
  rot90: 0 | 1 | 2 | 3;
  /** The intensity offset, or null when not applied. */
  shift: number | null;
  /** The per-channel intensity factors, or null without an intensity-scale range. */
  scale: number[] | null;
}

/** The optional intensity scaling: each of `channels` multiplied by U(range[0], range[1]). */
export interface IntensityScale {
  range: readonly [number, number];
  channels: number;
}

/**
 * Draws every random decision for a window of in-plane size `from` and a square model `size`, in a
 * fixed order: zoom, crop row and column (only where the zoomed plane is larger), the three flips
 * (each one draw, whatever `flipProbability`), rot90 k then whether to apply it, shift offset then
 * whether to apply it, and last (only with `intensityScale`) one factor per channel, so runs
 * without it draw exactly what they drew before.
 */
export function drawAugmentation(
  random: () => number, from: Size2, size: Size2,
  zoomRange: readonly [number, number] = [AUGMENTATION.minZoom, AUGMENTATION.maxZoom], intensityScale?: IntensityScale,
  flipProbability: number = AUGMENTATION.flipProbability,
): AugmentParams {
  if (size[0] !== size[1]) throw new Error(`drawAugmentation: the model size must be square (rot90 swaps height and width), got [${size.join(', ')}]`);
  const [minZoom, maxZoom] = zoomRange;
  if (!(minZoom > 0 && minZoom <= maxZoom && Number.isFinite(maxZoom))) throw new Error(`drawAugmentation: the zoom range must be 0 < min <= max, got [${zoomRange.join(', ')}]`);
  if (!(flipProbability >= 0 && flipProbability <= 1)) throw new Error(`drawAugmentation: the flip probability must be in [0, 1], got ${flipProbability}`);
  const { rot90Probability, shiftProbability, maxShift } = AUGMENTATION;
  const zoom = minZoom + (maxZoom - minZoom) * random();
  const zoomed = from.map((n) => Math.max(1, Math.floor(n * zoom))) as [number, number];
  const crop = zoomed.map((n, k) => (n > size[k] ? Math.floor(random() * (n - size[k] + 1)) : 0)) as [number, number];
  const flip = { height: random() < flipProbability, width: random() < flipProbability, depth: random() < flipProbability };
  const k = (1 + Math.floor(3 * random())) as 1 | 2 | 3;
  const rot90 = random() < rot90Probability ? k : 0;
  const offset = -maxShift + 2 * maxShift * random();
  const shift = random() < shiftProbability ? offset : null;
  let scale: number[] | null = null;
  if (intensityScale) {
    const [lo, hi] = intensityScale.range;
    if (!(lo > 0 && lo <= hi && Number.isFinite(hi))) throw new Error(`drawAugmentation: the intensity-scale range must be 0 < min <= max, got [${intensityScale.range.join(', ')}]`);
    scale = Array.from({ length: intensityScale.channels }, () => lo + (hi - lo) * random());
  }
  return { zoom, zoomed, crop, flip, rot90, shift, scale };
}

/** Planes [planes, height, width] in C order. */
interface Stack {
  data: Float32Array;
  planes: number;
  height: number;
  width: number;
}

/** A new [planes, height, width] stack with out[i, j] = s[source(i, j)] per plane (0 where source is −1). */
function gather(s: Stack, height: number, width: number, source: (i: number, j: number) => number): Stack {
  const data = new Float32Array(s.planes * height * width);
  const plane = s.height * s.width;
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      const from = source(i, j);
      if (from < 0) continue;
      for (let p = 0, to = i * width + j; p < s.planes; p++, to += height * width) data[to] = s.data[p * plane + from];
    }
  }
  return { data, planes: s.planes, height, width };
}

function crop(s: Stack, [top, left]: readonly number[], size: Size2): Stack {
  const [h, w] = [Math.min(s.height, size[0]), Math.min(s.width, size[1])];
  return gather(s, h, w, (i, j) => (top + i) * s.width + left + j);
}

function flip(s: Stack, axis: 'height' | 'width'): Stack {
  const { height: H, width: W } = s;
  return gather(s, H, W, axis === 'height' ? (i, j) => (H - 1 - i) * W + j : (i, j) => i * W + W - 1 - j);
}

/** numpy.rot90(plane, k, axes = (0, 1)): counter-clockwise quarter turns. */
function rot90(s: Stack, k: 1 | 2 | 3): Stack {
  const { height: H, width: W } = s;
  if (k === 1) return gather(s, W, H, (i, j) => j * W + W - 1 - i);
  if (k === 2) return gather(s, H, W, (i, j) => (H - 1 - i) * W + W - 1 - j);
  return gather(s, W, H, (i, j) => (H - 1 - j) * W + i);
}

/** MONAI SpatialPad, method 'symmetric': ⌊gap/2⌋ zeros before, the rest after. */
function pad(s: Stack, size: Size2): Stack {
  const top = Math.floor(Math.max(size[0] - s.height, 0) / 2);
  const left = Math.floor(Math.max(size[1] - s.width, 0) / 2);
  const [h, w] = [Math.max(s.height, size[0]), Math.max(s.width, size[1])];
  return gather(s, h, w, (i, j) => {
    const [y, x] = [i - top, j - left];
    return y >= 0 && y < s.height && x >= 0 && x < s.width ? y * s.width + x : -1;
  });
}

/** Reverses the order of the D planes of each channel. */
function flipDepth(data: Float32Array, channels: number, depth: number, plane: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let c = 0; c < channels; c++) {
    for (let d = 0; d < depth; d++) out.set(data.subarray((c * depth + d) * plane, (c * depth + d + 1) * plane), (c * depth + depth - 1 - d) * plane);
  }
  return out;
}

/** Applies drawn parameters to a window and its [H, W] label; returns new arrays of the model size. */
export function applyAugmentation(
  window: Window, label: Float32Array, params: AugmentParams, size: Size2, intensity: IntensityTransform = noIntensity,
): { window: Window; label: Float32Array } {
  const from: Size2 = [window.height, window.width];
  if (label.length !== from[0] * from[1]) throw new Error(`augment: the label has ${label.length} values, the window's planes are [${from.join(', ')}]`);
  const planes = window.channels * window.depth;
  let image: Stack = { data: resizeArea(window.data, planes, from, params.zoomed), planes, height: params.zoomed[0], width: params.zoomed[1] };
  let mask: Stack = { data: resizeNearest(label, 1, from, params.zoomed), planes: 1, height: params.zoomed[0], width: params.zoomed[1] };
  image = crop(image, params.crop, size);
  mask = crop(mask, params.crop, size);
  image.data = intensity(image.data, window.channels);
  for (const axis of ['height', 'width'] as const) {
    if (!params.flip[axis]) continue;
    image = flip(image, axis);
    mask = flip(mask, axis);
  }
  if (params.flip.depth) image.data = flipDepth(image.data, window.channels, window.depth, image.height * image.width);
  if (params.rot90 !== 0) {
    image = rot90(image, params.rot90);
    mask = rot90(mask, params.rot90);
  }
  if (params.scale !== null) {
    if (params.scale.length !== window.channels) throw new Error(`augment: ${params.scale.length} intensity factors for ${window.channels} channel(s)`);
    const plane = image.data.length / window.channels;
    for (let c = 0; c < window.channels; c++) {
      const factor = params.scale[c];
      for (let i = c * plane; i < (c + 1) * plane; i++) image.data[i] *= factor;
    }
  }
  if (params.shift !== null) {
    const offset = Math.fround(params.shift); // numpy adds the Python float as f32
    image.data = image.data.map((v) => v + offset);
  }
  image = pad(image, size);
  mask = pad(mask, size);
  return { window: { ...window, data: image.data, height: image.height, width: image.width }, label: mask.data };
}

/**
 * The training augmentation of a window [C, D, H, W] and its label [H, W] (already resized to the
 * model size by resizeWindow / resizeNearest, as TransSeg's Resized does first) to a square
 * `size`. `options.intensity` is the dataset's normalisation, applied between crop and flips as in
 * TransSeg: after zoom (its clipping does not commute with area averaging) and before padding
 * (padding stays 0, not the normalised value of 0).
 */
export function augment(
  window: Window, label: Float32Array, random: () => number, size: Size2,
  options: { intensity?: IntensityTransform; zoomRange?: readonly [number, number]; intensityScale?: readonly [number, number]; flipProbability?: number } = {},
): { window: Window; label: Float32Array } {
  const scale = options.intensityScale ? { range: options.intensityScale, channels: window.channels } : undefined;
  const params = drawAugmentation(random, [window.height, window.width], size, options.zoomRange, scale, options.flipProbability);
  return applyAugmentation(window, label, params, size, options.intensity);
}
