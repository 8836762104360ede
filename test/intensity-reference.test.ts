// The training scans' intensity reference and the check of a new scan against it, on hand-made
// scans: percentiles by hand, each spec's space (none, zscore, clip), and the scale mismatch that
// motivated it (a model trained on z-scored files, given raw scanner intensities).

import { describe, expect, it } from 'vitest';
import { intensityMismatches, intensityReference } from '../src/data/intensity-reference.js';

type Dims = [number, number, number];

/** A [12, 12, 1] scan per channel: `outside` on a 1-voxel ring, values(i) for the 100 voxels inside. */
function scan(values: ((i: number) => number)[], outside: number[]): { image: Float32Array; channels: number; dims: Dims } {
  const n = 144;
  const image = new Float32Array(values.length * n);
  values.forEach((value, c) => {
    let k = 0;
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 12; x++) {
        const ring = x === 0 || y === 0 || x === 11 || y === 11;
        image[c * n + y * 12 + x] = ring ? outside[c] : value(k++);
      }
    }
  });
  return { image, channels: values.length, dims: [12, 12, 1] };
}

describe('intensityReference', () => {
  it('pools the voxels inside the scans: nearest-rank 1st, 50th and 99th percentiles per channel', () => {
    // Channel 0 holds 1..100 in the first scan and 101..200 in the second; channel 1 the negatives.
    const a = scan([(i) => i + 1, (i) => -(i + 1)], [-3, 5]);
    const b = scan([(i) => i + 101, (i) => -(i + 101)], [-3, 5]);
    // 200 pooled values, ranks round(q · 199): 2, 100 (99.5 rounds up), 197.
    expect(intensityReference([a, b], { kind: 'none' })).toEqual({ p1: [3, -198], median: [101, -100], p99: [198, -3] });
  });

  it('is taken after the model\'s intensity transform: the scan\'s z-score, the window\'s clip-scale', () => {
    const a = scan([(i) => 1000 + i], [0]);
    const z = intensityReference([a], { kind: 'zscore' })!;
    // 1000..1099 z-scored: symmetric about 0, the extremes at ±49.5 / 28.87 = ±1.715.
    expect(Math.abs(z.median[0])).toBeLessThan(0.02);
    expect(z.p1[0]).toBeCloseTo(-(49.5 - 1) / 28.866, 2);
    expect(z.p99[0]).toBeCloseTo((49.5 - 1) / 28.866, 2);
    // The clip-scale's values are f32, as the model sees them.
    expect(intensityReference([a], { kind: 'clip', aMin: 1000, aMax: 1100 })).toEqual({ p1: [Math.fround(0.01)], median: [0.5], p99: [Math.fround(0.98)] });
  });

  it('reads every stride-th voxel inside a scan with more than 65 536 of them', () => {
    // 300 × 300 with a 1-voxel ring of 0.5 (no inside value): 298² = 88 804 voxels inside; the k-th holds k when k is
    // even and −k when odd. Stride ⌈88 804 / 65 536⌉ = 2 keeps the 44 402 even ones 0, 2, …, 88 802
    // (reading all of them would bring in the negatives). Nearest ranks round(q · 44 401): 444,
    // 22 201 and 43 957.
    const side = 300;
    const image = new Float32Array(side * side);
    let k = 0;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const ring = x === 0 || y === 0 || x === side - 1 || y === side - 1;
        image[y * side + x] = ring ? 0.5 : k % 2 ? -k : k;
        if (!ring) k++;
      }
    }
    expect(intensityReference([{ image, channels: 1, dims: [side, side, 1] }], { kind: 'none' })).toEqual({ p1: [888], median: [44402], p99: [87914] });
  });

  it('is null without a voxel inside any scan', () => {
    expect(intensityReference([scan([() => 7], [7])], { kind: 'none' })).toBeNull();
    expect(intensityReference([], { kind: 'none' })).toBeNull();
  });
});

describe('intensityMismatches', () => {
  // Training: "z-scored files", −3 outside, values about N(0, 1) inside (two channels).
  const zScored = (shift: number) => scan([(i) => Math.sin(i * 1.7) * 1.5 + shift, (i) => Math.cos(i * 0.9) + shift], [-3, -2.5]);
  const training = [zScored(0), zScored(0.2)];
  // The same patients with raw scanner intensities: 0 outside, z · 180 + 600 inside.
  const raw = (s: ReturnType<typeof zScored>) => ({ ...s, image: s.image.map((v) => (v === -3 || v === -2.5 ? 0 : v * 180 + 600)) });

  it('passes a scan like the training ones and names each channel of one on another scale', () => {
    const none = intensityReference(training, { kind: 'none' })!;
    expect(intensityMismatches(zScored(0.1), { kind: 'none' }, none, 'pat7', ['FLAIR', 'T1c'])).toEqual([]);
    const lines = intensityMismatches(raw(zScored(0.1)), { kind: 'none' }, none, 'pat7', ['FLAIR', 'T1c']);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^pat7: FLAIR has a median of 6\d\d inside the scan after --intensity none, outside the training scans' 1–99 % range \(-[\d.]+ to [\d.]+, median [-\d.]+\): its intensities are not on the scale the model was trained on/);
    expect(lines[1]).toMatch(/^pat7: T1c has a median of 6\d\d /);
  });

  it('passes both under --intensity zscore, which makes the scale irrelevant', () => {
    const z = intensityReference(training, { kind: 'zscore' })!;
    expect(intensityMismatches(zScored(0.1), { kind: 'zscore' }, z, 'pat7', ['FLAIR', 'T1c'])).toEqual([]);
    expect(intensityMismatches(raw(zScored(0.1)), { kind: 'zscore' }, z, 'pat7', ['FLAIR', 'T1c'])).toEqual([]);
  });

  it('names an unnamed channel by its index and the clip range by its flag', () => {
    const spec = { kind: 'clip', aMin: -10, aMax: 10 } as const;
    const reference = intensityReference([scan([(i) => Math.sin(i * 1.7) * 1.5], [-3])], spec)!; // 0.425..0.575
    const bright = scan([(i) => 5 + (i % 3)], [0]); // 5, 6, 7: median (6 + 10) / 20 = 0.8
    expect(intensityMismatches(bright, spec, reference, 'ct1', [])).toEqual([
      expect.stringMatching(/^ct1: channel 0 has a median of 0\.8 inside the scan after --intensity clip:-10,10, outside/),
    ]);
  });
});
