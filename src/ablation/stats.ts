// The ablation's statistics: mean and sample standard deviation over seeds, and paired
// differences between two settings run with the same seeds (seed k of A against seed k of B:
// same initialisation seed, same sample order, same data), judged by a paired t test.
//
// The rule for "within noise": a paired difference is called clear when |t| = |mean| / (sd / √n)
// exceeds the two-sided 95 % critical value of Student's t with n − 1 degrees of freedom (4.30
// for 3 seeds, 2.78 for 5, 2.26 for 10); otherwise it is within the seed-to-seed noise. With
// few seeds this is a high bar, on purpose: three seeds tell a large, consistent effect from
// noise, not a small one.

/** Two-sided 95 % critical values of Student's t for 1..30 degrees of freedom. */
const T_CRITICAL_95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The two-sided 95 % critical value of t with `df` degrees of freedom; beyond 30, 30's (slightly conservative). */
export function tCritical95(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new Error(`tCritical95: degrees of freedom must be an integer >= 1, got ${df}`);
  return T_CRITICAL_95[Math.min(df, T_CRITICAL_95.length) - 1];
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new Error('mean: no values');
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** Sample standard deviation (divisor n − 1); null for fewer than two values. */
export function sampleSd(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

export interface Summary {
  n: number;
  mean: number;
  /** null with one value. */
  sd: number | null;
}

export function summarise(values: readonly number[]): Summary {
  return { n: values.length, mean: mean(values), sd: sampleSd(values) };
}

export interface PairedDifference extends Summary {
  /** A − B per pair, in pair order. */
  differences: number[];
  /** mean / (sd / √n); ±Infinity when every pair differs by the same non-zero amount; null with one pair. */
  t: number | null;
  /** The two-sided 95 % critical value the rule compares |t| with; null with one pair. */
  tCritical: number | null;
  /** 'clear' when |t| > tCritical, 'noise' otherwise, 'one seed' when there is nothing to judge by. */
  verdict: 'clear' | 'noise' | 'one seed';
}

/** The paired differences a[k] − b[k] and the verdict of the rule at the top of the file. */
export function pairedDifference(a: readonly number[], b: readonly number[]): PairedDifference {
  if (a.length !== b.length || a.length === 0) throw new Error(`pairedDifference: need two equally long, non-empty lists, got ${a.length} and ${b.length}`);
  const differences = a.map((v, k) => v - b[k]);
  const s = summarise(differences);
  if (s.sd === null) return { ...s, differences, t: null, tCritical: null, verdict: 'one seed' };
  const t = s.sd === 0 ? (s.mean === 0 ? 0 : Math.sign(s.mean) * Infinity) : s.mean / (s.sd / Math.sqrt(s.n));
  const tCritical = tCritical95(s.n - 1);
  return { ...s, differences, t, tCritical, verdict: Math.abs(t) > tCritical ? 'clear' : 'noise' };
}
