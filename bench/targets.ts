// The targets of the performance issues, judged on the medians of one run.

import type { CaseResult, PeerResult, Target } from './report.js';

const GIB = 2 ** 30;

/** A target's parts: each is met, missed, or unknown (null) when the run lacks the measurement. */
function judge(parts: (boolean | null)[]): boolean | null {
  if (parts.some((p) => p === false)) return false;
  return parts.every((p) => p === true) ? true : null;
}

function ratio(c: CaseResult | undefined, peer: 'tfjs-webgpu' | 'torch-cpu'): number | null {
  const p = c?.peers[peer];
  return p && 'ratio' in p ? (p as PeerResult).ratio : null;
}

const x = (v: number | null, digits = 2) => (v === null ? 'n/a' : `${v.toFixed(digits)}×`);

export function judgeTargets(cases: readonly CaseResult[]): Target[] {
  const find = (name: string) => cases.find((c) => c.name === name && c.error === null);

  const mm = find('matmul:1024');
  const mmGflops = mm?.gflops ?? null;
  const mmTfjs = ratio(mm, 'tfjs-webgpu');

  const att = find('attention:t1024:fwd+bwd');
  const attShare = att?.gflops != null && mmGflops ? att.gflops / mmGflops : null;

  // BEiT's relative-position bias must not make attention slow: the biased rate over the unbiased.
  const biasShares = [225, 1024].map((t) => {
    const [plain, biased] = [find(`attention:t${t}:fwd+bwd`), find(`attention:t${t}-bias:fwd+bwd`)];
    return plain?.gflops != null && biased?.gflops != null ? biased.gflops / plain.gflops : null;
  });
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(100 * v).toFixed(0)}%`);

  const tiny = find('model:vit-tiny:240:train');
  const tinyTorch = ratio(tiny, 'torch-cpu');

  // The real run's peak when it ran, else the count-only one (the same number; see bench/models.ts).
  const base = find('model:vit-base:512:train')?.memory ?? find('model:vit-base:512:memory')?.memory ?? null;
  const baseName = find('model:vit-base:512:train')?.memory ? 'model:vit-base:512:train' : 'model:vit-base:512:memory';

  return [
    {
      case: 'matmul:1024',
      goal: '≥ 3× tfjs-webgpu and ≥ 25 GFLOP/s',
      measured: `${mmGflops === null ? 'n/a' : mmGflops.toFixed(2)} GFLOP/s, ${x(mmTfjs)} tfjs-webgpu`,
      met: judge([mmGflops === null ? null : mmGflops >= 25, mmTfjs === null ? null : mmTfjs >= 3]),
    },
    {
      case: 'attention:t1024:fwd+bwd',
      goal: '≥ 60% of the GFLOP/s of matmul:1024 in the same run',
      measured: attShare === null ? 'n/a (needs both cases)' : `${(100 * attShare).toFixed(0)}% (${att!.gflops!.toFixed(2)} GFLOP/s)`,
      met: attShare === null ? null : attShare >= 0.6,
    },
    {
      case: 'attention:t*-bias:fwd+bwd',
      goal: '≥ 60% of the GFLOP/s without the bias, at T = 225 and 1024, in the same run',
      measured: `${pct(biasShares[0])} at T = 225, ${pct(biasShares[1])} at T = 1024`,
      met: judge(biasShares.map((s) => (s === null ? null : s >= 0.6))),
    },
    {
      case: 'model:vit-tiny:240:train',
      goal: '≥ 0.5× the steps/s of PyTorch on the CPU',
      measured: `${x(tinyTorch)} torch-cpu`,
      met: tinyTorch === null ? null : tinyTorch >= 0.5,
    },
    {
      case: baseName,
      goal: 'peak ≤ 8 GiB by our allocator\'s count',
      measured: base ? `peak ${(base.peakBytes / GIB).toFixed(2)} GiB` : 'n/a',
      met: base ? base.peakBytes <= 8 * GIB : null,
    },
  ];
}
