// In-plane resizing (area, torch-legacy nearest, bilinear align_corners = False) against
// hand-computed cases and f64 references written from the torch definitions, and cropForeground.
import { describe, expect, it } from 'vitest';
import { cropForeground, cropToBox, resizeArea, resizeBilinear, resizeNearest, resizeWindow, uncropFromBox, type Size2 } from '../src/data/resize.js';
import { uniform } from '../src/util/random.js';
import { expectClose } from './helpers/check.js';

/** adaptive_avg_pool2d in f64, bins [⌊i·in/out⌋, ⌈(i+1)·in/out⌉) written out explicitly. */
function areaReference(x: Float32Array, planes: number, [H, W]: Size2, [h, w]: Size2): Float64Array {
  const out = new Float64Array(planes * h * w);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const [r0, r1] = [Math.floor((i * H) / h), Math.ceil(((i + 1) * H) / h)];
        const [c0, c1] = [Math.floor((j * W) / w), Math.ceil(((j + 1) * W) / w)];
        let sum = 0;
        for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) sum += x[p * H * W + r * W + c];
        out[p * h * w + i * w + j] = sum / ((r1 - r0) * (c1 - c0));
      }
    }
  }
  return out;
}

/** upsample_bilinear2d, align_corners = False, in f64. */
function bilinearReference(x: Float32Array, planes: number, [H, W]: Size2, [h, w]: Size2): Float64Array {
  const source = (i: number, n: number, m: number) => Math.max((i + 0.5) * (n / m) - 0.5, 0);
  const out = new Float64Array(planes * h * w);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const [y, xx] = [source(i, H, h), source(j, W, w)];
        const [y0, x0] = [Math.floor(y), Math.floor(xx)];
        const [y1, x1] = [Math.min(y0 + 1, H - 1), Math.min(x0 + 1, W - 1)];
        const [ty, tx] = [y - y0, xx - x0];
        const at = (r: number, c: number) => x[p * H * W + r * W + c];
        out[p * h * w + i * w + j] = (1 - ty) * ((1 - tx) * at(y0, x0) + tx * at(y0, x1)) + ty * ((1 - tx) * at(y1, x0) + tx * at(y1, x1));
      }
    }
  }
  return out;
}

const SHAPES: [number, Size2, Size2][] = [
  [1, [7, 5], [3, 4]], // non-integer ratios both ways
  [3, [5, 7], [8, 3]],
  [2, [1, 6], [4, 1]], // size-1 dims
  [1, [13, 11], [13, 11]], // identity
  [2, [9, 10], [20, 4]],
];

describe('resizeArea', () => {
  it('averages overlapping bins: hand-computed 3×3 → 2×2 and 1×2 → 1×3', () => {
    // rows/cols of 3 → 2: bins [0, 2) and [1, 3).
    expect([...resizeArea(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), 1, [3, 3], [2, 2])]).toEqual([3, 4, 6, 7]);
    // 2 → 3: bins [0, 1), [0, 2), [1, 2).
    expect([...resizeArea(Float32Array.from([1, 3]), 1, [1, 2], [1, 3])]).toEqual([1, 2, 3]);
    // 4 → 2: plain 2×2 means.
    expect([...resizeArea(Float32Array.from({ length: 16 }, (_, i) => i), 1, [4, 4], [2, 2])]).toEqual([2.5, 4.5, 10.5, 12.5]);
  });

  it('matches adaptive average pooling with explicit bin edges for non-integer ratios', () => {
    for (const [planes, from, to] of SHAPES) {
      const x = uniform(planes * from[0] * from[1], 11, 0, 1);
      // f32 sum of ≤ 12 positive terms then two f32 divisions: ≤ ~14 ulp of the result.
      expectClose(resizeArea(x, planes, from, to), areaReference(x, planes, from, to), { atol: 0, rtol: 1e-6 }, 'data/resizeArea', 'vs f64 bins');
    }
  });

  it('resizeWindow resizes all C·D planes by area, and sizes are checked', () => {
    const window = { data: uniform(2 * 3 * 7 * 5, 3, 0, 1), channels: 2, depth: 3, height: 7, width: 5 };
    const out = resizeWindow(window, [4, 6]);
    expect([out.channels, out.depth, out.height, out.width]).toEqual([2, 3, 4, 6]);
    expect([...out.data]).toEqual([...resizeArea(window.data, 6, [7, 5], [4, 6])]);
    expect(() => resizeArea(new Float32Array(10), 1, [3, 3], [2, 2])).toThrow('resizeArea: 10 values are not 1 planes of [3, 3]');
    expect(() => resizeNearest(new Float32Array(9), 1, [3, 3], [0, 2])).toThrow('resizeNearest: to must be two positive integers, got [0, 2]');
  });
});

describe('resizeNearest', () => {
  const indexRow = (n: number) => Float32Array.from({ length: n }, (_, i) => i);
  const pick = (n: number, m: number) => [...resizeNearest(indexRow(n), 1, [1, n], [1, m])];

  it('uses floor(dst · in/out) both ways: hand-computed', () => {
    expect(pick(4, 2)).toEqual([0, 2]);
    expect(pick(2, 4)).toEqual([0, 0, 1, 1]);
    expect(pick(3, 5)).toEqual([0, 0, 1, 1, 2]);
    expect(pick(5, 3)).toEqual([0, 1, 3]);
    expect(pick(5, 8)).toEqual([0, 0, 1, 1, 2, 3, 3, 4]); // to the model …
    expect(pick(8, 5)).toEqual([0, 1, 3, 4, 6]); // … and back
  });

  it('rounds the scale and the product to f32 as torch does (differs from exact floor at ties)', () => {
    // f32(26/22) = 1.18181812… < 26/22: dst 11 lands on 12.99999… → 12 (exact arithmetic: 13).
    expect(pick(26, 22)[11]).toBe(12);
    expect(Math.floor((11 * 26) / 22)).toBe(13);
    // f32(14/46) = 0.30434781…: dst 23 → 6 (exact: 7).
    expect(pick(14, 46)[23]).toBe(6);
  });

  it('moves whole rows and columns of a 2-D label, per plane', () => {
    const label = Float32Array.from([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60]); // 2 planes of [2, 3]
    expect([...resizeNearest(label, 2, [2, 3], [4, 2])]).toEqual([1, 2, 1, 2, 4, 5, 4, 5, 10, 20, 10, 20, 40, 50, 40, 50]);
  });
});

describe('resizeBilinear', () => {
  it('follows align_corners = False: hand-computed 1×2 → 1×4 and 2×2 → 3×3', () => {
    expect([...resizeBilinear(Float32Array.from([0, 1]), 1, [1, 2], [1, 4])]).toEqual([0, 0.25, 0.75, 1]);
    // sources at 0, 2/3·(1+0.5)−0.5 = 0.5, clamped 1.1667 → 1: rows/cols weights (0), (0.5), (1).
    expect([...resizeBilinear(Float32Array.from([0, 2, 4, 6]), 1, [2, 2], [3, 3])]).toEqual([0, 1, 2, 2, 3, 4, 4, 5, 6]);
  });

  it('matches the f64 definition, keeps constants and per-pixel probability sums', () => {
    for (const [planes, from, to] of SHAPES) {
      const x = uniform(planes * from[0] * from[1], 5, 0, 1);
      // One f32 rounding of an f64 result: half an ulp, 2^-24 relative.
      expectClose(resizeBilinear(x, planes, from, to), bilinearReference(x, planes, from, to), { atol: 0, rtol: 6e-8 }, 'data/resizeBilinear', 'vs f64');
    }
    const constant = resizeBilinear(new Float32Array(35).fill(0.3), 1, [5, 7], [11, 2]);
    expect(constant.every((v) => v === Math.fround(0.3))).toBe(true);
    // Two-class probabilities p, 1 − p (interpolation is linear, so each pixel still sums to 1).
    const p = uniform(6 * 4, 9, 0, 1);
    const probs = Float32Array.from([...p, ...p.map((v) => 1 - v)]);
    const back = resizeBilinear(probs, 2, [6, 4], [9, 10]);
    const sums = Array.from({ length: 90 }, (_, i) => back[i] + back[90 + i]);
    // Each of the two terms rounded once to f32 (half an ulp of a value ≤ 1): ≤ 2^-24 · 2.
    expectClose(sums, new Float64Array(90).fill(1), { atol: 1.2e-7, rtol: 0 }, 'data/resizeBilinear', 'probability sums');
  });
});

describe('cropForeground', () => {
  const dims: [number, number, number] = [6, 5, 4];
  const at = (c: number, x: number, y: number, z: number) => ((c * 4 + z) * 5 + y) * 6 + x;

  it('boxes the nonzero voxels of every channel, with a clamped margin, and undoes the crop', () => {
    const image = new Float32Array(2 * 120);
    image[at(0, 2, 1, 1)] = 3;
    image[at(1, 4, 3, 2)] = -0.5; // negative counts: nonzero, not MONAI's default x > 0
    const tight = cropForeground(image, 2, dims);
    expect(tight.box).toEqual({ start: [2, 1, 1], end: [5, 4, 3] });
    expect(tight.dims).toEqual([3, 3, 2]);
    expect(tight.image[0]).toBe(3); // (c 0, x 2, y 1, z 1) is the box's first voxel
    expect(tight.image[18 + 17]).toBe(-0.5); // (c 1, x 4, y 3, z 2) its last
    expect(cropForeground(image, 2, dims, 1).box).toEqual({ start: [1, 0, 0], end: [6, 5, 4] });
    expect(cropForeground(image, 2, dims, 9).box).toEqual({ start: [0, 0, 0], end: [6, 5, 4] });
    expect(cropForeground(new Float32Array(120), 1, dims, 2).box).toEqual({ start: [0, 0, 0], end: [6, 5, 4] });

    const label = Float32Array.from({ length: 120 }, (_, i) => 1 + (i % 7));
    const cropped = cropToBox(label, 1, dims, tight.box);
    const restored = uncropFromBox(cropped, 1, tight.box, dims);
    for (let z = 0; z < 4; z++) {
      for (let y = 0; y < 5; y++) {
        for (let x = 0; x < 6; x++) {
          const inside = x >= 2 && x < 5 && y >= 1 && y < 4 && z >= 1 && z < 3;
          expect(restored[at(0, x, y, z)]).toBe(inside ? label[at(0, x, y, z)] : 0);
        }
      }
    }
    expect(() => cropToBox(label, 1, dims, { start: [0, 0, 0], end: [7, 5, 4] })).toThrow(/cropToBox: box \[0, 0, 0\]\.\.\[7, 5, 4\] is not a non-empty box inside the grid \[6, 5, 4\]/);
    expect(() => uncropFromBox(cropped, 1, { start: [0, 0, 0], end: [3, 3, 3] }, dims)).toThrow(/uncropFromBox: 18 values are not 1 channel/);
  });
});
