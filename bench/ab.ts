// Interleaved timing of two or more single-op cases on one context: each round runs every case
// once, in turn, so a machine whose load changes (a shared CI runner, other jobs) slows them alike
// and the ratios stay meaningful when the absolute times do not.
// `node dist/bench/ab.js [--kernels tile|register|subgroup] [--rounds N] CASE CASE...`, e.g.
//   node dist/bench/ab.js attention:t225:fwd+bwd attention:t225-bias:fwd+bwd
// prints each case's median and its rate relative to the first case. A case may be a model's
// forward or train step, and may end in @direct, @winograd-2x2 or @winograd-4x4 to force
// conv2d's 3×3 algorithm while it runs (src/ops/winograd.ts), e.g.
//   node dist/bench/ab.js conv:upernet-tiny-240:fuse:fwd@direct conv:upernet-tiny-240:fuse:fwd@winograd-4x4
import { parseArgs } from 'node:util';
import { CONV_3X3_ALGORITHMS, cpuSubgroups, Gpu, setConv3x3Algorithm, type Conv3x3Algorithm, type DeviceOptions } from '../src/index.js';
import { selectCases } from './cases.js';
import { prepareKernel, type KernelCase } from './kernels.js';
import { prepareModel, type ModelCase } from './models.js';
import { median } from './timing.js';

const KERNELS: Record<string, DeviceOptions> = {
  tile: { cpuKernels: false },
  register: { cpuKernels: true, subgroups: false },
  subgroup: { cpuKernels: true },
};

const { values, positionals } = parseArgs({
  options: { kernels: { type: 'string' }, rounds: { type: 'string', default: '5' } },
  allowPositionals: true,
});
const options = values.kernels === undefined ? {} : KERNELS[values.kernels];
if (!options) throw new Error(`ab: --kernels must be one of ${Object.keys(KERNELS).join(', ')}; got '${values.kernels}'`);
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`ab: --rounds must be a positive integer; got '${values.rounds}'`);

const gpu = await Gpu.create(options);
if (values.kernels === 'subgroup' && !cpuSubgroups(gpu)) throw new Error('ab: this adapter offers no subgroups of 8 or more');
const CONV_3X3: readonly string[] = CONV_3X3_ALGORITHMS;
const cases = positionals.map((p) => {
  const [name, conv = 'auto'] = p.split('@');
  const found = selectCases([name], gpu.info.cpu);
  const c = found[0];
  if (found.length !== 1 || (c.kind === 'model' && c.mode === 'memory')) throw new Error(`ab: '${name}' must name one op case or a model's forward or train step`);
  if (!CONV_3X3.includes(conv)) throw new Error(`ab: '${p}': the suffix after @ must be one of ${CONV_3X3.join(', ')}`);
  return { ...c, name: p, conv: conv as Conv3x3Algorithm };
});
const prepared = await Promise.all(cases.map(async (c) => {
  if (c.kind !== 'model') return prepareKernel(gpu, c as KernelCase);
  const m = await prepareModel(c as ModelCase, gpu);
  return { step: c.mode === 'train' ? m.trainStep : m.forwardStep, dispose: () => m.dispose() };
}));
for (const [i, p] of prepared.entries()) { // compile and fill the pools
  setConv3x3Algorithm(gpu, cases[i].conv);
  await p.step();
}
const samples: number[][] = cases.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (const [i, p] of prepared.entries()) {
    setConv3x3Algorithm(gpu, cases[i].conv);
    const t0 = performance.now();
    await p.step();
    samples[i].push(performance.now() - t0);
  }
}
prepared.forEach((p) => p.dispose());
gpu.destroy();

const rate = (i: number) => (cases[i].flops ?? 1) / median(samples[i]);
console.log(`kernels: ${values.kernels ?? 'the adapter\'s'}; ${rounds} interleaved rounds\n`);
console.log('| case | median ms | GFLOP/s | rate ÷ first case |\n|---|---|---|---|');
for (const [i, c] of cases.entries()) {
  const gflops = c.flops === null ? '—' : (c.flops / (median(samples[i]) * 1e6)).toFixed(2);
  console.log(`| ${c.name} | ${median(samples[i]).toFixed(1)} | ${gflops} | ${(rate(i) / rate(0)).toFixed(2)} |`);
}
