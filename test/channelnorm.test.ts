import { describe, expect, it } from 'vitest';
import { batchNorm2d, instanceNorm2d, type BatchNormState } from '../src/ops/channelnorm.js';
import { backward } from '../src/autograd/tape.js';
import { Tensor } from '../src/tensor/tensor.js';
import { gradCheck, expectClose } from './helpers/check.js';
import { testGpu, testGpuVariant } from './helpers/gpu.js';
import { randn, uniform } from './helpers/random.js';
import { type Stats, statsRef, normalizeRef, instanceNormGradRef } from './reference/channelnorm.js';

// x̂ = (x − mean)·invStd with the mean and variance summed in f32 over ≤ 646 values: relative
// errors of a few 1e-7, times |x̂·weight| ≲ 10.
const FORWARD = { atol: 2e-6, rtol: 1e-6 };
// Gradients come from the same f32 sums and cancel in dy − mean(dy) − x̂·mean(dy·x̂); the smooth
// f64 central difference is exact to ~1e-9. Weight and bias gradients sum ≤ 646 terms (|sum| ≲ 30).
const GRAD = { atol: 2e-6, rtol: 2e-6 };

/** The elementwise kernels: one invocation per element (GPU) or per run of a plane (CPU adapter). */
const variant = (cpu: boolean) => (cpu ? 'run-per-invocation' : 'element-per-invocation');

function freshState(gpu: Awaited<ReturnType<typeof testGpu>>, mean: ArrayLike<number>, variance: ArrayLike<number>): BatchNormState {
  return { runningMean: Tensor.fromArray(gpu, mean, [mean.length]), runningVar: Tensor.fromArray(gpu, variance, [variance.length]) };
}

describe('batchNorm2d', () => {
  const shapes = [[2, 3, 4, 5], [2, 3, 17, 19], [1, 1, 1, 2], [4, 2, 1, 1], [3, 1, 9, 11]];
  for (const shape of shapes) for (const cpu of [false, true]) {
    const [B, C, H, W] = shape;

    it(`training: forward, backward and running statistics, [${shape.join(', ')}], ${variant(cpu)} kernels`, async () => {
      const gpu = await testGpuVariant(cpu);
      const mean0 = randn(C, 3), var0 = uniform(C, 4, 0.5, 2);
      const state = freshState(gpu, mean0, var0);
      // With two values per channel the x gradient is the small remainder of a cancellation that
      // grows with invStd (for any f32 implementation, PyTorch's included), so that case gets two
      // well-separated values rather than a random draw that may land close together.
      const xs = B * H * W === 2 ? Float32Array.from([0.3, -0.9]) : randn(B * C * H * W, B + C);
      await gradCheck({
        gpu,
        kernel: 'batchNorm2d',
        inputs: [{ shape, data: xs }, { shape: [C] }, { shape: [C] }],
        gpuForward: ([x, w, b]) => batchNorm2d(x, w, b, state, { training: true }),
        cpuForward: ([x, w, b]) => normalizeRef(x, B, C, H * W, statsRef(x, B, C, H * W), 1e-5, w, b),
        forwardTol: FORWARD,
        gradTol: GRAD,
      });
      const n = B * H * W;
      const s = statsRef(xs, B, C, H * W);
      const m = 0.1;
      // One momentum step in f32: a few ulp of values ≲ 3.
      const RUNNING = { atol: 1e-6, rtol: 1e-6 };
      const expectedMean = Array.from(mean0, (r, c) => (1 - m) * r + m * s.mean[c]);
      const expectedVar = Array.from(var0, (r, c) => (1 - m) * r + (m * s.variance[c] * n) / (n - 1));
      expectClose(await state.runningMean.read(), expectedMean, RUNNING, 'batchNorm2d', 'running mean');
      expectClose(await state.runningVar.read(), expectedVar, RUNNING, 'batchNorm2d', 'running var (unbiased)');
      state.runningMean.dispose();
      state.runningVar.dispose();
    });

    it(`eval: forward and backward with the running statistics, [${shape.join(', ')}], ${variant(cpu)} kernels`, async () => {
      const gpu = await testGpuVariant(cpu);
      const running: Stats = { mean: Float64Array.from(randn(C, 5)), variance: Float64Array.from(uniform(C, 6, 0.5, 2)) };
      const state = freshState(gpu, running.mean, running.variance);
      await gradCheck({
        gpu,
        kernel: 'batchNorm2d (eval)',
        inputs: [{ shape }, { shape: [C] }, { shape: [C] }],
        gpuForward: ([x, w, b]) => batchNorm2d(x, w, b, state, { training: false }),
        cpuForward: ([x, w, b]) => normalizeRef(x, B, C, H * W, running, 1e-5, w, b),
        forwardTol: FORWARD,
        gradTol: GRAD,
      });
      // Eval mode leaves the running statistics alone.
      expect(Array.from(await state.runningMean.read())).toEqual(Array.from(Float32Array.from(running.mean)));
      expect(Array.from(await state.runningVar.read())).toEqual(Array.from(Float32Array.from(running.variance)));
      state.runningMean.dispose();
      state.runningVar.dispose();
    });
  }

  // The ReLU fused into the normalising pass (ConvModule): the reference is max(·, 0) of the
  // unfused one; the gradient is masked where the output is 0. Same tolerances: the ReLU adds no
  // rounding. (The random draws put no output within the finite-difference step of the kink.)
  for (const shape of [[2, 3, 4, 5], [2, 3, 17, 19]]) for (const training of [true, false]) for (const cpu of [false, true]) {
    const [B, C, H, W] = shape;
    it(`with ReLU, ${training ? 'training' : 'eval'}: forward and backward, [${shape.join(', ')}], ${variant(cpu)} kernels`, async () => {
      const gpu = await testGpuVariant(cpu);
      const running: Stats = { mean: Float64Array.from(randn(C, 5)), variance: Float64Array.from(uniform(C, 6, 0.5, 2)) };
      const state = freshState(gpu, running.mean, running.variance);
      await gradCheck({
        gpu,
        kernel: 'batchNorm2d + ReLU',
        inputs: [{ shape }, { shape: [C] }, { shape: [C] }],
        gpuForward: ([x, w, b]) => batchNorm2d(x, w, b, state, { training, relu: true }),
        cpuForward: ([x, w, b]) => {
          const stats = training ? statsRef(x, B, C, H * W) : running;
          return normalizeRef(x, B, C, H * W, stats, 1e-5, w, b).map((v) => Math.max(v, 0));
        },
        forwardTol: FORWARD,
        gradTol: GRAD,
      });
      state.runningMean.dispose();
      state.runningVar.dispose();
    });
  }

  // 2 × 262145 planes of one pixel: the CPU adapter's kernels run one invocation per plane, 8 to a
  // workgroup, so their grid passes 65535 workgroups too. Eval mode keeps the reference short.
  for (const cpu of [false, true]) it(`runs 524290 planes (grids past 65535 workgroups), ${variant(cpu)} kernels`, async () => {
    const gpu = await testGpuVariant(cpu);
    const [B, C] = [262145, 2];
    const xs = uniform(B * C, 11, -2, 2);
    const running: Stats = { mean: Float64Array.from([0.5, -1]), variance: Float64Array.from([2, 0.25]) };
    const state = freshState(gpu, running.mean, running.variance);
    const [w, b] = [[1.5, -0.5], [0.25, 2]];
    const x = Tensor.fromArray(gpu, xs, [B, C, 1, 1]);
    x.requiresGrad = true;
    const [wt, bt] = [Tensor.fromArray(gpu, w, [C]), Tensor.fromArray(gpu, b, [C])];
    const y = batchNorm2d(x, wt, bt, state, { training: false });
    expectClose(await y.read(), normalizeRef(xs, B, C, 1, running, 1e-5, w, b), FORWARD, 'batchNorm2d (eval)', 'forward 524290 planes');
    const g = uniform(xs.length, 12, -2, 2);
    const gT = Tensor.fromArray(gpu, g, y.shape);
    backward(y, gT);
    const dx = Float64Array.from(g, (v, i) => (v * w[i % C]) / Math.sqrt(running.variance[i % C] + 1e-5));
    expectClose(await x.grad!.read(), dx, GRAD, 'batchNorm2d (eval)', 'grad 524290 planes');
    for (const t of [x, wt, bt, y, gT, state.runningMean, state.runningVar]) t.dispose();
  });

  it('uses the given momentum and eps', async () => {
    const gpu = await testGpu();
    const [B, C, H, W] = [2, 2, 3, 3];
    const state = freshState(gpu, [0, 0], [1, 1]);
    const xs = randn(B * C * H * W, 7, 3);
    const w = Tensor.fromArray(gpu, [1, 1], [C]);
    const b = Tensor.fromArray(gpu, [0, 0], [C]);
    const y = batchNorm2d(Tensor.fromArray(gpu, xs, [B, C, H, W]), w, b, state, { training: true, momentum: 0.5, eps: 0.25 });
    const s = statsRef(xs, B, C, H * W);
    expectClose(await y.read(), normalizeRef(xs, B, C, H * W, s, 0.25), FORWARD, 'batchNorm2d', 'forward eps 0.25');
    expectClose(await state.runningMean.read(), s.mean.map((v) => 0.5 * v), { atol: 1e-6, rtol: 1e-6 }, 'batchNorm2d', 'running mean');
  });

  it('leaves no GPU buffer behind, with and without recording, in both modes and with the ReLU', async () => {
    const gpu = await testGpu();
    const [B, C, H, W] = [2, 3, 4, 5];
    const state = freshState(gpu, [0, 0, 0], [1, 1, 1]);
    const x = Tensor.fromArray(gpu, randn(B * C * H * W, 11), [B, C, H, W]);
    const w = Tensor.fromArray(gpu, randn(C, 12), [C]);
    const b = Tensor.fromArray(gpu, randn(C, 13), [C]);
    const before = gpu.memory().liveBuffers;
    for (const [training, relu] of [[true, false], [false, false], [true, true]]) {
      batchNorm2d(x, w, b, state, { training, relu }).dispose();
      for (const t of [x, w, b]) t.requiresGrad = true;
      const y = batchNorm2d(x, w, b, state, { training, relu });
      const g = Tensor.fromArray(gpu, randn(y.size, 14), y.shape);
      backward(y, g);
      for (const t of [y, g, x.grad!, w.grad!, b.grad!]) t.dispose();
      for (const t of [x, w, b]) {
        t.grad = null;
        t.requiresGrad = false;
      }
    }
    expect(gpu.memory().liveBuffers).toBe(before);
  });

  it('rejects mismatched parameters and a single value per channel in training', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, randn(6, 8), [1, 3, 1, 2]);
    const c3 = Tensor.fromArray(gpu, [1, 1, 1], [3]);
    const c2 = Tensor.fromArray(gpu, [1, 1], [2]);
    const state = { runningMean: c3, runningVar: c3 };
    expect(() => batchNorm2d(x, c2, c3, state, { training: true })).toThrow(/batchNorm2d: weight must be \[3\] for x \[1, 3, 1, 2\], got \[2\]/);
    expect(() => batchNorm2d(x, c3, c3, { runningMean: c3, runningVar: c2 }, { training: false })).toThrow(/batchNorm2d: runningVar must be \[3\]/);
    const single = Tensor.fromArray(gpu, [1, 2, 3], [1, 3, 1, 1]);
    expect(() => batchNorm2d(single, c3, c3, state, { training: true })).toThrow(/batchNorm2d: training needs more than one value per channel/);
  });
});

describe('instanceNorm2d', () => {
  const shapes = [[2, 3, 4, 5], [2, 3, 17, 19], [1, 1, 1, 2], [1, 2, 16, 17], [3, 1, 5, 1]];
  for (const shape of shapes) for (const cpu of [false, true]) {
    it(`forward and backward, [${shape.join(', ')}], ${variant(cpu)} kernels`, async () => {
      const gpu = await testGpuVariant(cpu);
      const [B, C, H, W] = shape;
      await gradCheck({
        gpu,
        kernel: 'instanceNorm2d',
        inputs: [{ shape }],
        gpuForward: ([x]) => instanceNorm2d(x),
        cpuForward: ([x]) => normalizeRef(x, 1, B * C, H * W, statsRef(x, 1, B * C, H * W), 1e-5),
        forwardTol: FORWARD,
        gradTol: GRAD,
      });
    });
  }

  it('runs grids of more than 65535 workgroups (70000 groups, 16.8M elements)', async () => {
    const gpu = await testGpu();
    const [C, H, W] = [70000, 16, 15];
    // Uniform values (cheaper to draw than normal ones at this size).
    const xs = uniform(C * H * W, 9, -2, 2);
    const x = Tensor.fromArray(gpu, xs, [1, C, H, W]);
    x.requiresGrad = true;
    const y = instanceNorm2d(x);
    expectClose(await y.read(), normalizeRef(xs, 1, C, H * W, statsRef(xs, 1, C, H * W), 1e-5), FORWARD, 'instanceNorm2d', 'forward 70000 groups');
    const g = uniform(xs.length, 10, -2, 2);
    const gT = Tensor.fromArray(gpu, g, y.shape);
    backward(y, gT);
    y.dispose();
    gT.dispose();
    expectClose(await x.grad!.read(), instanceNormGradRef(xs, g, C, H * W, 1e-5), GRAD, 'instanceNorm2d', 'grad 70000 groups');
    x.dispose();
  });

  it('leaves no GPU buffer behind after forward and backward', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, randn(2 * 3 * 4 * 5, 15), [2, 3, 4, 5]);
    const before = gpu.memory().liveBuffers;
    instanceNorm2d(x).dispose();
    x.requiresGrad = true;
    const y = instanceNorm2d(x);
    const g = Tensor.fromArray(gpu, randn(y.size, 16), y.shape);
    backward(y, g);
    for (const t of [y, g, x.grad!]) t.dispose();
    x.grad = null;
    expect(gpu.memory().liveBuffers).toBe(before);
  });

  it('rejects a single spatial element', async () => {
    const gpu = await testGpu();
    expect(() => instanceNorm2d(Tensor.fromArray(gpu, [1, 2], [2, 1, 1, 1]))).toThrow(/instanceNorm2d: needs more than one spatial element, got x \[2, 1, 1, 1\]/);
  });
});
