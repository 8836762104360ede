// The speed and ETA a training run shows (src/train/rate.ts), with a hand-driven clock.

import { describe, expect, it } from 'vitest';
import { etaSeconds, RecentRate, validationsLeft } from '../src/train/rate.js';

describe('RecentRate', () => {
  it('leaves out the first (compiling) step and validation pauses, and follows the recent steps only', () => {
    const rate = new RecentRate(4);
    rate.stepDone(30000); // step 1: 30 s of pipeline compilation
    expect(rate.stepsPerSecond).toBeNaN();
    for (let k = 1; k <= 4; k++) rate.stepDone(30000 + 500 * k); // 2 steps/s
    expect(rate.stepsPerSecond).toBeCloseTo(2, 12); // a running average from 0 would say 5/32 s = 0.16
    rate.pause(60000); // a validation of 60 s
    for (let k = 1; k <= 4; k++) rate.stepDone(92000 + 1000 * k); // then 1 step/s
    expect(rate.stepsPerSecond).toBeCloseTo(1, 12); // only the last 4 steps count, the pause does not
  });
});

describe('ETA', () => {
  it('counts the validations still to come, the one at the current step included', () => {
    expect(validationsLeft(1, 10, 5)).toBe(2); // at 5 and 10
    expect(validationsLeft(5, 10, 5)).toBe(2); // 5 runs right after step 5 ends
    expect(validationsLeft(6, 10, 5)).toBe(1);
    expect(validationsLeft(6, 12, 5)).toBe(2); // at 10 and after the last step, 12
    expect(validationsLeft(12, 12, 5)).toBe(1);
    expect(etaSeconds(6, 12, 5, 2, 30)).toBe(3 + 60);
  });
});
