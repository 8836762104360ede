import { describe, expect, it } from 'vitest';
import { layerNorm } from '../src/ops/layernorm.js';
import { backward, noGrad } from '../src/autograd/tape.js';
import { scope } from '../src/tensor/scope.js';
import { Tensor } from '../src/tensor/tensor.js';
import { gradCheck, expectClose } from './helpers/check.js';
import { testGpu, testGpuVariant } from './helpers/gpu.js';
import { randn, uniform } from './helpers/random.js';
import { layerNormRef } from './reference/layernorm.js';

// Outputs of order 1-3: mean and variance are tree sums over ≤ 300 terms (~8 roundings each), so
// x̂ is good to a few 2⁻²⁴ relative; then one multiply-add by weight and bias.
const FORWARD = { atol: 1e-6, rtol: 1e-6 };
// dx needs two more row reductions, dweight/dbias column sums over ≤ 14 rows; the f64 central
// differences are exact to ~1e-9 at these steps.
const GRAD = { atol: 2e-6, rtol: 1e-5 };

/** The GPU kernels (a workgroup per row, tree sums) or the CPU-adapter ones (an invocation per row). */
const variant = (cpu: boolean) => (cpu ? 'row-per-invocation' : 'workgroup-per-row');

describe('layerNorm', () => {
  const cases: [string, number[], number][] = [
    // name, x shape, eps
    ['C = 1 (output is the bias)', [4, 1], 1e-5],
    ['C = 5, 14 rows', [2, 7, 5], 1e-5],
    ['C = 64', [10, 64], 1e-6],
    ['C = 300 (loops past the workgroup)', [3, 4, 300], 1e-12],
  ];
  for (const [name, shape, eps] of cases) for (const cpu of [false, true]) {
    it(`forward and backward: ${name} [${shape}], eps ${eps}, ${variant(cpu)} kernels`, async () => {
      const C = shape[shape.length - 1];
      await gradCheck({
        gpu: await testGpuVariant(cpu),
        kernel: 'layerNorm',
        inputs: [{ shape }, { shape: [C] }, { shape: [C] }],
        gpuForward: ([x, w, b]) => layerNorm(x, w, b, eps),
        cpuForward: (xs) => layerNormRef(xs, C, eps),
        forwardTol: FORWARD,
        gradTol: GRAD,
      });
    });
  }

  // Rows whose variance is about eps, so a wrong or rounded-away eps would show at once.
  for (const eps of [1e-6, 1e-5, 1e-12]) for (const cpu of [false, true]) {
    it(`applies eps ${eps} exactly (row variance ≈ eps), ${variant(cpu)} kernels`, async () => {
      const [rows, C] = [9, 37];
      const sigma = Math.sqrt(eps);
      const x = randn(rows * C, 17, sigma);
      await gradCheck({
        gpu: await testGpuVariant(cpu),
        kernel: 'layerNorm (var ≈ eps)',
        // weight and bias gradients are checked above; here the step is sized for x's scale.
        inputs: [{ shape: [rows, C], data: x }, { shape: [C], grad: false }, { shape: [C], grad: false }],
        gpuForward: ([xt, w, b]) => layerNorm(xt, w, b, eps),
        cpuForward: (xs) => layerNormRef(xs, C, eps),
        forwardTol: FORWARD,
        // dx is of order 1/σ: the same relative accuracy as above.
        gradTol: { atol: 2e-6 / sigma, rtol: 1e-5 },
        step: 1e-5 * sigma,
      });
    });
  }

  // More than 65535 workgroups: a workgroup per row on a GPU, 8 rows per workgroup on a CPU adapter.
  for (const cpu of [false, true]) it(`runs more than 65535 workgroups (split grid), ${variant(cpu)} kernels`, async () => {
    const gpu = await testGpuVariant(cpu);
    const [rows, C] = [cpu ? 8 * 65600 : 65600, 2];
    // Each row is (u, 2 + v) with u, v uniform in [0, 1): two close values would make x − mean
    // ill-conditioned in f32, and this test is about indexing.
    const data = [uniform(rows * C, 1, 0, 1).map((v, i) => v + 2 * (i % 2)), randn(C, 2), randn(C, 3)];
    const [x, w, b] = data.map((d, i) => Tensor.fromArray(gpu, d, i === 0 ? [rows, C] : [C]));
    const y = layerNorm(x, w, b, 1e-5);
    const ref = layerNormRef(data.map((d) => Float64Array.from(d)), C, 1e-5);
    expectClose(await y.read(), ref, FORWARD, 'layerNorm', `forward ${rows} rows`);
    for (const t of [x, w, b, y]) t.dispose();
  });

  it('frees mean and rstd with and without recording', async () => {
    const gpu = await testGpu();
    const before = gpu.memory().liveBuffers;
    const x = Tensor.fromArray(gpu, randn(24, 4), [4, 6]);
    const w = Tensor.fromArray(gpu, randn(6, 5), [6]);
    const b = Tensor.fromArray(gpu, randn(6, 6), [6]);
    x.requiresGrad = true;
    scope(() => {
      noGrad(() => layerNorm(x, w, b, 1e-5));
    });
    scope(() => {
      const y = layerNorm(x, w, b, 1e-5);
      backward(y, Tensor.fromArray(gpu, randn(24, 7), y.shape));
    });
    expect(x.grad).not.toBeNull();
    for (const t of [x, w, b]) t.dispose();
    expect(gpu.memory().liveBuffers).toBe(before);
  });

  it('rejects mismatched weight / bias and a bad eps', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, new Float32Array(6), [2, 3]);
    const w3 = Tensor.fromArray(gpu, new Float32Array(3), [3]);
    const w2 = Tensor.fromArray(gpu, new Float32Array(2), [2]);
    expect(() => layerNorm(x, w2, w3, 1e-5)).toThrow(/layerNorm: weight must be \[3\] for x \[2, 3\], got \[2\]/);
    expect(() => layerNorm(x, w3, w2, 1e-5)).toThrow(/layerNorm: bias must be \[3\]/);
    expect(() => layerNorm(x, w3, w3, -1)).toThrow(/layerNorm: eps must be a finite number >= 0/);
    for (const t of [x, w3, w2]) t.dispose();
  });
});
