// Interleaved timing of two or more single-op cases on one context: each round runs every case
// once, in turn, so a machine whose load changes (a shared CI runner, other jobs) slows them alike
// and the ratios stay meaningful when the absolute times do not.
// `node dist/bench/ab.js [--kernels tile|register|subgroup] [--rounds N] CASE CASE...`, e.g.
//   node dist/bench/ab.js attention:t225:fwd+bwd attention:t225-bias:fwd+bwd
// prints each case's median and its rate relative to the first case.
import { parseArgs } from 'node:util';
import { cpuSubgroups, Gpu, type DeviceOptions } from '../src/index.js';
import { selectCases } from './cases.js';
import { prepareKernel, type KernelCase } from './kernels.js';
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
const cases = positionals.map((p) => {
  const [c] = selectCases([p], gpu.info.cpu);
  if (!c || c.kind === 'model' || selectCases([p], gpu.info.cpu).length !== 1) throw new Error(`ab: '${p}' must name one single-op case`);
  return c as KernelCase;
});
const prepared = cases.map((c) => prepareKernel(gpu, c));
for (const p of prepared) await p.step(); // compile and fill the pools
const samples: number[][] = cases.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (const [i, p] of prepared.entries()) {
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
