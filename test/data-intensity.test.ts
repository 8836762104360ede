// Intensity transforms: MONAI ScaleIntensityRanged (clip) and NormalizeIntensity(nonzero,
// channel_wise) numbers, and the per-dataset presets of docs/method.md §3.
import { describe, expect, it } from 'vitest';
import { clipScale, INTENSITY_PRESETS, intensityTransform, noIntensity, zScoreNonzero } from '../src/data/intensity.js';
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

describe('zScoreNonzero', () => {
  it('normalises the nonzero values of each channel, keeping zeros and empty channels', () => {
    const x = Float32Array.from([
      0, 1, 2, 3, 0, // channel 0: mean 2, std √(2/3)
      0, 0, 0, 0, 0, // channel 1: no nonzero values, unchanged
      5, 5, 0, 5, 5, // channel 2: std 0 → divisor 1
      -2, 4, 0, 0, 1, // channel 3: mean 1, std √6
    ]);
    const s = Math.sqrt(2 / 3);
    const expected = [0, -1 / s, 0, 1 / s, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -3 / Math.sqrt(6), 3 / Math.sqrt(6), 0, 0, 0];
    // mean, std, difference and quotient each rounded to f32: a few ulp.
    expectClose(zScoreNonzero(x, 4), expected, { atol: 0, rtol: 3e-7 }, 'data/zScoreNonzero', 'hand-computed');
    expect([...x.slice(0, 5)]).toEqual([0, 1, 2, 3, 0]); // the input is not modified
    expect(() => zScoreNonzero(x, 3)).toThrow('zScoreNonzero: 20 values do not split into 3 channels');
  });
});

describe('intensity presets', () => {
  it('holds TransSeg clip ranges (method §3) and builds transforms from specs', () => {
    expect(INTENSITY_PRESETS.ct).toEqual({ kind: 'clip', aMin: -175, aMax: 250 });
    for (const name of ['bcv', 'acdc', 'liver', 'lung', 'pancreas', 'hepaticVessel', 'spleen', 'colon']) expect(INTENSITY_PRESETS[name]).toBe(INTENSITY_PRESETS.ct);
    expect(INTENSITY_PRESETS.brain).toEqual({ kind: 'clip', aMin: -1e6, aMax: 1e6 });
    expect(INTENSITY_PRESETS.heart).toEqual({ kind: 'clip', aMin: 601, aMax: 1511 });
    expect(INTENSITY_PRESETS.hippocampus).toEqual({ kind: 'clip', aMin: 29, aMax: 205431 });
    expect(INTENSITY_PRESETS.prostate).toEqual({ kind: 'clip', aMin: 0, aMax: 2152 });
    const x = Float32Array.from([-175, 0, 250, 1056]);
    expect([...intensityTransform(INTENSITY_PRESETS.heart)(x, 1)]).toEqual([0, 0, 0, 0.5]);
    expect(intensityTransform({ kind: 'zscore' })).toBe(zScoreNonzero);
    const same = intensityTransform({ kind: 'none' })(x, 1);
    expect([same !== x, [...same]]).toEqual([true, [...x]]);
    expect(intensityTransform({ kind: 'none' })).toBe(noIntensity);
  });
});
