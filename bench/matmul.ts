// Square matmul throughput for each kernel variant (workgroup tiles, written for GPUs; register
// blocks, written for CPU adapters; subgroup broadcasts, for CPU adapters with subgroups) on this
// machine's adapter, timed as the suite times its cases.
// `node dist/bench/matmul.js [sizes...]` (default 256 512 1024); `npm run bench` times the variant
// the adapter chooses, against the peers.
import { cpuSubgroups, Gpu } from '../src/index.js';
import { selectCases } from './cases.js';
import { prepareKernel, type KernelCase } from './kernels.js';
import { DEFAULT_POLICY, measure } from './timing.js';

const sizes = process.argv.slice(2).map(Number);
const VARIANTS = [
  { kernel: 'workgroup tiles', options: { cpuKernels: false }, subgroups: false },
  { kernel: 'register blocks', options: { cpuKernels: true, subgroups: false }, subgroups: false },
  { kernel: 'subgroup broadcasts', options: { cpuKernels: true }, subgroups: true },
];
for (const { kernel, options, subgroups } of VARIANTS) {
  const gpu = await Gpu.create(options);
  if (subgroups && !cpuSubgroups(gpu)) {
    console.log('\nno subgroup kernel: this adapter offers no subgroups of 8 or more');
    gpu.destroy();
    continue;
  }
  console.log(`\nadapter: ${gpu.info.adapter.description || gpu.info.adapter.vendor}; kernel: ${kernel}`);
  console.log('| n | median ms | GFLOP/s |\n|---|---|---|');
  for (const n of sizes.length ? sizes : [256, 512, 1024]) {
    const c = selectCases([`matmul:${n}`], options.cpuKernels)[0] as KernelCase;
    const prepared = prepareKernel(gpu, c);
    const { medianMs } = await measure(() => prepared.step(), DEFAULT_POLICY);
    prepared.dispose();
    console.log(`| ${n} | ${medianMs.toFixed(1)} | ${(c.flops! / (medianMs * 1e6)).toFixed(2)} |`);
  }
  gpu.destroy();
}
