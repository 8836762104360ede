import { describe, expect, it } from 'vitest';
import { conv2d, convTranspose2d, patchEmbed3d } from '../src/ops/conv.js';
import { backward } from '../src/autograd/tape.js';
import { scope } from '../src/tensor/scope.js';
import type { Gpu } from '../src/gpu/gpu.js';
import { Tensor } from '../src/tensor/tensor.js';
import { gradCheck, expectClose } from './helpers/check.js';
import { testGpu, testGpuVariant } from './helpers/gpu.js';
import { KERNEL_VARIANTS, kernelsUsed, subgroupGpu } from './helpers/subgroups.js';
import { randn } from './helpers/random.js';
import { conv2dGradRef, conv2dRef, convTransposeRef, patchEmbedRef } from './reference/conv.js';

// Forward sums of unit-variance products over up to C·kh·kw = 153 terms: f32 rounding grows like
// sqrt(K)·2⁻²⁴·|partial sums|, ~1e-6 here (measured ≤ 3e-7 of the output's scale); 10× margin.
const FORWARD = { atol: 1e-5, rtol: 1e-5 };
// Gradient sums run longer (630 terms for the 70-channel input gradient, 1200 split rows for a
// weight gradient); the f64 central difference of a function linear in each input is exact to ~1e-9.
const GRAD = { atol: 2e-5, rtol: 2e-5 };

describe('conv2d', () => {
  const cases: [string, number[], number, number, number, number, boolean][] = [
    // name, [B, C, H, W], O, kh, kw, padding, bias
    ['size-1 dims, 3×3 pad 1', [1, 1, 1, 1], 1, 3, 3, 1, true],
    ['3×3 pad 1', [2, 3, 5, 7], 4, 3, 3, 1, true],
    ['1×1', [1, 5, 6, 6], 3, 1, 1, 0, true],
    ['3×3, C·9 = 153 reduction, no bias', [1, 17, 9, 10], 19, 3, 3, 1, false],
    ['70 output channels (two row tiles)', [1, 2, 3, 3], 70, 3, 3, 1, true],
    ['2×3 kernel, no padding', [2, 2, 4, 5], 3, 2, 3, 0, true],
    ['1×1 padding 1 (input gradient crops)', [1, 2, 3, 4], 3, 1, 1, 1, true],
    ['weight gradient split over 1200 rows', [2, 1, 20, 30], 2, 3, 3, 1, true],
    // Neither 17 channels nor 81 taps fill the register kernels' 16 × 64 blocks; their weight
    // gradient splits the 15 output rows into chunks of 2 (the last one short).
    ['17 channels, 81 taps, 15 rows in chunks', [3, 9, 5, 6], 17, 3, 3, 1, true],
  ];
  for (const [name, xShape, O, KH, KW, pad, bias] of cases) for (const variant of KERNEL_VARIANTS) {
    it(`forward and backward: ${name} (${xShape.join('×')} → ${O}), ${variant.name} kernel`, async ({ skip }) => {
      const gpu = (await variant.gpu()) ?? skip('this adapter has no subgroups');
      await gradCheck({
        gpu,
        kernel: 'conv2d',
        inputs: [{ shape: xShape }, { shape: [O, xShape[1], KH, KW] }, ...(bias ? [{ shape: [O] }] : [])],
        gpuForward: ([x, w, b]) => conv2d(x, w, b, { padding: pad }),
        cpuForward: ([x, w, b]) => conv2dRef(x, w, b, xShape, [O, KH, KW], pad),
        forwardTol: FORWARD,
        gradTol: GRAD,
      });
    });
  }

  for (const variant of KERNEL_VARIANTS) it(`matches the reference at 1×32×32×32 → 32, 3×3 pad 1, forward and all gradients, ${variant.name} kernel`, async ({ skip }) => {
    const gpu = (await variant.gpu()) ?? skip('this adapter has no subgroups');
    const xShape = [1, 32, 32, 32], O = 32;
    const x = randn(32 * 32 * 32, 11), w = randn(O * 32 * 9, 12, 0.1), b = randn(O, 13), g = randn(O * 32 * 32, 14);
    const [xt, wt, bt] = [Tensor.fromArray(gpu, x, xShape), Tensor.fromArray(gpu, w, [O, 32, 3, 3]), Tensor.fromArray(gpu, b, [O])];
    for (const t of [xt, wt, bt]) t.requiresGrad = true;
    const out = conv2d(xt, wt, bt, { padding: 1 });
    // 288-term sums of N(0, 0.1²)·N(0, 1) products, partial sums ~1.7: f32 error ~sqrt(288)·6e-8·1.7 ≈ 2e-6
    // typical; the largest of 32768 outputs is a few times that.
    const short = { atol: 1e-5, rtol: 1e-5 };
    expectClose(await out.read(), conv2dRef(Float64Array.from(x), Float64Array.from(w), Float64Array.from(b), xShape, [O, 3, 3], 1),
      short, 'conv2d', 'forward 1×32×32×32→32');
    const gt = Tensor.fromArray(gpu, g, out.shape);
    backward(out, gt);
    const ref = conv2dGradRef(x, w, g, xShape, [O, 3, 3], 1);
    // dx sums 288 terms like the forward; dW and db sum 1024 unit products (dW in 4 split chunks),
    // partial sums ~32: ~sqrt(1024)·6e-8·32 ≈ 6e-5.
    const long = { atol: 1e-4, rtol: 1e-5 };
    expectClose(await xt.grad!.read(), ref.dx, short, 'conv2d', 'grad x 1×32×32×32→32');
    expectClose(await wt.grad!.read(), ref.dw, long, 'conv2d', 'grad weight 1×32×32×32→32');
    expectClose(await bt.grad!.read(), ref.db, long, 'conv2d', 'grad bias 1×32×32×32→32');
    for (const t of [xt, wt, bt, out, gt]) t.dispose();
  });

  it('runs its GEMMs from conv-subgroups.wgsl on a CPU adapter with subgroups, from conv.wgsl without', async ({ skip }) => {
    const run = async (gpu: Gpu) => kernelsUsed(gpu, async () => {
      const x = Tensor.fromArray(gpu, randn(2 * 3 * 5 * 5, 31), [2, 3, 5, 5]);
      const w = Tensor.fromArray(gpu, randn(4 * 3 * 9, 32), [4, 3, 3, 3]);
      for (const t of [x, w]) t.requiresGrad = true;
      const out = conv2d(x, w, undefined, { padding: 1 });
      backward(out, Tensor.fromArray(gpu, randn(out.size, 33), out.shape));
      await x.grad!.read();
      for (const t of [x, w, out, x.grad!, w.grad!]) t.dispose();
    });
    const gemms = (kernels: string[]) => kernels.filter((k) => k.endsWith('_cpu'));
    const plain = gemms(await run(await testGpuVariant(true)));
    expect(plain.length).toBe(3); // forward, input gradient (a flipped forward), weight gradient
    expect(plain.every((k) => k.startsWith('conv:'))).toBe(true);
    const gpu = (await subgroupGpu()) ?? skip('this adapter has no subgroups');
    expect(gemms(await run(gpu))).toEqual(plain.map((k) => k.replace('conv:', 'conv-subgroups:')));
  });

  // 70001 images split the per-image grid into z chunks; 70001 channels give the bias gradient a
  // 1-D grid past 65535. The input gradient of the 70001 images would be a second slow pass over
  // the same chunking, so x needs none there (which also exercises skipping it).
  for (const variant of KERNEL_VARIANTS) it(`runs 70001 images and 70001 channels (grids past 65535 are split), ${variant.name} kernels`, async ({ skip }) => {
    const gpu = (await variant.gpu()) ?? skip('this adapter has no subgroups');
    for (const [B, O] of [[70001, 1], [1, 70001]]) {
      const x = randn(B, 21), w = randn(O, 22), b = randn(O, 23), g = randn(B * O, 24);
      const [xt, wt, bt] = [Tensor.fromArray(gpu, x, [B, 1, 1, 1]), Tensor.fromArray(gpu, w, [O, 1, 1, 1]), Tensor.fromArray(gpu, b, [O])];
      xt.requiresGrad = B === 1;
      wt.requiresGrad = bt.requiresGrad = true;
      const out = conv2d(xt, wt, bt, { padding: 0 });
      const label = `${B} images × ${O} channels`;
      expectClose(await out.read(), conv2dRef(Float64Array.from(x), Float64Array.from(w), Float64Array.from(b), [B, 1, 1, 1], [O, 1, 1], 0),
        FORWARD, 'conv2d', `forward ${label}`);
      const gt = Tensor.fromArray(gpu, g, out.shape);
      backward(out, gt);
      const ref = conv2dGradRef(x, w, g, [B, 1, 1, 1], [O, 1, 1], 0);
      // 70001-term sums. The input gradient's runs in one invocation (a GEMM reduction over all
      // channels): ~sqrt(70001)·6e-8·|running sum ~ 200| ≈ 3e-3. The weight gradient adds 244 split
      // chunks in sequence (~sqrt(244)·6e-8·300 ≈ 3e-4); the bias gradient is a tree, smaller still.
      if (B === 1) expectClose(await xt.grad!.read(), ref.dx, { atol: 3e-3, rtol: 1e-5 }, 'conv2d', `grad x ${label}`);
      else expect(xt.grad).toBeNull();
      const long = { atol: 3e-4, rtol: 1e-5 };
      expectClose(await wt.grad!.read(), ref.dw, long, 'conv2d', `grad weight ${label}`);
      expectClose(await bt.grad!.read(), ref.db, long, 'conv2d', `grad bias ${label}`);
      for (const t of [xt, wt, bt, out, gt]) t.dispose();
    }
  });

  it('frees every intermediate', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, randn(2 * 3 * 20 * 30, 31), [2, 3, 20, 30]);
    const w = Tensor.fromArray(gpu, randn(4 * 3 * 9, 32), [4, 3, 3, 3]);
    const b = Tensor.fromArray(gpu, randn(4, 33), [4]);
    for (const t of [x, w, b]) t.requiresGrad = true;
    const live = gpu.memory().liveBuffers;
    scope(() => {
      const out = conv2d(x, w, b, { padding: 1 });
      backward(out, Tensor.fromArray(gpu, randn(out.size, 34), out.shape));
    });
    // Only the three gradients remain.
    expect(gpu.memory().liveBuffers).toBe(live + 3);
    for (const t of [x, w, b]) t.dispose();
  });

  it('rejects mismatched shapes with the op and the shapes in the message', async () => {
    const gpu = await testGpu();
    scope(() => {
      const x = Tensor.empty(gpu, [1, 3, 4, 4]);
      expect(() => conv2d(x, Tensor.empty(gpu, [2, 4, 3, 3]), undefined, { padding: 1 })).toThrow(/conv2d: weight \[2, 4, 3, 3\] expects 4 input channels, x \[1, 3, 4, 4\] has 3/);
      expect(() => conv2d(x, Tensor.empty(gpu, [2, 3, 3, 3]), Tensor.empty(gpu, [3]), { padding: 1 })).toThrow(/conv2d: bias must be \[2\], got \[3\]/);
      expect(() => conv2d(x, Tensor.empty(gpu, [2, 3, 5, 5]), undefined, { padding: 0 })).toThrow(/does not fit/);
      expect(() => conv2d(x, Tensor.empty(gpu, [2, 3, 3, 3]), undefined, { padding: -1 })).toThrow(/padding must be a non-negative integer/);
      expect(() => conv2d(Tensor.empty(gpu, [3, 4, 4]), Tensor.empty(gpu, [2, 3, 3, 3]), undefined, { padding: 1 })).toThrow(/conv2d: x must be/);
      expect(() => patchEmbed3d(Tensor.empty(gpu, [1, 1, 2, 6, 8]), Tensor.empty(gpu, [3, 1, 2, 4, 4]), Tensor.empty(gpu, [3]))).toThrow(/patchEmbed3d: H and W of x \[1, 1, 2, 6, 8\] must be multiples/);
      expect(() => patchEmbed3d(Tensor.empty(gpu, [1, 1, 2, 8, 8]), Tensor.empty(gpu, [3, 1, 3, 4, 4]), Tensor.empty(gpu, [3]))).toThrow(/patchEmbed3d: weight \[3, 1, 3, 4, 4\] must span/);
      expect(() => convTranspose2d(x, Tensor.empty(gpu, [2, 3, 2, 2]))).toThrow(/convTranspose2d: weight \[2, 3, 2, 2\] expects 2 input channels/);
    });
  });
});

describe('patchEmbed3d', () => {
  const cases: [string, number[], number, number, number, boolean][] = [
    // name, [B, C, D, H, W], E, PH, PW, x needs a gradient
    ['one channel, depth 5', [1, 1, 5, 8, 8], 3, 4, 4, true],
    ['two images, two channels', [2, 2, 3, 4, 8], 5, 4, 4, true],
    ['rectangular 3×2 patches', [1, 2, 2, 6, 4], 2, 3, 2, true],
    ['70 embedding channels (two row tiles)', [1, 1, 1, 4, 4], 70, 2, 2, true],
    ['frozen input (x needs no gradient)', [2, 1, 2, 4, 4], 3, 2, 2, false],
  ];
  for (const [name, xShape, E, PH, PW, xGrad] of cases) for (const variant of KERNEL_VARIANTS) {
    it(`forward and backward: ${name} (${xShape.join('×')}, ${PH}×${PW} → ${E}), ${variant.name} kernel`, async ({ skip }) => {
      const gpu = (await variant.gpu()) ?? skip('this adapter has no subgroups');
      const [, C, D] = xShape;
      await gradCheck({
        gpu,
        kernel: 'patchEmbed3d',
        inputs: [{ shape: xShape, grad: xGrad }, { shape: [E, C, D, PH, PW] }, { shape: [E] }],
        gpuForward: ([x, w, b]) => patchEmbed3d(x, w, b),
        cpuForward: ([x, w, b]) => patchEmbedRef(x, w, b, xShape, [E, PH, PW]),
        forwardTol: FORWARD,
        gradTol: GRAD,
      });
    });
  }
});

describe('convTranspose2d', () => {
  const cases: [string, number[], number, number, number, boolean][] = [
    // name, [B, Cin, H, W], Cout, kh, kw, bias
    ['2×2 stride 2', [1, 3, 2, 3], 2, 2, 2, true],
    ['two images', [2, 5, 3, 3], 7, 2, 2, true],
    ['size-1 dims', [1, 1, 1, 1], 1, 2, 2, true],
    ['20 input channels, no bias', [1, 20, 2, 2], 3, 2, 2, false],
    ['Cout·4 = 68 rows (two row tiles)', [1, 2, 3, 2], 17, 2, 2, true],
    ['72 input pixels (two column tiles)', [1, 2, 9, 8], 3, 2, 2, true],
    ['3×2 kernel = stride', [1, 2, 2, 3], 3, 3, 2, true],
  ];
  for (const [name, xShape, O, KH, KW, bias] of cases) for (const variant of KERNEL_VARIANTS) {
    it(`forward and backward: ${name} (${xShape.join('×')} → ${O}), ${variant.name} kernels`, async ({ skip }) => {
      const gpu = (await variant.gpu()) ?? skip('this adapter has no subgroups');
      await gradCheck({
        gpu,
        kernel: 'convTranspose2d',
        inputs: [{ shape: xShape }, { shape: [xShape[1], O, KH, KW] }, ...(bias ? [{ shape: [O] }] : [])],
        gpuForward: ([x, w, b]) => convTranspose2d(x, w, b),
        cpuForward: ([x, w, b]) => convTransposeRef(x, w, b, xShape, [O, KH, KW]),
        forwardTol: FORWARD,
        gradTol: GRAD,
      });
    });
  }
});
