// `transseg bench` (also `npm run bench`): the benchmark suite of bench/, with its peers. Progress
// goes to stderr; the markdown summary is returned; the full record is written as JSON.

import { runSuite } from '../../bench/suite.js';
import { writeReport } from '../../bench/report.js';
import { formatReport } from '../../bench/table.js';
import { DEFAULT_POLICY, QUICK_POLICY } from '../../bench/timing.js';
import { defineCommand, parseFlags } from './flag-table.js';
import { positiveInteger } from './flags.js';

export const BENCH_COMMAND = defineCommand({
  name: 'bench',
  summary: 'time kernels and training steps against tfjs-webgpu and PyTorch',
  description: 'Time kernels and whole training steps against tfjs-webgpu and PyTorch on this machine; prints a markdown table, writes the full record as JSON (docs/performance.md).',
  synopsis: '[--cases LIST] [--quick] [--repeats N] [--no-peers] [--out DIR]',
  flags: [
    { name: 'cases', value: 'LIST', multiple: true, shownDefault: 'every case (on a CPU adapter: less the slow ones)', help: "comma-separated names, prefixes (matmul, model:vit-tiny) or globs ('attention:*:fwd'); matmul:N or matmul:MxKxN adds a product of that shape" },
    { name: 'quick', help: '1 warm-up and at most 2 timed runs per case, 10 s budget (instead of 2, 5 and 30 s)' },
    { name: 'repeats', value: 'N', shownDefault: String(DEFAULT_POLICY.repeats), help: 'timed runs per case at most' },
    { name: 'no-peers', help: 'time ours only' },
    { name: 'out', value: 'DIR', default: 'bench/results', help: 'folder of the JSON record <date>-<adapter>.json' },
  ],
});

export async function bench(argv: string[], log: (line: string) => void = (line) => console.error(line)): Promise<string> {
  const { values: v } = parseFlags(BENCH_COMMAND, argv);
  const base = v.quick ? QUICK_POLICY : DEFAULT_POLICY;
  const policy = v.repeats === undefined ? base : { ...base, repeats: positiveInteger(v.repeats, 'repeats', 'bench') };
  const patterns = (v.cases ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const report = await runSuite({ patterns, policy, peers: !v['no-peers'], log });
  const path = await writeReport(report, v.out);
  return `${formatReport(report)}\n\nwrote ${path}`;
}
