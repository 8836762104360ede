// The two ways a paced tick of Dawn's polling can wait its millisecond (src/gpu/dawn-pacing.ts),
// compared in the runtime that runs this script:
// 1. the lag between a completion and the end of the wait, on a promise that polls through the
//    global setImmediate as the bindings do and completes at a known time (5 to 25 ms away);
// 2. a case's step (default matmul:1024) with its queue wait paced each way, alternating step by
//    step, with the main thread's CPU time per step.
// `node test/runtime/pacing.mjs [--rounds N] [CASE]`, and the same under `deno run -A` and `bun`.
// A diagnostic of an internal mechanism, so it lives beside the runtime smoke test (bench/ uses the public API only).
import { parseArgs } from 'node:util';
import { Gpu } from '../../dist/src/index.js';
import { pacedWait, pauseFor } from '../../dist/src/gpu/dawn-pacing.js';
import { detectRuntime } from '../../dist/src/gpu/device.js';
import { selectCases } from '../../dist/bench/cases.js';
import { prepareKernel } from '../../dist/bench/kernels.js';
import { median, quantile, threadCpuMs } from '../../dist/bench/timing.js';
const PAUSES = ['timer', 'sleep'];
/** Polls through the global setImmediate, as Dawn's bindings do, until `ms` have passed; resolves with the deadline. */
function completesAfter(ms) {
    const deadline = performance.now() + ms;
    return new Promise((resolve) => {
        const tick = () => (performance.now() >= deadline ? resolve(deadline) : setImmediate(tick));
        setImmediate(tick);
    });
}
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const { values, positionals } = parseArgs({ options: { rounds: { type: 'string', default: '30' } }, allowPositionals: true });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`pacing: --rounds must be a positive integer; got '${values.rounds}'`);
const runtime = detectRuntime();
console.log(`${runtime}: this runtime's pause is '${pauseFor(runtime)}'; ${rounds} rounds, the pauses alternating\n`);
const lags = new Map(PAUSES.map((p) => [p, []]));
for (let r = 0; r < rounds; r++) {
    for (const pause of PAUSES) {
        const deadline = await pacedWait(() => completesAfter(5 + (r % 5) * 5), pause);
        lags.get(pause).push(performance.now() - deadline);
    }
}
console.log('| pause | lag median ms | lag mean ms | lag p90 ms |\n|---|---|---|---|');
for (const [pause, xs] of lags)
    console.log(`| ${pause} | ${median(xs).toFixed(2)} | ${mean(xs).toFixed(2)} | ${quantile(xs, 0.9).toFixed(2)} |`);
const gpu = await Gpu.create();
if (gpu.info.backend !== 'dawn')
    throw new Error(`pacing: the case needs Dawn; this context has ${gpu.info.backend} (under Deno, run with -A)`);
const [c] = selectCases([positionals[0] ?? 'matmul:1024'], gpu.info.cpu);
if (!c || c.kind === 'model')
    throw new Error(`pacing: '${positionals[0]}' must name one single-op case`);
const prepared = prepareKernel(gpu, c);
// The case's step ends with gpu.sync(); this one waits with the pause under test.
let pause = 'timer';
gpu.sync = async () => {
    gpu.flush();
    await pacedWait(() => gpu.device.queue.onSubmittedWorkDone(), pause);
};
for (const p of PAUSES) {
    pause = p;
    await prepared.step();
}
const steps = new Map(PAUSES.map((p) => [p, { ms: [], cpuMs: [] }]));
for (let r = 0; r < rounds; r++) {
    for (const p of PAUSES) {
        pause = p;
        const cpu0 = threadCpuMs();
        const t0 = performance.now();
        await prepared.step();
        const s = steps.get(p);
        s.ms.push(performance.now() - t0);
        const cpu1 = threadCpuMs();
        if (cpu0 !== null && cpu1 !== null)
            s.cpuMs.push(cpu1 - cpu0);
    }
}
prepared.dispose();
gpu.destroy();
console.log(`\n${c.name}:\n\n| pause | median ms | quartile ms | best ms | main-thread CPU ms/step |\n|---|---|---|---|---|`);
for (const [p, s] of steps) {
    const cpu = s.cpuMs.length ? mean(s.cpuMs).toFixed(2) : '—';
    console.log(`| ${p} | ${median(s.ms).toFixed(1)} | ${quantile(s.ms, 0.25).toFixed(1)} | ${Math.min(...s.ms).toFixed(1)} | ${cpu} |`);
}
