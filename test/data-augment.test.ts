// Training augmentation: seeded determinism, shapes, image/label alignment through every geometric
// step, hand-checked rot90 / flips / padding, the order of intensity and padding, and the
// frequencies of the random choices.
import { describe, expect, it } from 'vitest';
import { AUGMENTATION, applyAugmentation, augment, drawAugmentation, type AugmentParams } from '../src/data/augment.js';
import { clipScale } from '../src/data/intensity.js';
import type { Window } from '../src/data/windows.js';
import { rng, uniform } from '../src/util/random.js';

const window = (channels: number, depth: number, height: number, width: number, data?: Float32Array): Window => ({
  data: data ?? uniform(channels * depth * height * width, channels + 7 * height, 0, 1), channels, depth, height, width,
});

/** No zoom, no flips, no rotation, no shift: only crop/pad act. */
const IDENTITY: AugmentParams = { zoom: 1, zoomed: [0, 0], crop: [0, 0], flip: { height: false, width: false, depth: false }, rot90: 0, shift: null, scale: null };
const still = (w: Window, overrides: Partial<AugmentParams> = {}): AugmentParams => ({ ...IDENTITY, zoomed: [w.height, w.width], ...overrides });

describe('augment', () => {
  it('is determined by the seed', () => {
    const w = window(2, 3, 10, 12);
    const label = Float32Array.from({ length: 120 }, (_, i) => i % 3);
    const a = augment(w, label, rng(42), [8, 8]);
    const b = augment(w, label, rng(42), [8, 8]);
    expect([...a.window.data]).toEqual([...b.window.data]);
    expect([...a.label]).toEqual([...b.label]);
    const others = [43, 44, 45].map((seed) => augment(w, label, rng(seed), [8, 8]).window.data);
    expect(others.every((o) => o.some((v, i) => v !== a.window.data[i]))).toBe(true);
  });

  it('always returns [C, D, size, size] and a [size, size] label, from any input size', () => {
    const random = rng(5);
    for (const [h, w, size] of [[16, 16, 16], [7, 13, 9], [30, 4, 12], [1, 1, 3], [5, 5, 1]]) {
      const input = window(2, 5, h, w);
      for (let t = 0; t < 20; t++) {
        const out = augment(input, new Float32Array(h * w), random, [size, size]);
        expect([out.window.channels, out.window.depth, out.window.height, out.window.width]).toEqual([2, 5, size, size]);
        expect(out.window.data.length).toBe(2 * 5 * size * size);
        expect(out.label.length).toBe(size * size);
      }
    }
    expect(() => augment(window(1, 1, 4, 4), new Float32Array(16), rng(1), [4, 6])).toThrow(/model size must be square/);
    expect(() => augment(window(1, 1, 4, 4), new Float32Array(15), rng(1), [4, 4])).toThrow('augment: the label has 15 values, the window\'s planes are [4, 4]');
  });

  it('keeps image and label aligned: an image equal to its label stays equal (zoom 0.5, 1, 2)', () => {
    // Classes constant on 2×2 blocks, so area (image) and nearest (label) agree at zoom 0.5 and 2.
    const [H, W] = [12, 10];
    const label = Float32Array.from({ length: H * W }, (_, i) => (Math.floor(Math.floor(i / W) / 2) * 3 + Math.floor((i % W) / 2)) % 5);
    const random = rng(9);
    let checked = 0;
    for (const zoom of [0.5, 1, 2]) {
      for (let t = 0; t < 40; t++) {
        const drawn = drawAugmentation(random, [H, W], [14, 14]);
        const zoomed: [number, number] = [H * zoom, W * zoom];
        const crop = zoomed.map((n) => (n > 14 ? Math.floor(random() * (n - 14 + 1)) : 0)) as [number, number];
        const params = { ...drawn, zoom, zoomed, crop, shift: null };
        const out = applyAugmentation(window(1, 1, H, W, Float32Array.from(label)), label, params, [14, 14]);
        expect([...out.window.data], JSON.stringify(params)).toEqual([...out.label]);
        checked += params.rot90 !== 0 || params.flip.height || params.flip.width ? 1 : 0;
      }
    }
    expect(checked).toBeGreaterThan(10); // the draws did exercise flips and rotations
  });

  it('rotates like numpy.rot90 on (H, W), flips each axis, and pads symmetrically with zeros', () => {
    const w = window(1, 1, 2, 3, Float32Array.from([0, 1, 2, 3, 4, 5])); // [[0, 1, 2], [3, 4, 5]]
    const run = (p: Partial<AugmentParams>, size = 3) => [...applyAugmentation(w, w.data, still(w, p), [size, size]).window.data];
    // numpy.rot90(m, k): k = 1 → [[2, 5], [1, 4], [0, 3]]; k = 2 → [[5, 4, 3], [2, 1, 0]]; k = 3 → [[3, 0], [4, 1], [5, 2]].
    // A 3×2 result is padded to 3×3 with ⌊1/2⌋ = 0 columns before and 1 after.
    expect(run({ rot90: 1 })).toEqual([2, 5, 0, 1, 4, 0, 0, 3, 0]);
    expect(run({ rot90: 2 })).toEqual([5, 4, 3, 2, 1, 0, 0, 0, 0]);
    expect(run({ rot90: 3 })).toEqual([3, 0, 0, 4, 1, 0, 5, 2, 0]);
    expect(run({ flip: { height: true, width: false, depth: false } })).toEqual([3, 4, 5, 0, 1, 2, 0, 0, 0]);
    expect(run({ flip: { height: false, width: true, depth: false } })).toEqual([2, 1, 0, 5, 4, 3, 0, 0, 0]);
    // 2×3 into 6×6: 2 rows before, 2 after; 1 column before, 2 after.
    const padded = run({}, 6);
    expect(padded.slice(12, 24)).toEqual([0, 0, 1, 2, 0, 0, 0, 3, 4, 5, 0, 0]);
    expect(padded.filter((v) => v !== 0)).toEqual([1, 2, 3, 4, 5]);
    // A 1×1 crop at row 1, column 2.
    expect(run({ crop: [1, 2] }, 1)).toEqual([5]);
  });

  it('flips depth by reversing the slices of each channel; the centre label is unchanged', () => {
    const w = window(2, 3, 1, 2, Float32Array.from([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60]));
    const label = Float32Array.from([7, 8]);
    const out = applyAugmentation(w, label, still(w, { flip: { height: false, width: false, depth: true } }), [2, 2]);
    // 1×2 planes padded to 2×2: ⌊1/2⌋ = 0 rows before, 1 after.
    expect([...out.window.data]).toEqual([5, 6, 0, 0, 3, 4, 0, 0, 1, 2, 0, 0, 50, 60, 0, 0, 30, 40, 0, 0, 10, 20, 0, 0]);
    expect([...out.label]).toEqual([7, 8, 0, 0]);
  });

  it('applies the intensity transform after the crop and before padding, and shifts the image only', () => {
    const w = window(1, 1, 2, 2, Float32Array.from([0, 10, -10, 5]));
    const label = Float32Array.from([1, 1, 1, 1]);
    const out = applyAugmentation(w, label, still(w, { shift: 0.05 }), [4, 4], clipScale(-10, 10));
    const inside = [0.5, 1, 0, 0.75].map((v) => Math.fround(v + Math.fround(0.05)));
    // Padding stays exactly 0, not clipScale(0) = 0.5 and not shifted.
    expect([...out.window.data]).toEqual([0, 0, 0, 0, 0, inside[0], inside[1], 0, 0, inside[2], inside[3], 0, 0, 0, 0, 0]);
    expect([...out.label]).toEqual([0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
  });

  it('scales each channel by its own factor, before the shift, the image only', () => {
    const w = window(2, 2, 1, 2, Float32Array.from([1, -2, 3, 4, /* channel 1 */ 10, 20, -30, 40]));
    const label = Float32Array.from([1, 0]);
    const out = applyAugmentation(w, label, still(w, { scale: [0.5, 2], shift: 0.25 }), [1, 2]);
    const f = (v: number, s: number) => Math.fround(Math.fround(v * s) + Math.fround(0.25));
    expect([...out.window.data]).toEqual([...[1, -2, 3, 4].map((v) => f(v, 0.5)), ...[10, 20, -30, 40].map((v) => f(v, 2))]);
    expect([...out.label]).toEqual([1, 0]);
    expect(() => applyAugmentation(w, label, still(w, { scale: [1] }), [1, 2])).toThrow('augment: 1 intensity factors for 2 channel(s)');
  });
});

describe('drawAugmentation', () => {
  it('draws one intensity factor per channel from the range, last, so runs without it draw as before', () => {
    const plain = drawAugmentation(rng(9), [20, 24], [16, 16], [0.8, 1.25]);
    expect(plain.scale).toBeNull();
    const random = rng(9);
    const scaled = drawAugmentation(random, [20, 24], [16, 16], [0.8, 1.25], { range: [0.7, 1.4], channels: 3 });
    expect({ ...scaled, scale: null }).toEqual(plain); // the same zoom, crop, flips, rot90 and shift
    const factors = Array.from({ length: 300 }, () => drawAugmentation(random, [20, 24], [16, 16], [1, 1], { range: [0.7, 1.4], channels: 2 }).scale!).flat();
    expect(factors.length).toBe(600);
    expect(Math.min(...factors)).toBeGreaterThanOrEqual(0.7);
    expect(Math.max(...factors)).toBeLessThan(1.4);
    expect(Math.max(...factors) - Math.min(...factors)).toBeGreaterThan(0.6); // the range is used
    expect(() => drawAugmentation(rng(1), [20, 24], [16, 16], [1, 1], { range: [0, 1], channels: 1 })).toThrow(/intensity-scale range must be 0 < min <= max, got \[0, 1\]/);
  });

  it('draws the zoom from a chosen range, and refuses an empty or non-positive one', () => {
    const random = rng(5);
    const zooms = Array.from({ length: 500 }, () => drawAugmentation(random, [20, 24], [16, 16], [0.9, 1.1]).zoom);
    expect(Math.min(...zooms)).toBeGreaterThanOrEqual(0.9);
    expect(Math.max(...zooms)).toBeLessThan(1.1);
    expect(Math.max(...zooms) - Math.min(...zooms)).toBeGreaterThan(0.15); // the range is used, not one value
    expect(drawAugmentation(rng(1), [20, 24], [16, 16], [1, 1]).zoomed).toEqual([20, 24]);
    expect(() => drawAugmentation(rng(1), [20, 24], [16, 16], [0, 1])).toThrow(/zoom range must be 0 < min <= max, got \[0, 1\]/);
    expect(() => drawAugmentation(rng(1), [20, 24], [16, 16], [2, 1])).toThrow(/zoom range/);
  });

  it('draws each flip with a chosen probability and nothing else differently, and refuses one outside [0, 1]', () => {
    const n = 4000;
    const [a, b] = [rng(31), rng(31)];
    const count = { height: 0, width: 0, depth: 0 };
    for (let t = 0; t < n; t++) {
      const usual = drawAugmentation(a, [20, 24], [16, 16], [0.8, 1.25]);
      const mirrored = drawAugmentation(b, [20, 24], [16, 16], [0.8, 1.25], undefined, 0.5);
      // One draw per flip either way: the zoom, crop, rot90 and shift stay those of the usual run.
      expect({ ...mirrored, flip: usual.flip }).toEqual(usual);
      for (const axis of ['height', 'width', 'depth'] as const) {
        if (usual.flip[axis]) expect(mirrored.flip[axis], 'a flip at p = 0.1 is one at p = 0.5 (the same draw, below both)').toBe(true);
        count[axis] += mirrored.flip[axis] ? 1 : 0;
      }
    }
    // Binomial counts within 5 standard deviations of n / 2.
    for (const axis of ['height', 'width', 'depth'] as const) expect(Math.abs(count[axis] - n / 2), `${axis} flips: ${count[axis]}`).toBeLessThan(5 * Math.sqrt(n / 4));
    const never = drawAugmentation(rng(3), [20, 24], [16, 16], [1, 1], undefined, 0).flip;
    const always = drawAugmentation(rng(3), [20, 24], [16, 16], [1, 1], undefined, 1).flip;
    expect([never, always]).toEqual([{ height: false, width: false, depth: false }, { height: true, width: true, depth: true }]);
    expect(() => drawAugmentation(rng(1), [20, 24], [16, 16], [1, 1], undefined, 1.5)).toThrow(/flip probability must be in \[0, 1\], got 1\.5/);
  });

  it('draws flips, rot90 and shifts with their probabilities, zoom in [0.5, 2), crops in range', () => {
    const n = 4000;
    const random = rng(2024);
    const count = { height: 0, width: 0, depth: 0, rot: [0, 0, 0, 0], shift: 0 };
    let zoomSum = 0;
    for (let t = 0; t < n; t++) {
      const p = drawAugmentation(random, [20, 24], [16, 16]);
      expect(p.zoom >= 0.5 && p.zoom < 2).toBe(true);
      expect(p.zoomed).toEqual([Math.floor(20 * p.zoom), Math.floor(24 * p.zoom)]);
      p.crop.forEach((c, k) => expect(c >= 0 && c <= Math.max(p.zoomed[k] - 16, 0)).toBe(true));
      zoomSum += p.zoom;
      for (const axis of ['height', 'width', 'depth'] as const) count[axis] += p.flip[axis] ? 1 : 0;
      count.rot[p.rot90]++;
      if (p.shift !== null) {
        expect(Math.abs(p.shift) <= AUGMENTATION.maxShift).toBe(true);
        count.shift++;
      }
    }
    // Binomial counts within 5 standard deviations of n·p (a loose bound: fails with odds ~1e-6).
    const within = (k: number, trials: number, p: number) => Math.abs(k - trials * p) < 5 * Math.sqrt(trials * p * (1 - p));
    for (const axis of ['height', 'width', 'depth'] as const) expect(within(count[axis], n, 0.1), `${axis} flips: ${count[axis]}`).toBe(true);
    const rotated = n - count.rot[0];
    expect(within(rotated, n, 0.1), `rot90: ${rotated}`).toBe(true);
    for (const k of [1, 2, 3]) expect(within(count.rot[k], rotated, 1 / 3), `k = ${k}: ${count.rot[k]} of ${rotated}`).toBe(true);
    expect(within(count.shift, n, 0.5), `shifts: ${count.shift}`).toBe(true);
    // Mean of U(0.5, 2) is 1.25, standard deviation of the mean 1.5 / √(12 n).
    expect(Math.abs(zoomSum / n - 1.25)).toBeLessThan((5 * 1.5) / Math.sqrt(12 * n));
  });
});
