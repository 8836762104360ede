// The speed and ETA a training run shows. A running average from the start is far too high at
// first and slow to follow (pipeline compilation makes step 1 long; other work on the machine comes
// and goes), so the rate is taken over the last `window` steps only, from the end of the first step
// on, with time spent validating left out; the ETA adds the remaining validations at the duration
// of the last one.

export class RecentRate {
  /** End times (ms, pauses taken out) of the last window + 1 steps. */
  private readonly ends: number[] = [];
  private paused = 0;

  constructor(private readonly window: number) {
    if (!(Number.isInteger(window) && window >= 1)) throw new Error(`RecentRate: window must be an integer ≥ 1, got ${window}`);
  }

  /** A step ended at `now` (ms). */
  stepDone(now: number): void {
    this.ends.push(now - this.paused);
    if (this.ends.length > this.window + 1) this.ends.shift();
  }

  /** `ms` spent on something other than steps (validation), not to count in the rate. */
  pause(ms: number): void {
    this.paused += ms;
  }

  /** Steps per second over the recent steps; NaN until two steps have ended. */
  get stepsPerSecond(): number {
    const n = this.ends.length;
    return n < 2 ? NaN : (n - 1) / ((this.ends[n - 1] - this.ends[0]) / 1000);
  }
}

/** Validations still to come after step `step` has ended: every `every` steps and after the last. */
export function validationsLeft(step: number, steps: number, every: number): number {
  return Math.floor(steps / every) - Math.floor((step - 1) / every) + (steps % every === 0 ? 0 : 1);
}

/** Seconds to the end: the remaining steps at `stepsPerSecond`, and the validations at `validationSeconds` each. */
export function etaSeconds(step: number, steps: number, every: number, stepsPerSecond: number, validationSeconds: number): number {
  return (steps - step) / stepsPerSecond + validationsLeft(step, steps, every) * validationSeconds;
}
