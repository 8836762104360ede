import { describe, expect, it } from 'vitest';
import { upsampleBilinear } from '../src/ops/resample.js';
import { backward } from '../src/autograd/tape.js';
import { Tensor } from '../src/tensor/tensor.js';
import { gradCheck, expectClose } from './helpers/check.js';
import { testGpu, testGpuVariant } from './helpers/gpu.js';
import { randn } from './helpers/random.js';
import { bilinearRef, bilinearGradRef } from './reference/resample.js';

// Outputs are 4-tap convex combinations of the inputs summed in f32 (coordinates are modelled in
// f32 by the reference): a few ulp of max|x| ≈ 4, i.e. under 1e-6.
const FORWARD = { atol: 1e-6, rtol: 5e-7 };
// Each input gradient sums up to (2·ratio + 2)² ≈ 150 weighted terms in f32 (~1e-6 at |grad| ≈ 5);
// the function is linear, so the f64 central difference is exact to ~1e-10.
const GRAD = { atol: 3e-6, rtol: 2e-6 };

/** The GPU kernels (an invocation per pixel) or the CPU adapters' (an invocation per row). */
const variant = (cpu: boolean) => (cpu ? 'row-per-invocation kernels' : 'pixel-per-invocation kernels');

describe('upsampleBilinear', () => {
  for (const cpu of [false, true]) it(`reproduces PyTorch on a hand-computed case (2×2 -> 4×4), ${variant(cpu)}`, async () => {
    const gpu = await testGpuVariant(cpu);
    // align_corners=False, scale 0.5: rows read (0, 0, 0.25, 0.75) of the way from row 0 to row 1.
    const y = await upsampleBilinear(Tensor.fromArray(gpu, [0, 1, 2, 3], [1, 1, 2, 2]), [4, 4]).read();
    const row = (a: number, b: number) => [a, a + 0.25 * (b - a), a + 0.75 * (b - a), b];
    expect(Array.from(y)).toEqual([...row(0, 1), ...row(0.5, 1.5), ...row(1.5, 2.5), ...row(2, 3)]);
  });

  const cases: [string, number[], [number, number]][] = [
    ['up ×2 (3×5 -> 6×10)', [2, 3, 3, 5], [6, 10]],
    ['down and up, non-integer ratios (4×4 -> 3×7)', [1, 2, 4, 4], [3, 7]],
    ['from one pixel (1×1 -> 2×2)', [2, 1, 1, 1], [2, 2]],
    ['identity (5×5 -> 5×5)', [1, 2, 5, 5], [5, 5]],
    ['down, non-integer (7×9 -> 3×4)', [1, 1, 7, 9], [3, 4]],
    ['up ×5.33 (3×3 -> 16×16)', [1, 1, 3, 3], [16, 16]],
    ['to a single row and column (2×3 -> 1×13)', [1, 2, 2, 3], [1, 13]],
  ];
  for (const [name, shape, size] of cases) for (const cpu of [false, true]) {
    it(`forward and backward: ${name}, ${variant(cpu)}`, async () => {
      const gpu = await testGpuVariant(cpu);
      const [B, C, H, W] = shape;
      await gradCheck({
        gpu,
        kernel: 'upsampleBilinear',
        inputs: [{ shape }],
        gpuForward: ([x]) => upsampleBilinear(x, size),
        cpuForward: ([x]) => bilinearRef(x, B * C, H, W, size[0], size[1]),
        forwardTol: FORWARD,
        gradTol: GRAD,
      });
    });
  }

  it('runs grids of more than 65535 workgroups (4097² outputs, then 4097² input gradients)', async () => {
    const gpu = await testGpu();
    const up = randn(64 * 64, 11);
    const y = upsampleBilinear(Tensor.fromArray(gpu, up, [1, 1, 64, 64]), [4097, 4097]);
    expectClose(await y.read(), bilinearRef(up, 1, 64, 64, 4097, 4097), FORWARD, 'upsampleBilinear', 'forward 64² -> 4097²');
    y.dispose();

    const x = Tensor.fromArray(gpu, new Float32Array(4097 * 4097), [1, 1, 4097, 4097]);
    x.requiresGrad = true;
    const g = randn(9, 12);
    const out = upsampleBilinear(x, [3, 3]);
    const gT = Tensor.fromArray(gpu, g, [1, 1, 3, 3]);
    backward(out, gT);
    out.dispose();
    gT.dispose();
    expectClose(await x.grad!.read(), bilinearGradRef(g, 1, 4097, 4097, 3, 3), GRAD, 'upsampleBilinear', 'grad 4097² -> 3²');
    x.dispose();
  });

  // 524290 planes of one row: the CPU adapters' forward (8 rows to a workgroup) passes 65535 workgroups.
  for (const cpu of [false, true]) it(`runs 524290 one-row planes (1×1 -> 1×2 and back), ${variant(cpu)}`, async () => {
    const gpu = await testGpuVariant(cpu);
    const planes = 524290;
    const xs = randn(planes, 13);
    const x = Tensor.fromArray(gpu, xs, [1, planes, 1, 1]);
    x.requiresGrad = true;
    const y = upsampleBilinear(x, [1, 2]);
    expectClose(await y.read(), bilinearRef(xs, planes, 1, 1, 1, 2), FORWARD, 'upsampleBilinear', `forward ${planes} planes`);
    const g = randn(2 * planes, 14);
    const gT = Tensor.fromArray(gpu, g, y.shape);
    backward(y, gT);
    expectClose(await x.grad!.read(), bilinearGradRef(g, planes, 1, 1, 1, 2), GRAD, 'upsampleBilinear', `grad ${planes} planes`);
    for (const t of [x, y, gT]) t.dispose();
  });

  it('leaves no GPU buffer behind after forward and backward', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, randn(2 * 3 * 4 * 5, 13), [2, 3, 4, 5]);
    x.requiresGrad = true;
    const before = gpu.memory().liveBuffers;
    const y = upsampleBilinear(x, [7, 3]);
    const g = Tensor.fromArray(gpu, randn(y.size, 14), y.shape);
    backward(y, g);
    for (const t of [y, g, x.grad!]) t.dispose();
    x.grad = null;
    expect(gpu.memory().liveBuffers).toBe(before);
    x.dispose();
  });

  it('rejects bad arguments with the op and shapes in the message', async () => {
    const gpu = await testGpu();
    const x3 = Tensor.fromArray(gpu, [1, 2, 3], [1, 1, 3]);
    expect(() => upsampleBilinear(x3, [2, 2])).toThrow(/upsampleBilinear: x must be .*\[1, 1, 3\]/);
    const x4 = Tensor.fromArray(gpu, [1, 2, 3, 4], [1, 1, 2, 2]);
    expect(() => upsampleBilinear(x4, [0, 2])).toThrow(/upsampleBilinear: size .*\[0, 2\]/);
    expect(() => upsampleBilinear(x4, [2.5, 2])).toThrow(/upsampleBilinear: size/);
  });
});
