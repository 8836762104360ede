// Intensity transforms: MONAI ScaleIntensityRanged (clip) and NormalizeIntensity(nonzero,
// channel_wise) numbers, and the per-dataset presets of docs/method.md §3.
import { describe, expect, it } from 'vitest';
import { clipScale, INTENSITY_PRESETS, noIntensity, normalizeScan, windowIntensity, zScoreScan } from '../src/data/intensity.js';
import { expectClose } from './helpers/check.js';

describe('clipScale', () => {
  it('maps [a_min, a_max] to [0, 1] and clips outside: the CT range −175..250', () => {
    const ct = clipScale(-175, 250);
    const x = Float32Array.from([-1000, -175, 0, 37.5, 250, 3000, -174]);
    // (x + 175) / 425 with f32 numpy arithmetic: 37.5 → 0.5 exactly, 0 → f32(175/425).
    expect([...ct(x, 1)]).toEqual([0, 0, Math.fround(175 / 425), 0.5, 1, 1, Math.fround(1 / 425)]);
    expect([...clipScale(-1e6, 1e6)(Float32Array.from([0, 5e5, -2e6]), 1)]).toEqual([0.5, 0.75, 0]);
    expect([...clipScale(29, 205431)(Float32Array.from([29, 205431]), 1)]).toEqual([0, 1]);
    expect(() => clipScale(1, 1)).toThrow('clipScale: need finite a_min < a_max, got a_min 1, a_max 1');
  });

  it('rounds like numpy float32: (f32(x − a_min)) / f32(a_max − a_min)', () => {
    // 0.1 is not representable: x − a_min in f32 first, then the quotient rounded once.
    const x = Float32Array.from([0.1, 123.456, 601.5]);
    const out = clipScale(0.05, 2152)(x, 1);
    x.forEach((v, i) => expect(out[i]).toBe(Math.fround(Math.fround(v - Math.fround(0.05)) / Math.fround(2152 - 0.05))));
  });
});

describe('zScoreScan', () => {
  it('normalises each channel over the voxels that differ from its background, which becomes 0', () => {
    // dims [5, 1, 1]: the corners are voxels 0 and 4, so each channel's background is the value
    // those two share (else 0).
    const x = Float32Array.from([
      0, 1, 2, 3, 0, // background 0 (raw MRI): mean 2, std √(2/3) over 1, 2, 3: MONAI's nonzero rule
      0, 0, 0, 0, 0, // nothing but background: unchanged
      -3, 1, 2, 6, -3, // background −3 (a z-scored file's outside): mean 3, std √(14/3) over 1, 2, 6
      -2, 4, 0, 0, 1, // corners differ: background 0, so −2, 4 and 1 count: mean 1, std √6
      7, 5, 5, 5, 7, // std 0 → divisor 1
    ]);
    const [s0, s2, s3] = [Math.sqrt(2 / 3), Math.sqrt(14 / 3), Math.sqrt(6)];
    const expected = [
      0, -1 / s0, 0, 1 / s0, 0,
      0, 0, 0, 0, 0,
      0, -2 / s2, -1 / s2, 3 / s2, 0,
      -3 / s3, 3 / s3, 0, 0, 0,
      0, 0, 0, 0, 0,
    ];
    // mean, std, difference and quotient each rounded to f32: a few ulp.
    expectClose(zScoreScan(x, 5, [5, 1, 1]), expected, { atol: 0, rtol: 3e-7 }, 'data/zScoreScan', 'hand-computed');
    expect([...x.slice(0, 5)]).toEqual([0, 1, 2, 3, 0]); // the input is not modified
    expect(() => zScoreScan(x, 3, [5, 1, 1])).toThrow(/backgroundValues/);
  });

  it('gives the same scan for raw intensities and for the same scan already z-scored over its brain', () => {
    // A "raw" scan: 0 outside, a·x + b inside; the same scan as a BRATS file holds it: z-scored
    // with −mean/std outside. Both normalise to one result (to f32 rounding).
    const dims = [6, 5, 4] as const;
    const n = 6 * 5 * 4;
    const raw = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const [x, y, z] = [i % 6, Math.floor(i / 6) % 5, Math.floor(i / 30)];
      if (x > 0 && x < 5 && y > 0 && y < 4 && z > 0 && z < 3) raw[i] = 300 + 97 * Math.sin(i);
    }
    const zScoredFile = raw.map((v) => (v === 0 ? -3.55 : (v - 310) / 61));
    expectClose(zScoreScan(zScoredFile, 1, dims), zScoreScan(raw, 1, dims), { atol: 1e-5, rtol: 0 }, 'data/zScoreScan', 'raw and pre-normalised');
  });
});

describe('normalizeScan and windowIntensity', () => {
  it('z-score the scan once and clip-scale each window', () => {
    const scan = { id: 'a', image: Float32Array.from([0, 1, 2, 3, 0]), channels: 1, dims: [5, 1, 1] as [number, number, number] };
    const zscored = normalizeScan({ kind: 'zscore' }, scan);
    expect(zscored).toEqual({ ...scan, image: zScoreScan(scan.image, 1, scan.dims) });
    expect(normalizeScan({ kind: 'none' }, scan)).toBe(scan);
    expect(normalizeScan(INTENSITY_PRESETS.ct, scan)).toBe(scan);
    expect(windowIntensity({ kind: 'zscore' })).toBe(noIntensity);
    expect(windowIntensity({ kind: 'none' })).toBe(noIntensity);
    expect([...windowIntensity(INTENSITY_PRESETS.heart)(Float32Array.from([-175, 0, 250, 1056]), 1)]).toEqual([0, 0, 0, 0.5]);
  });
});

describe('intensity presets', () => {
  it('holds TransSeg clip ranges (method §3); none copies', () => {
    expect(INTENSITY_PRESETS.ct).toEqual({ kind: 'clip', aMin: -175, aMax: 250 });
    for (const name of ['bcv', 'acdc', 'liver', 'lung', 'pancreas', 'hepaticVessel', 'spleen', 'colon']) expect(INTENSITY_PRESETS[name]).toBe(INTENSITY_PRESETS.ct);
    expect(INTENSITY_PRESETS.brain).toEqual({ kind: 'clip', aMin: -1e6, aMax: 1e6 });
    expect(INTENSITY_PRESETS.heart).toEqual({ kind: 'clip', aMin: 601, aMax: 1511 });
    expect(INTENSITY_PRESETS.hippocampus).toEqual({ kind: 'clip', aMin: 29, aMax: 205431 });
    expect(INTENSITY_PRESETS.prostate).toEqual({ kind: 'clip', aMin: 0, aMax: 2152 });
    const x = Float32Array.from([-175, 0, 250, 1056]);
    const same = noIntensity(x, 1);
    expect([same !== x, [...same]]).toEqual([true, [...x]]);
  });
});
