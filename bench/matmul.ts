// Square matmul throughput for both kernel variants (workgroup tiles, written for GPUs; register
// blocks, written for CPU adapters) on this machine's adapter, timed as the suite times its cases.
// `node dist/bench/matmul.js [sizes...]` (default 256 512 1024); `npm run bench` times the variant
// the adapter chooses, against the peers.
import { Gpu } from '../src/gpu/gpu.js';
import { selectCases } from './cases.js';
import { prepareKernel, type KernelCase } from './kernels.js';
import { DEFAULT_POLICY, measure } from './timing.js';

const sizes = process.argv.slice(2).map(Number);
for (const cpuKernels of [false, true]) {
  const gpu = await Gpu.create({ cpuKernels });
  console.log(`\nadapter: ${gpu.info.adapter.description || gpu.info.adapter.vendor}; kernel: ${cpuKernels ? 'register blocks' : 'workgroup tiles'}`);
  console.log('| n | median ms | GFLOP/s |\n|---|---|---|');
  for (const n of sizes.length ? sizes : [256, 512, 1024]) {
    const c = selectCases([`matmul:${n}`], cpuKernels)[0] as KernelCase;
    const prepared = prepareKernel(gpu, c);
    const { medianMs } = await measure(() => prepared.step(), DEFAULT_POLICY);
    prepared.dispose();
    console.log(`| ${n} | ${medianMs.toFixed(1)} | ${(c.flops! / (medianMs * 1e6)).toFixed(2)} |`);
  }
  gpu.destroy();
}
