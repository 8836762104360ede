// Interleaved timing of one case under several runtimes. Each runtime gets a worker process (this
// script with --worker, launched as `--runtime` launches the suite) that prepares the case, warms
// it up and then runs one step each time it is asked; the runtimes take turns step by step, each
// round starting with the next one, so a machine whose load changes (other jobs, a shared CI
// runner) slows them alike and the ratios stay meaningful when the absolute times do not. Waiting
// workers block on their stdin and use no CPU.
// `node dist/bench/runtime-ab.js [--runtimes node,deno,bun] [--rounds N] CASE`, e.g.
//   node dist/bench/runtime-ab.js --rounds 20 matmul:1024
// prints each runtime's median, quartile and best step, its rate ÷ the first runtime's, and the
// CPU time its main thread spent per step (where /proc/thread-self exists): the host-side cost of
// encoding, submitting and waiting. Each worker also reports its adapter, features and limits, and
// the table says whether they are the same in every runtime.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Gpu } from '../src/index.js';
import { selectCases } from './cases.js';
import { RUNTIMES } from './cli.js';
import { prepareKernel } from './kernels.js';
import { prepareModel } from './models.js';
import { median, quantile, threadCpuMs } from './timing.js';

/** Untimed steps of each worker before the rounds: the first compiles, the second settles pools. */
const WARMUP = 2;

interface WorkerInfo {
  runtime: string;
  backend: string;
  adapter: string;
  features: string[];
  limits: Record<string, number>;
}

/** The case's step on `gpu`, as the suite runs it. */
async function prepareStep(gpu: Gpu, name: string): Promise<{ step: () => Promise<void>; dispose(): void }> {
  const [c] = selectCases([name], gpu.info.cpu);
  if (c.kind !== 'model') return prepareKernel(gpu, c);
  const model = await prepareModel(c, gpu);
  return { step: c.mode === 'forward' ? model.forwardStep : model.trainStep, dispose: () => model.dispose() };
}

/** The worker: prepares `name`, then answers each 'step' line on stdin with one timed step. */
async function worker(name: string): Promise<void> {
  const gpu = await Gpu.create();
  const prepared = await prepareStep(gpu, name);
  for (let i = 0; i < WARMUP; i++) await prepared.step();
  const send = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
  const { info } = gpu;
  send({ runtime: info.runtime, backend: info.backend, adapter: info.adapter.description || info.adapter.vendor, features: info.features, limits: info.limits } satisfies WorkerInfo);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line !== 'step') break;
    const cpu0 = threadCpuMs();
    const t0 = performance.now();
    await prepared.step();
    const ms = performance.now() - t0;
    const cpu1 = threadCpuMs();
    send({ ms, cpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0 });
  }
  prepared.dispose();
  gpu.destroy();
  process.stdin.destroy();
}

/** One worker process and a queue of the lines it has printed. */
class Worker {
  private lines: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private closed = false;

  constructor(readonly runtime: string, readonly child: ChildProcess) {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      if (this.waiting) this.waiting(line);
      else this.lines.push(line);
      this.waiting = null;
    });
    rl.on('close', () => {
      this.closed = true;
      this.waiting?.(null);
    });
  }

  /** The next JSON message; an error naming the runtime if the worker ended first. */
  async next<T>(): Promise<T> {
    const line = this.lines.shift() ?? (this.closed ? null : await new Promise<string | null>((resolve) => (this.waiting = resolve)));
    if (line === null) throw new Error(`runtime-ab: the ${this.runtime} worker ended early; see its messages above`);
    return JSON.parse(line) as T;
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }
}

/** How the workers' devices differ, or that they do not. */
function compareDevices(infos: WorkerInfo[]): string {
  const describe = (i: WorkerInfo) => JSON.stringify({ backend: i.backend, adapter: i.adapter, features: i.features, limits: i.limits });
  if (infos.every((i) => describe(i) === describe(infos[0]))) {
    return `Every runtime got the same device: ${infos[0].backend}, ${infos[0].adapter}, features ${infos[0].features.join(', ') || 'none'}, the same limits.`;
  }
  return ['The runtimes got different devices:', ...infos.map((i) => `- ${i.runtime}: ${describe(i)}`)].join('\n');
}

async function coordinator(name: string, runtimes: string[], rounds: number): Promise<void> {
  const unknown = runtimes.filter((r) => !RUNTIMES[r]);
  if (runtimes.length === 0 || unknown.length > 0) {
    throw new Error(`runtime-ab: --runtimes expects a list of ${Object.keys(RUNTIMES).join(', ')}; got '${runtimes.join(',')}'`);
  }
  const script = fileURLToPath(import.meta.url);
  const workers = runtimes.map((runtime) => {
    const [command, ...args] = RUNTIMES[runtime];
    return new Worker(runtime, spawn(command, [...args, script, '--worker', name], { stdio: ['pipe', 'pipe', 'inherit'] }));
  });
  try {
    // One at a time, so that no worker's compilation competes with another's.
    const infos: WorkerInfo[] = [];
    for (const w of workers) infos.push(await w.next<WorkerInfo>());
    const samples = workers.map(() => ({ ms: [] as number[], cpuMs: [] as number[] }));
    for (let r = 0; r < rounds; r++) {
      // Each round starts with the next runtime, so none always follows the same one.
      for (let k = 0; k < workers.length; k++) {
        const i = (r + k) % workers.length;
        const w = workers[i];
        w.send('step');
        const { ms, cpuMs } = await w.next<{ ms: number; cpuMs: number | null }>();
        samples[i].ms.push(ms);
        if (cpuMs !== null) samples[i].cpuMs.push(cpuMs);
      }
    }
    const rate = (i: number) => 1 / median(samples[i].ms);
    console.log(`${name}: ${rounds} interleaved rounds, one step per runtime each, the order rotating\n`);
    console.log('| runtime | median ms | quartile ms | best ms | rate ÷ first | main-thread CPU ms/step |\n|---|---|---|---|---|---|');
    for (const [i, w] of workers.entries()) {
      const s = samples[i];
      const cpu = s.cpuMs.length ? (s.cpuMs.reduce((a, b) => a + b, 0) / s.cpuMs.length).toFixed(1) : '—';
      console.log(`| ${w.runtime} | ${median(s.ms).toFixed(1)} | ${quantile(s.ms, 0.25).toFixed(1)} | ${Math.min(...s.ms).toFixed(1)} | ${(rate(i) / rate(0)).toFixed(2)} | ${cpu} |`);
    }
    console.log(`\n${compareDevices(infos)}`);
  } finally {
    for (const w of workers) w.child.stdin!.end();
  }
}

const { values, positionals } = parseArgs({
  options: { worker: { type: 'string' }, runtimes: { type: 'string', default: 'node,deno,bun' }, rounds: { type: 'string', default: '10' } },
  allowPositionals: true,
});
if (values.worker !== undefined) {
  await worker(values.worker);
} else {
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`runtime-ab: --rounds must be a positive integer; got '${values.rounds}'`);
  const cases = positionals.length === 1 ? selectCases(positionals, true) : [];
  if (cases.length !== 1) throw new Error(`runtime-ab: name one case, e.g. matmul:1024 or model:vit-tiny:240:train; got '${positionals.join(' ')}'`);
  await coordinator(cases[0].name, values.runtimes.split(',').map((s) => s.trim()).filter(Boolean), rounds);
}
