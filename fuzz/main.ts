// `npm run fuzz -- --count N [--format nifti|safetensors|model] [--seed S]`: runs N seeded
// attempts per format (all three by default) and reports how they ended. Attempts run in a child
// process watched by this one, so a hang (an attempt over 10 s) or an abort (stack overflow,
// out-of-memory kill) is recorded and the run goes on in a fresh child. The peak memory is the
// children's peak resident set size. Exit status 1 when any attempt crashed, hung, accepted a
// corrupt gzip stream or leaked GPU buffers, or the peak reached 2 GB. See fuzz/README.md.

import { fork, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { FORMATS, runAttempt, type AttemptResult, type Corpus, type Format } from './attempt.js';
import { modelCorpus, niftiCorpus, safetensorsCorpus, haveSharedData } from './corpus.js';

const TIME_LIMIT_MS = 10_000;
const MEMORY_LIMIT_BYTES = 2e9;

type Message =
  | { type: 'start'; seed: number }
  | { type: 'result'; result: AttemptResult }
  | { type: 'done'; maxRssBytes: number };

/** Child: builds the corpus for `format`, then runs the seeds [from, to) and reports each. */
async function child(format: Format, from: number, to: number): Promise<void> {
  const send = (m: Message) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
  let gpu = null;
  if (format === 'model') {
    const { Gpu } = await import('../src/gpu/gpu.js');
    gpu = await Gpu.create();
  }
  const corpus: Corpus = {
    nifti: format === 'nifti' ? await niftiCorpus() : [],
    safetensors: format === 'safetensors' ? safetensorsCorpus() : [],
    model: gpu ? await modelCorpus(gpu) : [],
    gpu,
  };
  for (let seed = from; seed < to; seed++) {
    await send({ type: 'start', seed });
    await send({ type: 'result', result: runAttempt(format, seed, corpus) });
  }
  await send({ type: 'done', maxRssBytes: process.resourceUsage().maxRSS * 1024 });
  gpu?.destroy();
  process.exit(0);
}

interface FormatReport {
  results: AttemptResult[];
  peakRssBytes: number;
}

/** Runs seeds [from, to) of `format` in children, restarting after a hang or an abort. */
function runFormat(format: Format, from: number, to: number): Promise<FormatReport> {
  const results: AttemptResult[] = [];
  let peakRssBytes = 0;
  return new Promise((resolve) => {
    const launch = (start: number): void => {
      if (start >= to) {
        resolve({ results, peakRssBytes });
        return;
      }
      const proc: ChildProcess = fork(process.argv[1], ['--child', format, String(start), String(to)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      let stderr = '';
      proc.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
      let current: number | null = null;
      let startedAt = 0;
      let finished = false;
      const timer = setInterval(() => {
        if (current !== null && performance.now() - startedAt > TIME_LIMIT_MS) {
          results.push({ format, seed: current, what: '(see the seed)', ending: 'crash', detail: `hang: over ${TIME_LIMIT_MS / 1000} s`, ms: performance.now() - startedAt });
          finished = true;
          proc.kill('SIGKILL');
        }
      }, 200);
      proc.on('message', (m: Message) => {
        if (m.type === 'start') {
          current = m.seed;
          startedAt = performance.now();
        } else if (m.type === 'result') {
          results.push(m.result);
          current = null;
        } else {
          peakRssBytes = Math.max(peakRssBytes, m.maxRssBytes);
          finished = true;
        }
      });
      proc.on('exit', (code, signal) => {
        clearInterval(timer);
        const next = current === null ? to : current + 1;
        if (!finished) {
          const seed = current ?? start;
          results.push({ format, seed, what: '(see the seed)', ending: 'crash', detail: `the process died (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`, ms: performance.now() - startedAt });
          launch(current === null ? to : seed + 1);
          return;
        }
        launch(next);
      });
    };
    launch(from);
  });
}

function summarize(format: Format, report: FormatReport): { line: string; failures: AttemptResult[] } {
  const count = (test: (r: AttemptResult) => boolean) => report.results.filter(test).length;
  const hangs = count((r) => r.detail.startsWith('hang:'));
  const crashes = count((r) => r.ending === 'crash') - hangs;
  const slow = report.results.reduce((m, r) => Math.max(m, r.ms), 0);
  const line = [
    `${format}: ${report.results.length} attempts`, `${count((r) => r.ending === 'accepted')} accepted`, `${count((r) => r.ending === 'refused')} refused cleanly`,
    `${crashes} crashes`, `${hangs} hangs (> ${TIME_LIMIT_MS / 1000} s)`, `${count((r) => r.ending === 'corrupt-gzip-accepted')} corrupt gzip accepted`,
    `${count((r) => r.ending === 'leak')} GPU leaks`, `slowest ${(slow / 1000).toFixed(2)} s`, `peak RSS ${(report.peakRssBytes / 1e6).toFixed(0)} MB`,
  ].join(', ');
  return { line, failures: report.results.filter((r) => r.ending !== 'accepted' && r.ending !== 'refused') };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { count: { type: 'string', default: '200' }, format: { type: 'string' }, seed: { type: 'string', default: '1' } },
  });
  const count = Number(values.count);
  const seed = Number(values.seed);
  if (!Number.isInteger(count) || count < 1) throw new Error(`fuzz: --count must be a positive integer, got '${values.count}'`);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`fuzz: --seed must be a non-negative integer, got '${values.seed}'`);
  if (values.format !== undefined && !(FORMATS as readonly string[]).includes(values.format)) {
    throw new Error(`fuzz: --format must be one of ${FORMATS.join(', ')}, got '${values.format}'`);
  }
  const formats = values.format ? [values.format as Format] : [...FORMATS];
  if (!haveSharedData()) console.log('fuzz: ../shared/data is absent: only files the library writes are mutated (no real NIfTI or ViT files)');
  let failed = false;
  for (const format of formats) {
    const t = performance.now();
    const report = await runFormat(format, seed, seed + count);
    const { line, failures } = summarize(format, report);
    console.log(`${line}; ${((performance.now() - t) / 1000).toFixed(0)} s in all`);
    for (const f of failures.slice(0, 20)) console.log(`  seed ${f.seed} [${f.ending}] ${f.what}: ${f.detail}`);
    if (failures.length || report.peakRssBytes >= MEMORY_LIMIT_BYTES) failed = true;
  }
  console.log(`replay one attempt: npm run fuzz -- --format F --seed S --count 1`);
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[2] === '--child') {
  await child(process.argv[3] as Format, Number(process.argv[4]), Number(process.argv[5]));
} else {
  main().catch((error: Error) => {
    console.error(error.message);
    process.exitCode = 2;
  });
}
