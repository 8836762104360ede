// Square matmul throughput on this machine's adapter, for both kernel variants (workgroup tiles,
// written for GPUs; register blocks, written for CPU adapters): median of repeated runs after a
// warm-up. `node dist/bench/matmul.js [sizes...]` (default 256 512 1024). Each timed run is
// submitted and waited for on its own, so the time includes one queue round trip.
import { Gpu } from '../src/gpu/gpu.js';
import { matmul } from '../src/ops/matmul.js';
import { Tensor } from '../src/tensor/tensor.js';
import { randn } from '../src/util/random.js';

const sizes = process.argv.slice(2).map(Number);
for (const cpuKernels of [false, true]) {
const gpu = await Gpu.create({ cpuKernels });
const variant = cpuKernels ? 'register blocks' : 'workgroup tiles';
console.log(`adapter: ${gpu.info.adapter.description || gpu.info.adapter.vendor}; kernel: ${variant}`);
console.log('| n | median ms | GFLOP/s |\n|---|---|---|');
for (const n of sizes.length ? sizes : [256, 512, 1024]) {
  const a = Tensor.fromArray(gpu, randn(n * n, 1), [n, n]);
  const b = Tensor.fromArray(gpu, randn(n * n, 2), [n, n]);
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const c = matmul(a, b);
    await gpu.sync();
    const ms = performance.now() - t0;
    c.dispose();
    if (i >= 2) times.push(ms); // the first runs compile the pipeline and warm the pool
  }
  times.sort((x, y) => x - y);
  const ms = times[Math.floor(times.length / 2)];
  console.log(`| ${n} | ${ms.toFixed(1)} | ${((2 * n ** 3) / (ms / 1000) / 1e9).toFixed(2)} |`);
  a.dispose();
  b.dispose();
}
gpu.destroy();
}
