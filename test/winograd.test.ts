// conv2d's Winograd F(2×2, 3×3) path (src/ops/winograd.ts, shaders/winograd.wgsl) against the
// f64 direct-conv reference, finite differences, the direct kernels, and the binding limit.
import { describe, expect, it } from 'vitest';
import { conv2d } from '../src/ops/conv.js';
import { setConv3x3Algorithm, winogradTile, type Conv3x3Algorithm } from '../src/ops/winograd.js';
import { backward } from '../src/autograd/tape.js';
import { scope } from '../src/tensor/scope.js';
import { Gpu } from '../src/gpu/gpu.js';
import { Tensor } from '../src/tensor/tensor.js';
import { gradCheck, expectClose } from './helpers/check.js';
import { testGpu, testGpuVariant } from './helpers/gpu.js';
import { cpuSubgroups } from '../src/ops/subgroups.js';
import { KERNEL_VARIANTS, kernelsUsed } from './helpers/subgroups.js';
import { randn } from './helpers/random.js';
import { conv2dGradRef, conv2dRef } from './reference/conv.js';

const WINOGRAD = ['winograd-2x2', 'winograd-4x4'] as const;
type Winograd = (typeof WINOGRAD)[number];

// Small cases, unit-normal x, w and upstream gradient: sums of C·9 ≤ 72 products (dx: O·9 ≤ 72;
// dW: B·H·W ≤ 147 per tap) whose values reach ~30. F(2×2)'s G, A and B hold only 0, ±½, ±1, so
// its transforms add a few roundings per element and no growth: the error stays near the direct
// conv's ~sqrt(terms)·2⁻²⁴·|partial sums|, measured ≤ 1.2e-5 absolute, ≤ 4e-7 of each tensor's
// largest value, and the direct conv tests' bound (1e-5 + 1e-5·|ref|) holds with that margin.
// F(4×4)'s matrices hold 4, 5 and 8 (Bᵀ, Aᵀ) and ¼ … 1/24 (G): transformed values are sums of
// terms up to ~25× the inputs that cancel back in Aᵀ · A, so the rounding is about an order of
// magnitude larger: measured ≤ 9.5e-5 absolute, ≤ 4e-6 of the scale; 3e-4 leaves a 3× margin.
const TOL: Record<Winograd, { atol: number; rtol: number }> = {
  'winograd-2x2': { atol: 1e-5, rtol: 1e-5 },
  'winograd-4x4': { atol: 3e-4, rtol: 1e-5 },
};

/** Runs `fn` with conv2d's 3×3 convs forced to `algorithm` on `gpu`, then back to 'auto'. */
async function withAlgorithm<T>(gpu: Gpu, algorithm: Conv3x3Algorithm, fn: () => Promise<T>): Promise<T> {
  setConv3x3Algorithm(gpu, algorithm);
  try {
    return await fn();
  } finally {
    setConv3x3Algorithm(gpu, 'auto');
  }
}

/** The forward, dx, dW and db of conv2d (3×3, pad 1) on `gpu` for host arrays. */
async function convAndGrads(gpu: Gpu, x: Float32Array, w: Float32Array, b: Float32Array, g: Float32Array, xShape: number[], O: number) {
  const xt = Tensor.fromArray(gpu, x, xShape);
  const wt = Tensor.fromArray(gpu, w, [O, xShape[1], 3, 3]);
  const bt = Tensor.fromArray(gpu, b, [O]);
  for (const t of [xt, wt, bt]) t.requiresGrad = true;
  const out = conv2d(xt, wt, bt, { padding: 1 });
  const gt = Tensor.fromArray(gpu, g, out.shape);
  backward(out, gt);
  const result = { out: await out.read(), dx: await xt.grad!.read(), dw: await wt.grad!.read(), db: await bt.grad!.read() };
  for (const t of [xt, wt, bt, out, gt, xt.grad!, wt.grad!, bt.grad!]) t.dispose();
  return result;
}

describe('conv2d through Winograd F(2×2, 3×3) and F(4×4, 3×3)', () => {
  const cases: [string, number[], number, boolean][] = [
    // name, [B, C, H, W], O, bias
    ['odd sizes (partial tiles), batch 2', [2, 4, 9, 7], 8, true],
    ['even sizes, channels not multiples of 4, no bias', [1, 3, 6, 8], 5, false],
    ['a 1×1 image: one tile, mostly padding', [3, 4, 1, 1], 4, true],
    ['a 7×7 image (the PSP bottleneck\'s size), 3 images', [3, 4, 7, 7], 8, false],
  ];
  for (const [name, xShape, O, bias] of cases) for (const algorithm of WINOGRAD) for (const variant of KERNEL_VARIANTS) {
    it(`matches the reference and finite differences: ${name} (${xShape.join('×')} → ${O}), ${algorithm}, ${variant.name} matmul`, async ({ skip }) => {
      const gpu = (await variant.gpu()) ?? skip('this adapter has no subgroups');
      await withAlgorithm(gpu, algorithm, () => gradCheck({
        gpu,
        kernel: `conv2d ${algorithm}`,
        inputs: [{ shape: xShape }, { shape: [O, xShape[1], 3, 3] }, ...(bias ? [{ shape: [O] }] : [])],
        gpuForward: ([x, w, b]) => conv2d(x, w, b, { padding: 1 }),
        cpuForward: ([x, w, b]) => conv2dRef(x, w, b, xShape, [O, 3, 3], 1),
        forwardTol: TOL[algorithm],
        gradTol: TOL[algorithm],
      }));
    });
  }

  for (const algorithm of WINOGRAD) it(`matches the reference and the direct kernels at 2×64×15×14 → 32 (UPerNet-like channel counts), ${algorithm}`, async () => {
    const gpu = await testGpu();
    const xShape = [2, 64, 15, 14], O = 32;
    const x = randn(2 * 64 * 15 * 14, 41), w = randn(O * 64 * 9, 42, 0.05), b = randn(O, 43), g = randn(2 * O * 15 * 14, 44);
    const wino = await withAlgorithm(gpu, algorithm, () => convAndGrads(gpu, x, w, b, g, xShape, O));
    const direct = await withAlgorithm(gpu, 'direct', () => convAndGrads(gpu, x, w, b, g, xShape, O));
    const ref = conv2dGradRef(x, w, g, xShape, [O, 3, 3], 1);
    const out = conv2dRef(Float64Array.from(x), Float64Array.from(w), Float64Array.from(b), xShape, [O, 3, 3], 1);
    // Forward and dx: 576- and 288-term sums of N(0, 0.05²)·N(0, 1) products, partial sums ~1.2:
    // ~sqrt(576)·6e-8·1.2 ≈ 2e-6 typical for the direct conv, the transforms' few extra roundings
    // at most a small factor more; dW: 420 unit products per (o, c, tap) split into 16 transformed
    // sums of up to 4·420 terms, partial sums ~40: ~sqrt(1680)·6e-8·40 ≈ 1e-4.
    // F(4×4) rounds about 10× more (see TOL; measured 2.3e-5 forward, 2.2e-4 dW).
    for (const [label, r] of [[algorithm, wino], ['direct', direct]] as const) {
      const loose = label === 'winograd-4x4' ? 10 : 1;
      const short = { atol: 2e-5 * loose, rtol: 1e-5 };
      const long = { atol: 3e-4 * loose, rtol: 1e-5 };
      expectClose(r.out, out, short, 'conv2d 2×64×15×14', `forward (${label})`);
      expectClose(r.dx, ref.dx, short, 'conv2d 2×64×15×14', `grad x (${label})`);
      expectClose(r.dw, ref.dw, long, 'conv2d 2×64×15×14', `grad weight (${label})`);
    }
    // The bias gradient is a plain channel sum either way.
    expectClose(wino.db, ref.db, { atol: 3e-4, rtol: 1e-5 }, 'conv2d 2×64×15×14', `grad bias (${algorithm})`);
  });

  for (const algorithm of WINOGRAD) it(`splits the tiles to keep every binding under the device limit, with the same results and no leak, ${algorithm}`, async () => {
    // A context whose storage bindings are limited to 16 KiB: the transformed [16, 8, tiles] input
    // of 2×5×6 = 60 2×2 tiles would be 30 KiB, [36, 8, tiles] of 2×3×3 = 18 4×4 tiles 20 KiB, so
    // the tiles go in two chunks (the dispatch checks every binding against the limit, and the
    // weight gradient adds the chunks' parts).
    const gpu = await Gpu.create();
    try {
      Object.defineProperty(gpu, 'limits', { value: { ...gpu.limits, maxStorageBufferBindingSize: 16 * 1024 } });
      setConv3x3Algorithm(gpu, algorithm);
      const xShape = [2, 8, 9, 11], O = 8;
      const kernels = await kernelsUsed(gpu, () => gradCheck({
        gpu,
        kernel: `conv2d ${algorithm}, split`,
        inputs: [{ shape: xShape }, { shape: [O, 8, 3, 3] }, { shape: [O] }],
        gpuForward: ([x, w, b]) => conv2d(x, w, b, { padding: 1 }),
        cpuForward: ([x, w, b]) => conv2dRef(x, w, b, xShape, [O, 3, 3], 1),
        forwardTol: TOL[algorithm],
        gradTol: TOL[algorithm],
        seed: 5,
      }));
      // Two chunks each: the forward's and the input gradient's input transforms, the weight gradient's.
      expect(kernels.filter((k) => k === 'winograd:input_transform').length).toBe(2 + 2 + 2);
      expect(kernels.filter((k) => k === 'winograd:weight_grad_transform').length).toBe(2);

      const x = Tensor.fromArray(gpu, randn(2 * 8 * 9 * 11, 51), xShape);
      const w = Tensor.fromArray(gpu, randn(O * 8 * 9, 52), [O, 8, 3, 3]);
      const b = Tensor.fromArray(gpu, randn(O, 53), [O]);
      for (const t of [x, w, b]) t.requiresGrad = true;
      const live = gpu.memory().liveBuffers;
      scope(() => {
        const out = conv2d(x, w, b, { padding: 1 });
        backward(out, Tensor.fromArray(gpu, randn(out.size, 54), out.shape));
      });
      // Only the three gradients remain.
      expect(gpu.memory().liveBuffers).toBe(live + 3);
    } finally {
      gpu.destroy();
    }
  });

  it('is what conv2d takes for wide 3×3 pad-1 convs, and not for narrow ones or when told "direct"', async () => {
    const gpu = await testGpu();
    const uses = (xShape: number[], O: number, KH = 3, pad = 1) => kernelsUsed(gpu, async () => {
      const [x, w] = [Tensor.empty(gpu, xShape), Tensor.empty(gpu, [O, xShape[1], KH, KH])];
      scope(() => conv2d(x, w, undefined, { padding: pad }));
      x.dispose();
      w.dispose();
    }).then((k) => k.some((name) => name.startsWith('winograd:')));
    expect(winogradTile(gpu, [4, 768, 60, 60], 192)).toBe(4); // UPerNet's fusion conv
    // Its PPM bottleneck: 16 tiles of 4×4, so F(2×2), but only with the subgroup matmul.
    expect(winogradTile(gpu, [4, 960, 7, 7], 192)).toBe(cpuSubgroups(gpu) || !gpu.info.cpu ? 2 : 0);
    expect(winogradTile(await testGpuVariant(true), [4, 960, 7, 7], 192)).toBe(0);
    expect(winogradTile(gpu, [4, 30, 60, 60], 30)).toBe(0); // channels not multiples of 4
    expect(await uses([2, 64, 16, 16], 64)).toBe(true); // 32 tiles of 4×4: F(4×4) on any adapter
    expect(await uses([1, 8, 4, 4], 8)).toBe(false);
    expect(await uses([1, 64, 4, 4], 64, 3, 0)).toBe(false);
    expect(await uses([1, 64, 4, 4], 64, 1, 0)).toBe(false);
    expect(await withAlgorithm(gpu, 'direct', () => uses([2, 64, 16, 16], 64))).toBe(false);
    expect(await withAlgorithm(gpu, 'winograd-2x2', () => uses([1, 8, 4, 4], 8))).toBe(true);
  });
});
