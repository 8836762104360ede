// Intensity normalisation, channels outermost ([C, …] in C order). Two stages: normalizeScan on the
// whole case [C, Z, Y, X] before windows are cut (the z-score, whose statistics are the scan's), and
// windowIntensity on each resized window [C, D, H, W] (the pointwise clip-scale). Each transform
// returns a new array.
//
// Arithmetic follows MONAI on float32 numpy arrays: every operation is rounded to f32
// (Math.fround), with Python-float constants converted to f32 first as numpy does.

import { backgroundValues } from './background.js';

export type IntensityTransform = (data: Float32Array, channels: number) => Float32Array;

/** How a dataset's intensities are normalised; presets below, and JSON-friendly for configs. */
export type IntensitySpec =
  | { kind: 'clip'; aMin: number; aMax: number }
  | { kind: 'zscore' }
  | { kind: 'none' };

/**
 * MONAI ScaleIntensityRanged(a_min, a_max, b_min = 0, b_max = 1, clip = True):
 * (x − a_min) / (a_max − a_min), clipped to [0, 1]. TransSeg's only normalisation
 * (docs/method.md §2).
 */
export function clipScale(aMin: number, aMax: number): IntensityTransform {
  if (!(Number.isFinite(aMin) && Number.isFinite(aMax) && aMax > aMin)) {
    throw new Error(`clipScale: need finite a_min < a_max, got a_min ${aMin}, a_max ${aMax}`);
  }
  const shift = Math.fround(aMin);
  const range = Math.fround(aMax - aMin);
  return (data) => {
    const out = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      // The f64 quotient of two f32 values, stored as f32, is the f32 division rounded correctly.
      out[i] = Math.min(Math.max(Math.fround(data[i] - shift) / range, 0), 1);
    }
    return out;
  };
}

/**
 * MONAI NormalizeIntensity(nonzero = True, channel_wise = True) over a whole scan ([C, Z, Y, X],
 * dims [X, Y, Z]), with the scan's background in place of "zero": per channel, the voxels that
 * differ from the channel's background (background.ts: the value its 8 corners share, else 0)
 * become (x − mean) / std over those voxels (population std; 1 when it is 0), and the background
 * becomes 0. Where the background is 0 (raw MRI) this is MONAI's transform exactly; a volume
 * z-scored before it reaches us (BRATS's "subtrMeanDivStd", −3.55 outside the brain) is
 * normalised over its brain, not over the whole grid. A channel without such voxels is unchanged.
 * The mean and std are accumulated in f64 and rounded to f32, where numpy sums in f32 pairwise:
 * they agree to ~1e-7 relative.
 */
export function zScoreScan(image: Float32Array, channels: number, dims: readonly [number, number, number]): Float32Array {
  const background = backgroundValues(image, channels, dims);
  const out = Float32Array.from(image);
  const size = dims[0] * dims[1] * dims[2];
  for (let c = 0; c < channels; c++) {
    const block = out.subarray(c * size, (c + 1) * size);
    const b = background[c];
    let n = 0;
    let sum = 0;
    for (const v of block) {
      if (v === b) continue;
      n++;
      sum += v;
    }
    if (n === 0) continue;
    const mean = sum / n;
    let squares = 0;
    for (const v of block) if (v !== b) squares += (v - mean) ** 2;
    const mean32 = Math.fround(mean);
    const std32 = Math.fround(Math.sqrt(squares / n)) || 1;
    for (let i = 0; i < size; i++) block[i] = block[i] === b ? 0 : Math.fround(block[i] - mean32) / std32;
  }
  return out;
}

/** Leaves the values as they are (a copy). */
export const noIntensity: IntensityTransform = (data) => Float32Array.from(data);

/** A whole case: [C, Z, Y, X] with dims [X, Y, Z]. */
export type Scan = { image: Float32Array; channels: number; dims: readonly [number, number, number] };

/**
 * The part of a spec that needs the whole scan, applied once before any window is cut: `zscore`,
 * whose statistics are the scan's (MONAI applies NormalizeIntensityd to the volume, nnU-Net
 * normalises per image). Other specs return the scan itself.
 */
export function normalizeScan<T extends Scan>(spec: IntensitySpec, scan: T): T {
  return spec.kind === 'zscore' ? { ...scan, image: zScoreScan(scan.image, scan.channels, scan.dims) } : scan;
}

/**
 * The part of a spec applied to each resized window: the clip-scale (pointwise, after the resize
 * and crop, in TransSeg's order). `zscore` is done on the scan (normalizeScan), so here it is the
 * identity, like `none`.
 */
export function windowIntensity(spec: IntensitySpec): IntensityTransform {
  switch (spec.kind) {
    case 'clip': return clipScale(spec.aMin, spec.aMax);
    case 'zscore': return noIntensity;
    case 'none': return noIntensity;
  }
}

const CT: IntensitySpec = { kind: 'clip', aMin: -175, aMax: 250 };

/**
 * TransSeg's clip ranges per dataset (docs/method.md §3, its train_*.sh), with `ct` for any CT set.
 * ACDC is cine MRI but was trained with the CT range, as coded; Brain's ±1e6 amounts to a scale.
 */
export const INTENSITY_PRESETS: Readonly<Record<string, IntensitySpec>> = {
  ct: CT,
  bcv: CT,
  acdc: CT,
  brain: { kind: 'clip', aMin: -1e6, aMax: 1e6 },
  heart: { kind: 'clip', aMin: 601, aMax: 1511 },
  liver: CT,
  hippocampus: { kind: 'clip', aMin: 29, aMax: 205431 },
  prostate: { kind: 'clip', aMin: 0, aMax: 2152 },
  lung: CT,
  pancreas: CT,
  hepaticVessel: CT,
  spleen: CT,
  colon: CT,
};

/** An intensity spec as `--intensity` writes it: a preset name, clip:MIN,MAX, zscore or none; errors start with `command`. */
export function parseIntensity(text: string, command: string): IntensitySpec {
  if (Object.hasOwn(INTENSITY_PRESETS, text)) return INTENSITY_PRESETS[text];
  if (text === 'zscore' || text === 'none') return { kind: text };
  const m = /^clip:(-?[\d.e+]+),(-?[\d.e+]+)$/.exec(text);
  if (m && Number(m[1]) < Number(m[2])) return { kind: 'clip', aMin: Number(m[1]), aMax: Number(m[2]) };
  throw new Error(`${command}: --intensity must be a preset (${Object.keys(INTENSITY_PRESETS).join(', ')}), clip:MIN,MAX, zscore or none; got '${text}'`);
}
