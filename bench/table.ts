// The markdown summary of a run: one table of every case (medians, GFLOP/s, peers and ratios,
// peak memory, the four targets), one of memory against the lower bound, and the notes.

import { PEERS, type BenchReport, type CaseResult, type PeerName } from './report.js';

const SHORT: Record<PeerName, string> = { 'tfjs-webgpu': 'tfjs', 'torch-cpu': 'torch' };

function ms(v: number | null): string {
  if (v === null) return '—';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function bytes(v: number): string {
  return v >= 2 ** 30 ? `${(v / 2 ** 30).toFixed(2)} GiB` : `${(v / 2 ** 20).toFixed(1)} MiB`;
}

/** Two significant digits below 1, two decimals above. */
function ratio(v: number): string {
  return `${v < 1 ? v.toPrecision(2) : v.toFixed(2)}×`;
}

function peerCells(c: CaseResult, peer: PeerName): [string, string] {
  const p = c.peers[peer];
  if (!p) return ['—', '—'];
  if ('error' in p) return ['failed', '—'];
  return [ms(p.medianMs), p.ratio === null ? '—' : ratio(p.ratio)];
}

function row(cells: string[]): string {
  return `| ${cells.map((s) => s.replace(/\|/g, '/')).join(' | ')} |`;
}

function table(header: string[], rows: string[][]): string[] {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)];
}

function casesTable(r: BenchReport): string[] {
  const verdict = new Map(r.targets.map((t) => [t.case, t.met === null ? 'n/a' : t.met ? 'met' : 'not met']));
  const header = ['case', 'shape', 'n', 'first ms', 'median ms', 'GFLOP/s', ...PEERS.flatMap((p) => [`${SHORT[p]} ms`, `× ${SHORT[p]}`]), 'peak', 'target'];
  const rows = r.cases.map((c) => [
    c.name,
    c.shape,
    c.error ? 'failed' : c.samplesMs.length ? String(c.samplesMs.length) : '—',
    ms(c.firstMs),
    ms(c.medianMs),
    c.gflops === null ? '—' : c.gflops.toFixed(2),
    ...PEERS.flatMap((p) => peerCells(c, p)),
    c.memory ? `${bytes(c.memory.peakBytes)}${c.memory.countOnly ? ' (counted)' : ''}` : '—',
    verdict.get(c.name) ?? '',
  ]);
  return table(header, rows);
}

function memoryTable(r: BenchReport): string[] {
  const rows = r.cases.filter((c) => c.memory?.lowerBound).map((c) => {
    const m = c.memory!;
    const b = m.lowerBound!;
    return [
      c.name,
      `${(b.parameters / 1e6).toFixed(2)} M`,
      bytes(m.peakBytes),
      bytes(b.stateBytes),
      bytes(b.activationBytes),
      bytes(b.totalBytes),
      `${(m.peakBytes / b.totalBytes).toFixed(2)}×`,
    ];
  });
  return table(['case', 'parameters', 'peak', 'bound: weights, grads, AdamW', 'bound: activations', 'bound', 'peak ÷ bound'], rows);
}

export function formatReport(r: BenchReport): string {
  const m = r.machine;
  const adapter = [m.adapter.vendor, m.adapter.architecture, m.adapter.description].filter(Boolean).join(' / ');
  const lines = [
    `## transseg bench, ${r.date.slice(0, 10)}${r.commit ? ` (${r.commit})` : ''}`,
    '',
    `${m.cpu}, ${m.cores} cores; adapter ${adapter || 'unknown'}${m.cpuKernels ? ' (CPU kernels)' : ''}; ` +
      Object.entries(m.runtime).map(([k, v]) => `${k} ${v}`).join(', '),
    `Medians of n timed runs after warm-up; × peer = the peer's median ÷ ours (above 1: we are faster).`,
    '',
    ...casesTable(r),
    '',
    '### Targets',
    '',
    ...table(['case', 'goal', 'measured', 'target'], r.targets.map((t) => [t.case, t.goal, t.measured, t.met === null ? 'n/a' : t.met ? 'met' : 'not met'])),
  ];
  const memory = memoryTable(r);
  if (memory.length > 2) lines.push('', '### Memory of a training step against a lower bound', '', ...memory);
  if (r.notes.length) lines.push('', '### Notes', '', ...r.notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

/**
 * One run per runtime side by side: each case's median (and first run) per runtime, and each
 * runtime's rate relative to the first one named (above 1: faster than it).
 */
export function formatRuntimes(runs: { runtime: string; report: BenchReport }[]): string {
  if (runs.length === 0) return 'no runtime produced a report';
  const [first, ...others] = runs;
  const names = [...new Set(runs.flatMap((r) => r.report.cases.map((c) => c.name)))];
  const median = (run: (typeof runs)[number], name: string) => run.report.cases.find((c) => c.name === name)?.medianMs ?? null;
  const firstMs = (run: (typeof runs)[number], name: string) => run.report.cases.find((c) => c.name === name)?.firstMs ?? null;
  const header = ['case', ...runs.flatMap((r) => [`${r.runtime} ms`, `${r.runtime} first ms`]), ...others.map((r) => `${r.runtime} ÷ ${first.runtime}`)];
  const rows = names.map((name) => {
    const base = median(first, name);
    return [
      name,
      ...runs.flatMap((r) => [ms(median(r, name)), ms(firstMs(r, name))]),
      ...others.map((r) => {
        const m = median(r, name);
        return base === null || m === null ? '—' : ratio(base / m);
      }),
    ];
  });
  const machines = runs.map(({ runtime, report: { machine: m } }) =>
    `- ${runtime}: ${Object.entries(m.runtime).map(([k, v]) => `${k} ${v}`).join(', ')}; adapter ${m.adapter.description || m.adapter.vendor}` +
      `${m.cpuKernels ? ' (CPU kernels)' : ''}; features ${m.features?.join(', ') || 'none'}`);
  return [`## transseg bench by runtime, ${first.report.date.slice(0, 10)}${first.report.commit ? ` (${first.report.commit})` : ''}`, '',
    ...machines, '', ...table(header, rows)].join('\n');
}
