// In-plane resampling of stacks of planes ([planes, height, width] in C order) as torch
// F.interpolate does it, which is what MONAI's Resized / RandZoomd call:
// - area (images): adaptive average pooling, bins [⌊i·in/out⌋, ⌈(i+1)·in/out⌉);
// - nearest (labels): torch's legacy rule, source ⌊dst · f32(in/out)⌋ in float32;
// - bilinear (class probabilities back to the input grid), align_corners = False.
// And cropForeground, the bounding box of a case's foreground (data/background.ts), undone by
// uncropFromBox.

import { foregroundMask } from './background.js';
import { checkVolume } from './check-volume.js';
import type { Window } from './windows.js';

/** [height, width] */
export type Size2 = readonly [number, number];

function checkStack(op: string, data: ArrayLike<number>, planes: number, from: Size2, to: Size2): void {
  for (const [name, size] of [['from', from], ['to', to]] as const) {
    if (!size.every((n) => Number.isInteger(n) && n >= 1)) throw new Error(`${op}: ${name} must be two positive integers, got [${size.join(', ')}]`);
  }
  if (data.length !== planes * from[0] * from[1]) {
    throw new Error(`${op}: ${data.length} values are not ${planes} planes of [${from.join(', ')}]`);
  }
}

/** Runs `plane(source offset, target offset)` for every plane. */
function eachPlane(planes: number, from: Size2, to: Size2, plane: (src: number, dst: number) => void): void {
  for (let p = 0; p < planes; p++) plane(p * from[0] * from[1], p * to[0] * to[1]);
}

/**
 * Area resize (torch adaptive_avg_pool, MONAI mode 'area'). The sum runs in f32 over rows then
 * columns and is divided by the bin height, then by the bin width, each rounded to f32, as torch's
 * CPU adaptive_avg_pool3d does on TransSeg's (H, W, D) array, so results match it bit for bit.
 */
export function resizeArea(data: Float32Array, planes: number, from: Size2, to: Size2): Float32Array {
  checkStack('resizeArea', data, planes, from, to);
  const bins = (n: number, m: number) => Array.from({ length: m }, (_, i) => [Math.floor((i * n) / m), Math.ceil(((i + 1) * n) / m)]);
  const rows = bins(from[0], to[0]);
  const cols = bins(from[1], to[1]);
  const out = new Float32Array(planes * to[0] * to[1]);
  eachPlane(planes, from, to, (src, dst) => {
    for (const [i, [h0, h1]] of rows.entries()) {
      for (const [j, [w0, w1]] of cols.entries()) {
        let sum = 0;
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) sum = Math.fround(sum + data[src + h * from[1] + w]);
        out[dst + i * to[1] + j] = Math.fround(sum / (h1 - h0)) / (w1 - w0);
      }
    }
  });
  return out;
}

/** torch's legacy nearest source index: min(⌊dst · scale⌋, in − 1) with scale = f32(in/out), in f32. */
function nearestIndices(n: number, m: number): number[] {
  const scale = Math.fround(n / m);
  return Array.from({ length: m }, (_, i) => Math.min(Math.floor(Math.fround(i * scale)), n - 1));
}

/** Nearest resize (torch mode 'nearest', MONAI labels), both ways: to the model and back. */
export function resizeNearest(data: Float32Array, planes: number, from: Size2, to: Size2): Float32Array {
  checkStack('resizeNearest', data, planes, from, to);
  const rows = nearestIndices(from[0], to[0]);
  const cols = nearestIndices(from[1], to[1]);
  const out = new Float32Array(planes * to[0] * to[1]);
  eachPlane(planes, from, to, (src, dst) => {
    for (const [i, h] of rows.entries()) {
      for (const [j, w] of cols.entries()) out[dst + i * to[1] + j] = data[src + h * from[1] + w];
    }
  });
  return out;
}

/** Source index and weight of the next one, torch's align_corners = False rule. */
function bilinearTaps(n: number, m: number): { lo: number; hi: number; t: number }[] {
  return Array.from({ length: m }, (_, i) => {
    const x = Math.max(((i + 0.5) * n) / m - 0.5, 0);
    const lo = Math.floor(x);
    return { lo, hi: Math.min(lo + 1, n - 1), t: x - lo };
  });
}

/**
 * Bilinear resize (torch mode 'bilinear', align_corners = False), for class probabilities going
 * back to the input's in-plane size. Computed in f64 and rounded once (torch rounds each step in
 * f32: they agree to a few ulp).
 */
export function resizeBilinear(data: Float32Array, planes: number, from: Size2, to: Size2): Float32Array {
  checkStack('resizeBilinear', data, planes, from, to);
  const rows = bilinearTaps(from[0], to[0]);
  const cols = bilinearTaps(from[1], to[1]);
  const out = new Float32Array(planes * to[0] * to[1]);
  const W = from[1];
  eachPlane(planes, from, to, (src, dst) => {
    for (const [i, r] of rows.entries()) {
      for (const [j, c] of cols.entries()) {
        const top = (1 - c.t) * data[src + r.lo * W + c.lo] + c.t * data[src + r.lo * W + c.hi];
        const bottom = (1 - c.t) * data[src + r.hi * W + c.lo] + c.t * data[src + r.hi * W + c.hi];
        out[dst + i * to[1] + j] = (1 - r.t) * top + r.t * bottom;
      }
    }
  });
  return out;
}

/** A window resized in-plane to the model's size by area (MONAI Resized, mode 'area'). */
export function resizeWindow(window: Window, size: Size2): Window {
  const data = resizeArea(window.data, window.channels * window.depth, [window.height, window.width], size);
  return { ...window, data, height: size[0], width: size[1] };
}

/** A box of a [X, Y, Z] grid in NIfTI axis order: voxels start ≤ (x, y, z) < end. */
export interface Box {
  start: [number, number, number];
  end: [number, number, number];
}

function checkBox(op: string, box: Box, dims: readonly number[]): void {
  if (box.start.some((s, k) => !(Number.isInteger(s) && Number.isInteger(box.end[k]) && s >= 0 && s < box.end[k] && box.end[k] <= dims[k]))) {
    throw new Error(`${op}: box [${box.start.join(', ')}]..[${box.end.join(', ')}] is not a non-empty box inside the grid [${dims.join(', ')}]`);
  }
}

/**
 * Copies between `full` ([C, Z, Y, X] over dims) and `boxed` ([C, z, y, x] over the box): the
 * box's voxels into `boxed` when cropping, or back into `full` when not.
 */
function copyBox(full: Float32Array, boxed: Float32Array, channels: number, dims: readonly number[], box: Box, crop: boolean): void {
  const [X, Y, Z] = dims;
  const [bx, by, bz] = box.end.map((e, k) => e - box.start[k]);
  for (let c = 0; c < channels; c++) {
    for (let z = 0; z < bz; z++) {
      for (let y = 0; y < by; y++) {
        const f = ((c * Z + box.start[2] + z) * Y + box.start[1] + y) * X + box.start[0];
        const b = ((c * bz + z) * by + y) * bx;
        if (crop) boxed.set(full.subarray(f, f + bx), b);
        else full.set(boxed.subarray(b, b + bx), f);
      }
    }
  }
}

/**
 * The bounding box of the foreground of `image` ([C, Z, Y, X] over dims [X, Y, Z]): voxels where
 * some channel differs from its background (data/background.ts: the corners' shared value, else
 * 0; MONAI's CropForeground uses x > 0, which would cut z-scored tissue below 0), grown by `margin`
 * voxels on every side within the grid, and the image cropped to it. An image without foreground
 * keeps its whole grid. Labels are cropped with cropToBox, and uncropFromBox puts a prediction back
 * on the full grid.
 */
export function cropForeground(
  image: Float32Array, channels: number, dims: readonly [number, number, number], margin = 0,
): { image: Float32Array; dims: [number, number, number]; box: Box } {
  checkVolume('cropForeground', image, channels, dims);
  if (!Number.isInteger(margin) || margin < 0) throw new Error(`cropForeground: margin must be a non-negative integer, got ${margin}`);
  const [X, Y, Z] = dims;
  const mask = foregroundMask(image, channels, dims);
  const lo = [X, Y, Z];
  const hi = [-1, -1, -1];
  let i = 0;
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++, i++) {
        if (mask[i] === 0) continue;
        lo[0] = Math.min(lo[0], x);
        hi[0] = Math.max(hi[0], x);
        lo[1] = Math.min(lo[1], y);
        hi[1] = Math.max(hi[1], y);
        lo[2] = Math.min(lo[2], z);
        hi[2] = Math.max(hi[2], z);
      }
    }
  }
  const empty = hi[0] < 0;
  const box: Box = {
    start: [0, 1, 2].map((k) => (empty ? 0 : Math.max(lo[k] - margin, 0))) as [number, number, number],
    end: [0, 1, 2].map((k) => (empty ? dims[k] : Math.min(hi[k] + 1 + margin, dims[k]))) as [number, number, number],
  };
  return { image: cropToBox(image, channels, dims, box), dims: box.end.map((e, k) => e - box.start[k]) as [number, number, number], box };
}

/** `data` ([C, Z, Y, X] over dims) cropped to `box`. */
export function cropToBox(data: Float32Array, channels: number, dims: readonly [number, number, number], box: Box): Float32Array {
  checkVolume('cropToBox', data, channels, dims);
  checkBox('cropToBox', box, dims);
  const out = new Float32Array(channels * box.end.reduce((n, e, k) => n * (e - box.start[k]), 1));
  copyBox(data, out, channels, dims, box, true);
  return out;
}

/** The inverse of cropToBox: `data` (the box's voxels) placed in a grid of `dims`, `fill` elsewhere. */
export function uncropFromBox(
  data: Float32Array, channels: number, box: Box, dims: readonly [number, number, number], fill = 0,
): Float32Array {
  checkBox('uncropFromBox', box, dims);
  checkVolume('uncropFromBox', data, channels, box.end.map((e, k) => e - box.start[k]));
  const out = new Float32Array(channels * dims[0] * dims[1] * dims[2]).fill(fill);
  copyBox(out, data, channels, dims, box, false);
  return out;
}
