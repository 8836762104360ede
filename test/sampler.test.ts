// The foreground-aware sample policy on hand-made labels: the share of foreground-centred samples
// over many seeded draws, where they land, and the uniform policy it falls back to.

import { describe, expect, it } from 'vitest';
import { SlicePolicy } from '../src/train/sampler.js';

/** Two cases [X=4, Y=3, Z] whose foreground voxels per slice are given. */
function labelled(perSlice: number[]): { label: Float32Array; dims: [number, number, number] } {
  const plane = 12;
  const label = new Float32Array(plane * perSlice.length);
  perSlice.forEach((n, k) => label.fill(1, k * plane, k * plane + n));
  return { label, dims: [4, 3, perSlice.length] };
}

const cases = [labelled([0, 0, 0, 0, 3, 0, 0, 0, 0, 0]), labelled([0, 0, 0, 0, 0, 0, 0, 0, 1, 0])]; // 2 of 20 slices hold foreground, 3 : 1 voxels
const DRAWS = 20000;

describe('SlicePolicy', () => {
  it('centres the set fraction of samples on foreground: a case drawn uniformly, its slices in proportion to their foreground voxels', () => {
    // Case 0 holds 4 foreground voxels (3 in slice 4, 1 in slice 6), case 1 a single one: each case
    // gets half of the foreground samples whatever its tumour's size (a pool of voxels would give
    // case 0 four fifths), and within case 0 the slices share 3 : 1.
    const policy = new SlicePolicy([labelled([0, 0, 0, 0, 3, 0, 1, 0, 0, 0]), cases[1]], 0.5, 7);
    let fromForeground = 0;
    const hits = new Map<string, number>();
    for (let i = 0; i < DRAWS; i++) {
      const choice = policy.pick(i);
      if (!choice.fromForeground) continue;
      fromForeground++;
      const key = `${choice.caseIndex}:${choice.slice}`;
      hits.set(key, (hits.get(key) ?? 0) + 1);
    }
    // Binomial(20000, 0.5): sd = 71, so ±4 sd = ±0.014 in the fraction.
    expect(Math.abs(fromForeground / DRAWS - 0.5)).toBeLessThan(0.014);
    expect([...hits.keys()].sort()).toEqual(['0:4', '0:6', '1:8']); // only slices holding foreground
    // Over about 10000 foreground draws a share q has sd √(q(1 − q)/10000) ≤ 0.005; ±4 sd.
    const share = (key: string) => hits.get(key)! / fromForeground;
    expect(Math.abs(share('1:8') - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(share('0:4') - 0.375)).toBeLessThan(0.02);
    expect(Math.abs(share('0:6') - 0.125)).toBeLessThan(0.014);
  });

  it('fraction 0 is the uniform policy: every slice once per epoch', () => {
    const policy = new SlicePolicy(cases, 0, 7);
    const epoch = Array.from({ length: 20 }, (_, i) => policy.pick(20 + i));
    expect(epoch.every((c) => !c.fromForeground)).toBe(true);
    expect(new Set(epoch.map((c) => `${c.caseIndex}:${c.slice}`)).size).toBe(20);
  });

  it('foreground samples raise the share of training windows that show foreground', () => {
    const share = (fraction: number) => {
      const policy = new SlicePolicy(cases, fraction, 3);
      let n = 0;
      for (let i = 0; i < DRAWS; i++) {
        const { caseIndex, slice } = policy.pick(i);
        if ((caseIndex === 0 && slice === 4) || (caseIndex === 1 && slice === 8)) n++;
      }
      return n / DRAWS;
    };
    expect(Math.abs(share(0) - 0.1)).toBeLessThan(0.001); // exactly 2 of 20 slices per epoch
    expect(Math.abs(share(0.5) - (0.5 + 0.5 * 0.1))).toBeLessThan(0.015); // p + (1 − p)·0.1, ±4 sd
  });

  it('is a pure function of (seed, i), and refuses an impossible request', () => {
    const a = new SlicePolicy(cases, 0.3, 11);
    const b = new SlicePolicy(cases, 0.3, 11);
    expect(Array.from({ length: 50 }, (_, i) => b.pick(49 - i)).reverse()).toEqual(Array.from({ length: 50 }, (_, i) => a.pick(i)));
    expect(() => new SlicePolicy(cases, 1.5, 1)).toThrow(/foregroundFraction must be in \[0, 1\]/);
    expect(() => new SlicePolicy([labelled([0, 0])], 0.5, 1)).toThrow(/no training label has any foreground/);
  });
});
