// Square matmul throughput on this machine's adapter, for both kernel variants (workgroup tiles,
// written for GPUs; register blocks, written for CPU adapters): median of repeated runs after a
// warm-up. `node dist/bench/matmul.js [sizes...]` (default 256 512 1024). Each timed run is
// submitted and waited for on its own, so the time includes one queue round trip.
import { Gpu } from '../src/gpu/gpu.js';
import { matmul } from '../src/ops/matmul.js';
import { Tensor } from '../src/tensor/tensor.js';
import { randn } from '../src/util/random.js';

async function medianMs(gpu: Gpu, n: number): Promise<number> {
  const a = Tensor.fromArray(gpu, randn(n * n, 1), [n, n]);
  const b = Tensor.fromArray(gpu, randn(n * n, 2), [n, n]);
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const c = matmul(a, b);
    await gpu.sync();
    times.push(performance.now() - t0);
    c.dispose();
  }
  a.dispose();
  b.dispose();
  // The first two runs compile the pipeline and warm the pool.
  const timed = times.slice(2).sort((x, y) => x - y);
  return timed[Math.floor(timed.length / 2)];
}

const sizes = process.argv.slice(2).map(Number);
for (const cpuKernels of [false, true]) {
  const gpu = await Gpu.create({ cpuKernels });
  console.log(`\nadapter: ${gpu.info.adapter.description || gpu.info.adapter.vendor}; kernel: ${cpuKernels ? 'register blocks' : 'workgroup tiles'}`);
  console.log('| n | median ms | GFLOP/s |\n|---|---|---|');
  for (const n of sizes.length ? sizes : [256, 512, 1024]) {
    const ms = await medianMs(gpu, n);
    console.log(`| ${n} | ${ms.toFixed(1)} | ${((2 * n ** 3) / (ms / 1000) / 1e9).toFixed(2)} |`);
  }
  gpu.destroy();
}
