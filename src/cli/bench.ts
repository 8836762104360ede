// `transseg bench` (also `npm run bench`): the benchmark suite of bench/, with its peers. Progress
// goes to stderr; the markdown summary is returned; the full record is written as JSON.

import { parseArgs } from 'node:util';
import { runSuite } from '../../bench/suite.js';
import { writeReport } from '../../bench/report.js';
import { formatReport } from '../../bench/table.js';
import { DEFAULT_POLICY, QUICK_POLICY } from '../../bench/timing.js';
import { positiveInteger } from './flags.js';

const FLAGS = {
  cases: { type: 'string', multiple: true },
  quick: { type: 'boolean' },
  repeats: { type: 'string' },
  'no-peers': { type: 'boolean' },
  out: { type: 'string' },
} as const;

export async function bench(argv: string[], log: (line: string) => void = (line) => console.error(line)): Promise<string> {
  const { values: v } = parseArgs({ args: argv, options: FLAGS, strict: true });
  const base = v.quick ? QUICK_POLICY : DEFAULT_POLICY;
  const policy = v.repeats === undefined ? base : { ...base, repeats: positiveInteger(v.repeats, 'repeats', 'bench') };
  const patterns = (v.cases ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const report = await runSuite({ patterns, policy, peers: !v['no-peers'], log });
  const path = await writeReport(report, v.out ?? 'bench/results');
  return `${formatReport(report)}\n\nwrote ${path}`;
}
