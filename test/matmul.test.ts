import { describe, it } from 'vitest';
import { matmul } from '../src/ops/matmul.js';
import { Tensor } from '../src/tensor/tensor.js';
import { gradCheck, expectClose } from './helpers/check.js';
import { testGpuVariant } from './helpers/gpu.js';
import { randn } from './helpers/random.js';
import { matmulRef } from './helpers/reference.js';

// f32 products summed over K terms of unit-variance inputs: rounding error grows like
// sqrt(K)·2⁻²⁴·|terms|, about 1e-6 at K = 100; 2e-5 + 1e-5·|ref| leaves a 10× margin.
const FORWARD = { atol: 2e-5, rtol: 1e-5 };
// Gradients are themselves matmuls over M or N terms; the f64 central difference is exact to ~1e-9.
const GRAD = { atol: 5e-5, rtol: 1e-4 };

function batchedRef(
  xs: Float64Array[], batch: number, M: number, K: number, N: number, transA: boolean, transB: boolean, sharedB: boolean, bias?: boolean,
): Float64Array {
  const out = new Float64Array(batch * M * N);
  for (let b = 0; b < batch; b++) {
    const A = xs[0].subarray(b * M * K, (b + 1) * M * K);
    const B = sharedB ? xs[1] : xs[1].subarray(b * K * N, (b + 1) * K * N);
    out.set(matmulRef(A, B, M, K, N, transA, transB, bias ? xs[2] : undefined), b * M * N);
  }
  return out;
}

describe('matmul', () => {
  const cases: [string, number, number, number, number, boolean, boolean, boolean, boolean][] = [
    // name, batch, M, K, N, transA, transB, sharedB, bias
    ['square, exact tiles', 1, 64, 16, 64, false, false, false, false],
    ['awkward sizes', 1, 37, 19, 53, false, false, false, true],
    ['size-1 dims', 1, 1, 1, 1, false, false, false, true],
    ['Aᵀ', 2, 17, 23, 9, true, false, false, false],
    ['Bᵀ', 3, 13, 29, 31, false, true, false, true],
    ['Aᵀ Bᵀ', 2, 5, 70, 66, true, true, false, false],
    ['shared B (Linear)', 3, 7, 33, 65, false, false, true, true],
    ['shared Bᵀ (nn.Linear weight)', 2, 70, 20, 11, false, true, true, true],
  ];
  for (const [name, batch, M, K, N, transA, transB, sharedB, bias] of cases) for (const cpu of [false, true]) {
    it(`forward and backward: ${name} (${batch}×${M}×${K}×${N}), ${cpu ? 'register' : 'workgroup-tile'} kernel`, async () => {
      const gpu = await testGpuVariant(cpu);
      const aShape = batch === 1 && !sharedB ? [] : [batch];
      await gradCheck({
        gpu,
        kernel: 'matmul',
        inputs: [
          { shape: [...aShape, ...(transA ? [K, M] : [M, K])] },
          { shape: [...(sharedB ? [] : aShape), ...(transB ? [N, K] : [K, N])] },
          ...(bias ? [{ shape: [N] }] : []),
        ],
        gpuForward: ([a, b, c]) => matmul(a, b, { transA, transB, bias: c }),
        cpuForward: (xs) => batchedRef(xs, batch, M, K, N, transA, transB, sharedB, bias),
        forwardTol: FORWARD,
        gradTol: GRAD,
      });
    });
  }

  for (const cpu of [false, true]) it(`matches the reference on a 1024-long inner dimension, ${cpu ? 'register' : 'workgroup-tile'} kernel`, async () => {
    const gpu = await testGpuVariant(cpu);
    const [M, K, N] = [96, 1024, 80];
    const a = randn(M * K, 3), b = randn(K * N, 4);
    const out = matmul(Tensor.fromArray(gpu, a, [M, K]), Tensor.fromArray(gpu, b, [K, N]));
    // K = 1024 terms: f32 accumulation error ~sqrt(1024)·6e-8·|a·b| ≈ 2e-6·typical magnitude 32.
    expectClose(await out.read(), matmulRef(a, b, M, K, N), { atol: 1e-4, rtol: 1e-5 }, 'matmul', 'forward K=1024');
  });

  for (const cpu of [false, true]) it(`runs more than 65535 batches (the grid is split into chunks), ${cpu ? 'register' : 'workgroup-tile'} kernel`, async () => {
    const gpu = await testGpuVariant(cpu);
    const batch = 70001;
    const a = randn(batch * 2, 5), b = randn(batch * 2, 6);
    const out = matmul(Tensor.fromArray(gpu, a, [batch, 1, 2]), Tensor.fromArray(gpu, b, [batch, 2, 1]));
    const ref = Float64Array.from({ length: batch }, (_, i) => a[2 * i] * b[2 * i] + a[2 * i + 1] * b[2 * i + 1]);
    expectClose(await out.read(), ref, FORWARD, 'matmul', 'forward 70001 batches');
  });
});
