// Learning-rate schedules: pure functions of the optimiser step.

export interface LinearWarmupDecayOptions {
  /** Steps of linear warm-up from 0 to peak; default 20 (TransSeg). */
  warmup?: number;
  /** The step at which the rate reaches 0 (max_steps). */
  total: number;
  /** The rate at the end of warm-up. */
  peak: number;
}

/**
 * transformers.get_linear_schedule_with_warmup, as TransSeg steps it: `step` counts the optimiser
 * steps already taken (0 for the first one, whose rate is therefore 0), the rate rises linearly to
 * `peak` at `warmup`, then falls linearly to 0 at `total` and stays there.
 */
export function linearWarmupDecay(step: number, { warmup = 20, total, peak }: LinearWarmupDecayOptions): number {
  if (!Number.isInteger(step) || step < 0) throw new Error(`linearWarmupDecay: step must be an integer >= 0, got ${step}`);
  if (!Number.isInteger(warmup) || warmup < 0 || !Number.isInteger(total) || total < warmup) {
    throw new Error(`linearWarmupDecay: need integers 0 <= warmup <= total; got warmup ${warmup}, total ${total}`);
  }
  if (step < warmup) return peak * (step / Math.max(1, warmup));
  return peak * Math.max(0, (total - step) / Math.max(1, total - warmup));
}
