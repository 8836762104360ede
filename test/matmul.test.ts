import { describe, expect, it } from 'vitest';
import { matmul } from '../src/ops/matmul.js';
import { Tensor } from '../src/tensor/tensor.js';
import { gradCheck, expectClose } from './helpers/check.js';
import { randn } from './helpers/random.js';
import { entriesUsed, KERNEL_VARIANTS, subgroupGpu } from './helpers/subgroups.js';
import { batchedRef, matmulRef } from './reference/matmul.js';

// f32 products summed over K terms of unit-variance inputs: rounding error grows like
// sqrt(K)·2⁻²⁴·|terms|, about 1e-6 at K = 100; 2e-5 + 1e-5·|ref| leaves a 10× margin.
const FORWARD = { atol: 2e-5, rtol: 1e-5 };
// Gradients are themselves matmuls over M or N terms; the f64 central difference is exact to ~1e-9.
const GRAD = { atol: 5e-5, rtol: 1e-4 };

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
    // Shapes the subgroup kernel takes (vec4 along each operand's contiguous dimension), with
    // partial 32×32 tiles, and K not a multiple of 4 where it is not a vec4 dimension (Aᵀ·B).
    ['vec4 A and B, partial tiles', 1, 36, 20, 44, false, false, false, true],
    ['vec4 Aᵀ, K = 19', 2, 12, 19, 8, true, false, false, false],
    ['vec4 Bᵀ', 3, 9, 12, 37, false, true, false, true],
    ['vec4 Aᵀ Bᵀ', 2, 8, 12, 6, true, true, false, false],
    ['vec4 shared B', 3, 5, 8, 40, false, false, true, true],
  ];
  for (const [name, batch, M, K, N, transA, transB, sharedB, bias] of cases) for (const variant of KERNEL_VARIANTS) {
    it(`forward and backward: ${name} (${batch}×${M}×${K}×${N}), ${variant.name} kernel`, async ({ skip }) => {
      const gpu = await variant.gpu();
      if (!gpu) return skip('this adapter has no subgroups');
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

  for (const variant of KERNEL_VARIANTS) it(`matches the reference on a 1024-long inner dimension, ${variant.name} kernel`, async ({ skip }) => {
    const gpu = await variant.gpu();
    if (!gpu) return skip('this adapter has no subgroups');
    const [M, K, N] = [96, 1024, 80];
    const a = randn(M * K, 3), b = randn(K * N, 4);
    const out = matmul(Tensor.fromArray(gpu, a, [M, K]), Tensor.fromArray(gpu, b, [K, N]));
    // K = 1024 terms: f32 accumulation error ~sqrt(1024)·6e-8·|a·b| ≈ 2e-6·typical magnitude 32.
    expectClose(await out.read(), matmulRef(a, b, M, K, N), { atol: 1e-4, rtol: 1e-5 }, 'matmul', 'forward K=1024');
  });

  for (const variant of KERNEL_VARIANTS) it(`runs more than 65535 batches (the grid is split into chunks), ${variant.name} kernel`, async ({ skip }) => {
    const gpu = await variant.gpu();
    if (!gpu) return skip('this adapter has no subgroups');
    // [1×4]·[4×4] per batch: vec4 rows of A and B, so the subgroup kernel takes it.
    const batch = 70001;
    const a = randn(batch * 4, 5), b = randn(batch * 16, 6);
    const out = matmul(Tensor.fromArray(gpu, a, [batch, 1, 4]), Tensor.fromArray(gpu, b, [batch, 4, 4]));
    const ref = new Float64Array(batch * 4);
    for (let i = 0; i < batch; i++) {
      for (let n = 0; n < 4; n++) for (let k = 0; k < 4; k++) ref[4 * i + n] += a[4 * i + k] * b[16 * i + 4 * k + n];
    }
    expectClose(await out.read(), ref, FORWARD, 'matmul', 'forward 70001 batches');
  });

  it('takes the subgroup kernel for vec4 shapes and the register kernel for others', async ({ skip }) => {
    const gpu = await subgroupGpu();
    if (!gpu) return skip('this adapter has no subgroups');
    const run = (M: number, K: number, N: number, transB: boolean) => entriesUsed(gpu, async () => {
      const a = Tensor.fromArray(gpu, randn(M * K, 1), [M, K]);
      const b = Tensor.fromArray(gpu, randn(K * N, 2), transB ? [N, K] : [K, N]);
      const c = matmul(a, b, { transB });
      await c.read();
      [a, b, c].forEach((t) => t.dispose());
    });
    expect(await run(8, 12, 20, false)).toEqual(['matmul_subgroups']);
    expect(await run(8, 12, 7, true)).toEqual(['matmul_subgroups']);
    expect(await run(8, 12, 7, false)).toEqual(['matmul_cpu']);
    expect(await run(8, 13, 8, true)).toEqual(['matmul_cpu']);
  });
});
