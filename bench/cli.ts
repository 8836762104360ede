// `npm run bench [-- flags]` (bench/run.ts): the benchmark suite of bench/, with its peers. Progress
// goes to stderr; the markdown summary is returned; the full record is written as JSON.
// bench/ depends on the library (src/), never the other way: the suite needs the repository (its
// PyTorch peer script, tfjs from the devDependencies), so it is not a command of the installed CLI.
//
// `--runtime deno,bun,node` runs the suite once per runtime, each in its own process (this script
// under that runtime), and puts their medians side by side.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeReport, type BenchReport } from './report.js';
import { runSuite } from './suite.js';
import { formatReport, formatRuntimes } from './table.js';
import { DEFAULT_POLICY, QUICK_POLICY } from './timing.js';

const FLAGS = {
  cases: { type: 'string', multiple: true },
  quick: { type: 'boolean' },
  repeats: { type: 'string' },
  'no-peers': { type: 'boolean' },
  out: { type: 'string' },
  runtime: { type: 'string' },
} as const;

/** --repeats N: a positive integer, or the bench stops with a one-line error. */
function positiveInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, got '${value}'`);
  return n;
}

/** How each runtime runs a script of this package, from the repository root. */
export const RUNTIMES: Record<string, string[]> = {
  node: ['node'],
  // -A: Deno may load the `webgpu` package's Dawn addon (see docs/performance.md, "Runtimes").
  deno: ['npx', '--no-install', 'deno', 'run', '-A'],
  bun: ['npx', '--no-install', 'bun'],
};

export async function bench(argv: string[], log: (line: string) => void = (line) => console.error(line)): Promise<string> {
  const { values: v } = parseArgs({ args: argv, options: FLAGS, strict: true });
  if (v.runtime !== undefined) return benchRuntimes(argv, v.runtime.split(',').map((s) => s.trim()).filter(Boolean), log);
  const base = v.quick ? QUICK_POLICY : DEFAULT_POLICY;
  const policy = v.repeats === undefined ? base : { ...base, repeats: positiveInteger(v.repeats, 'repeats') };
  const patterns = (v.cases ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const report = await runSuite({ patterns, policy, peers: !v['no-peers'], log });
  const path = await writeReport(report, v.out ?? 'bench/results');
  return `${formatReport(report)}\n\nwrote ${path}`;
}

/** Runs this script under each runtime in turn, one after the other so they never compete. */
async function benchRuntimes(argv: string[], runtimes: string[], log: (line: string) => void): Promise<string> {
  const unknown = runtimes.filter((r) => !RUNTIMES[r]);
  if (runtimes.length === 0 || unknown.length > 0) {
    throw new Error(`--runtime: expected a list of ${Object.keys(RUNTIMES).join(', ')}; got '${runtimes.join(',')}'`);
  }
  const rest = argv.filter((a, i) => !a.startsWith('--runtime') && argv[i - 1] !== '--runtime');
  const script = fileURLToPath(new URL('./run.js', import.meta.url));
  const reports: { runtime: string; report: BenchReport }[] = [];
  const sections: string[] = [];
  for (const runtime of runtimes) {
    const out = mkdtempSync(join(tmpdir(), `transseg-bench-${runtime}-`));
    const [command, ...args] = RUNTIMES[runtime];
    log(`--- ${runtime}: ${[command, ...args, script, ...rest].join(' ')}`);
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(command, [...args, script, ...rest, '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('error', (e) => {
        log(`${runtime}: cannot start ${command} (${e.message})`);
        resolve(null);
      });
      child.on('close', resolve);
    });
    const file = readdirSync(out).find((f) => f.endsWith('.json'));
    if (code !== 0 || !file) {
      sections.push(`${runtime}: failed (exit ${code}); see its progress above`);
      continue;
    }
    const path = join(out, file);
    reports.push({ runtime, report: JSON.parse(readFileSync(path, 'utf8')) as BenchReport });
    sections.push(`${runtime}: wrote ${path}`);
  }
  return `${formatRuntimes(reports)}\n\n${sections.join('\n')}`;
}
