// D-slice windows along the last NIfTI axis (z, "axial" as TransSeg calls it), the model's input.
//
// For slice k the window holds slices k−⌊D/2⌋ … k+⌊D/2⌋, clamped to 0 … Z−1 (edge slices
// repeated): docs/method.md §1 for D = 5, [max(k−2,0), max(k−1,0), k, min(k+1,Z−1), min(k+2,Z−1)].
//
// In-plane orientation: TransSeg feeds nibabel's array [X, Y, Z] as (H, W, D), so H runs along
// NIfTI x and W along y. The same is kept here, window[c, d, h, w] = image[c, z_d, y = w, x = h],
// so that TransSeg checkpoints see their slices the way they were trained. (Read as a C-order
// [Y, X] plane, each NIfTI slice is therefore transposed into the window.)

import type { LoadedCase } from './volume.js';

/** An image window, [channels, depth, height, width] in C order. */
export interface Window {
  data: Float32Array;
  channels: number;
  depth: number;
  height: number;
  width: number;
}

/** The slice indices of the window centred on slice k of `slices`, edges clamped. */
export function windowSlices(k: number, slices: number, depth: number): number[] {
  if (!Number.isInteger(depth) || depth < 1 || depth % 2 === 0) throw new Error(`windowSlices: depth must be an odd integer ≥ 1, got ${depth}`);
  if (!Number.isInteger(k) || k < 0 || k >= slices) throw new Error(`windowSlices: slice ${k} is outside 0..${slices - 1}`);
  const half = (depth - 1) / 2;
  return Array.from({ length: depth }, (_, d) => Math.min(Math.max(k - half + d, 0), slices - 1));
}

/**
 * The window of `depth` slices centred on slice k of a case, [C, D, H = X, W = Y], and the label
 * of slice k, [H = X, W = Y] (when the case has one).
 */
export function extractWindow(
  volume: Pick<LoadedCase, 'image' | 'label' | 'dims' | 'channels'>, k: number, depth: number,
): { window: Window; label?: Float32Array } {
  const [X, Y, Z] = volume.dims;
  const slices = windowSlices(k, Z, depth);
  const plane = X * Y;
  const data = new Float32Array(volume.channels * depth * plane);
  for (let c = 0; c < volume.channels; c++) {
    slices.forEach((z, d) => transposeSlice(volume.image, (c * Z + z) * plane, X, Y, data, (c * depth + d) * plane));
  }
  const window: Window = { data, channels: volume.channels, depth, height: X, width: Y };
  if (!volume.label) return { window };
  const label = new Float32Array(plane);
  transposeSlice(volume.label, k * plane, X, Y, label, 0);
  return { window, label };
}

/** out[h·Y + w] = source[from + w·X + h]: a NIfTI slice (x fastest) as an [X, Y] plane. */
function transposeSlice(source: Float32Array, from: number, X: number, Y: number, out: Float32Array, to: number): void {
  for (let h = 0; h < X; h++) {
    for (let w = 0; w < Y; w++) out[to + h * Y + w] = source[from + w * X + h];
  }
}

/**
 * The inverse for predictions: writes an [H = X, W = Y] slice into slice k of a [Z, Y, X] volume
 * (NIfTI order, ready for writeNifti), e.g. the argmax of the centre slice of window k.
 */
export function placeSlice(volume: Float32Array | Uint8Array, dims: readonly [number, number, number], k: number, slice: ArrayLike<number>): void {
  const [X, Y, Z] = dims;
  if (volume.length !== X * Y * Z) throw new Error(`placeSlice: the volume has ${volume.length} values, dims [${dims.join(', ')}] need ${X * Y * Z}`);
  if (slice.length !== X * Y) throw new Error(`placeSlice: the slice has ${slice.length} values, an [H = ${X}, W = ${Y}] slice needs ${X * Y}`);
  if (!Number.isInteger(k) || k < 0 || k >= Z) throw new Error(`placeSlice: slice ${k} is outside 0..${Z - 1}`);
  const from = k * X * Y;
  for (let h = 0; h < X; h++) {
    for (let w = 0; w < Y; w++) volume[from + w * X + h] = slice[h * Y + w];
  }
}
