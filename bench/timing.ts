// How every case is timed, ours and the peers' alike (bench/torch_peer.py follows the same rule).
// A first, untimed run compiles pipelines and fills pools; its time estimates the case's. If all
// `repeats` timed runs fit in `budgetMs`, one more warm-up precedes them; otherwise the case gets
// as many timed runs as fit, at least one ("n=1" in the table for runs longer than the budget).
// So a case costs about its first run plus the budget, and the result is the median.

import { existsSync, readFileSync } from 'node:fs';

export interface TimingPolicy {
  /** Untimed runs of a case whose repeats fit the budget, the first included (at least 1). */
  warmup: number;
  /** Timed runs at most. */
  repeats: number;
  /** Time the timed runs of one case may take, as estimated from the first run. */
  budgetMs: number;
}

export const DEFAULT_POLICY: TimingPolicy = { warmup: 2, repeats: 5, budgetMs: 30_000 };
export const QUICK_POLICY: TimingPolicy = { warmup: 1, repeats: 2, budgetMs: 10_000 };

export interface Timing {
  /** The first run: with shader compilation when the case is the first to use its kernels. */
  firstMs: number;
  samplesMs: number[];
  medianMs: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The sample at fraction `q` of the sorted samples (0: the least). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) throw new Error('quantile of no samples');
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** CPU time of the calling thread in ms (the kernel's schedstat, in ns); null where there is none. */
export function threadCpuMs(): number | null {
  const path = '/proc/thread-self/schedstat';
  return existsSync(path) ? Number(readFileSync(path, 'utf8').split(' ')[0]) / 1e6 : null;
}

/** Timed runs after a first run of `firstMs`, and whether the extra warm-ups run. */
export function plan(firstMs: number, policy: TimingPolicy): { warmups: number; repeats: number } {
  const fit = Math.floor(policy.budgetMs / Math.max(firstMs, 1e-3));
  const repeats = Math.max(1, Math.min(policy.repeats, fit));
  return { warmups: repeats === policy.repeats ? policy.warmup - 1 : 0, repeats };
}

/**
 * Times `step`, which must return only when its work is finished (for GPU work: after waiting for
 * the queue). Wall-clock time of each call, in milliseconds.
 */
export async function measure(step: () => Promise<void>, policy: TimingPolicy): Promise<Timing> {
  const time = async () => {
    const t0 = performance.now();
    await step();
    return performance.now() - t0;
  };
  const firstMs = await time();
  const { warmups, repeats } = plan(firstMs, policy);
  for (let i = 0; i < warmups; i++) await time();
  const samplesMs: number[] = [];
  for (let i = 0; i < repeats; i++) samplesMs.push(await time());
  return { firstMs, samplesMs, medianMs: median(samplesMs) };
}
