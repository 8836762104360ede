import { describe, expect, it } from 'vitest';
import { crossEntropyLoss, diceCELoss, diceFocalLoss, diceLoss, focalLoss } from '../src/ops/loss.js';
import { backward } from '../src/autograd/tape.js';
import { Tensor } from '../src/tensor/tensor.js';
import { gradCheck, expectClose } from './helpers/check.js';
import { testGpu } from './helpers/gpu.js';
import { randn, rng, uniform } from './helpers/random.js';
import { type Dims, crossEntropyRef, diceRef, focalTermRef, focalRef } from './reference/loss.js';

/** Class indices 0..K−1 as f32; `classes` restricts them (to leave a class out of the target). */
function labels(count: number, K: number, seed: number, classes = K): Float32Array {
  const u = rng(seed);
  return Float32Array.from({ length: count }, () => Math.floor(u() * classes));
}

// ---- tolerances ----

// Forward: per-pixel f32 exp/log (relative error ~1e-7) averaged over at most a few hundred terms
// in a tree; the losses are O(1). Measured ~2e-7: 1e-6 leaves a 5× margin.
const FORWARD = { atol: 1e-6, rtol: 1e-6 };
// Gradients: a few f32 operations per element (relative 1e-7; the f64 central difference is exact
// to ~1e-10). Where p_k − [k = c] cancels near p = 1 what is left is ulp(1)·|g|/(B·N) with the
// random upstream |g| < 3 and B·N >= 2: at most 1e-7 absolute.
const GRAD = { atol: 1e-7, rtol: 1e-5 };

type LossFn = (logits: Tensor, target: Tensor) => Tensor;
type RefFn = (x: ArrayLike<number>, t: ArrayLike<number>, d: Dims) => number;

const LOSSES: [string, LossFn, RefFn][] = [
  ['crossEntropyLoss', crossEntropyLoss, crossEntropyRef],
  ['diceLoss', diceLoss, (x, t, d) => diceRef(x, t, d)],
  ['focalLoss', focalLoss, (x, t, d) => focalRef(x, t, d)],
  ['diceFocalLoss', diceFocalLoss, (x, t, d) => diceRef(x, t, d) + focalRef(x, t, d)],
  ['diceCELoss', diceCELoss, (x, t, d) => diceRef(x, t, d) + crossEntropyRef(x, t, d)],
];

// name, B, K, spatial dims, classes present in the target
const CASES: [string, number, number, number[], number][] = [
  ['K=2, 1×1', 2, 2, [1, 1], 2],
  ['K=3, 4×5', 2, 3, [4, 5], 3],
  ['K=5, 13×11', 1, 5, [13, 11], 5],
  ['K=3, 4×5, class 2 absent', 2, 3, [4, 5], 2],
  ['K=5, 3-D spatial 2×3×4', 1, 5, [2, 3, 4], 5],
];

describe('segmentation losses', () => {
  for (const [lossName, lossFn, ref] of LOSSES) {
    for (const [caseName, B, K, spatial, classes] of CASES) {
      it(`${lossName}: forward and backward, ${caseName}`, async () => {
        const gpu = await testGpu();
        const N = spatial.reduce((a, b) => a * b, 1);
        const d = { B, K, N };
        await gradCheck({
          gpu,
          kernel: lossName,
          inputs: [
            { shape: [B, K, ...spatial], data: randn(B * K * N, 11 * K + N, 2) },
            { shape: [B, ...spatial], data: labels(B * N, K, 7 * K + N, classes), grad: false },
          ],
          gpuForward: ([x, t]) => lossFn(x, t),
          cpuForward: ([x, t]) => Float64Array.of(ref(x, t, d)),
          forwardTol: FORWARD,
          gradTol: GRAD,
        });
      });
    }
  }

  it('Dice and focal options: smooth 1 and γ = 0 (plain BCE)', async () => {
    const gpu = await testGpu();
    const d = { B: 2, K: 3, N: 20 };
    await gradCheck({
      gpu,
      kernel: 'diceFocalLoss',
      inputs: [
        { shape: [2, 3, 4, 5], data: randn(120, 5) },
        { shape: [2, 4, 5], data: labels(40, 3, 6), grad: false },
      ],
      gpuForward: ([x, t]) => diceFocalLoss(x, t, { smooth: 1, gamma: 0 }),
      cpuForward: ([x, t]) => Float64Array.of(diceRef(x, t, d, 1) + focalRef(x, t, d, 0)),
      forwardTol: FORWARD,
      gradTol: GRAD,
    });
  });

  it('folds spatial sizes over one chunk (70×70 = 4900 pixels per image, forward)', async () => {
    const gpu = await testGpu();
    const d = { B: 2, K: 3, N: 4900 };
    const x = randn(d.B * d.K * d.N, 21, 2);
    const t = labels(d.B * d.N, d.K, 22);
    const xT = Tensor.fromArray(gpu, x, [d.B, d.K, 70, 70]);
    const tT = Tensor.fromArray(gpu, t, [d.B, 70, 70]);
    for (const [name, fn, ref] of LOSSES) {
      const loss = fn(xT, tT);
      expectClose(await loss.read(), [ref(x, t, d)], FORWARD, name, 'forward 2×3×70×70');
      loss.dispose();
    }
    xT.dispose();
    tT.dispose();
  });

  it('focal loss over more than 65535 workgroups (16.8M logits, forward and backward)', async () => {
    const gpu = await testGpu();
    const d = { B: 1, K: 2, N: 65536 * 128 + 37 };
    const count = d.B * d.K * d.N;
    const x = uniform(count, 31, -4, 4);
    const t = labels(d.B * d.N, d.K, 32);
    const xT = Tensor.fromArray(gpu, x, [d.B, d.K, d.N]);
    const tT = Tensor.fromArray(gpu, t, [d.B, d.N]);
    xT.requiresGrad = true;
    const loss = focalLoss(xT, tT);
    // 16.8M positive terms summed in f32, ~50 additions deep (16 per invocation and a tree of 8 per
    // chunk, 9 and 8 over the 2049 chunks, 1 and 8 over the rows): at most 50·6e-8 = 3e-6 relative.
    expectClose(await loss.read(), [focalRef(x, t, d)], { atol: 0, rtol: 3e-6 }, 'focalLoss', 'forward 16.8M');
    backward(loss);
    loss.dispose();
    // focal_backward runs one invocation per element on a split (x, y) grid. Every 7th element (all
    // workgroups) is compared with a central difference of its own term, over the count.
    const grad = await xT.grad!.read();
    const sampled: number[] = [];
    const fd: number[] = [];
    for (let e = 0; e < count; e += 7) {
      const tt = t[e % d.N] === Math.floor(e / d.N) ? 1 : 0;
      const h = 1e-5 * Math.max(1, Math.abs(x[e]));
      sampled.push(grad[e]);
      fd.push((focalTermRef(x[e] + h, tt, 2) - focalTermRef(x[e] - h, tt, 2)) / (2 * h) / count);
    }
    // Gradients are ~1/count = 6e-8 per element; relative f32 error ~1e-6.
    expectClose(sampled, fd, { atol: 1e-13, rtol: 1e-5 }, 'focalLoss', 'grad 16.8M');
    xT.dispose();
    tT.dispose();
  });

  it('a label outside 0..K−1 (or not an integer) makes the loss and its gradient NaN', async () => {
    const gpu = await testGpu();
    for (const bad of [3, -1, 0.5]) {
      for (const [name, fn] of LOSSES) {
        const x = Tensor.fromArray(gpu, randn(24, 3), [2, 3, 4]);
        x.requiresGrad = true;
        const t = Tensor.fromArray(gpu, [0, 1, 2, 0, 1, bad, 2, 0], [2, 4]);
        const loss = fn(x, t);
        expect(Number.isNaN(await loss.item()), `${name} with label ${bad}`).toBe(true);
        backward(loss);
        const g = await x.grad!.read();
        // Pixel 5 is (b 1, n 1): its K gradients are NaN; the others are finite.
        for (let k = 0; k < 3; k++) expect(Number.isNaN(g[(3 + k) * 4 + 1]), `${name} grad`).toBe(true);
        expect(Number.isFinite(g[0]), `${name} grad elsewhere`).toBe(true);
        for (const tensor of [loss, x, t]) tensor.dispose();
      }
    }
  });

  it('validates shapes and options', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, randn(24, 1), [2, 3, 4]);
    const t = Tensor.fromArray(gpu, [0, 1, 2, 0, 1, 2, 2, 0], [2, 4]);
    expect(() => diceLoss(x, Tensor.fromArray(gpu, [0, 1, 2, 0, 1, 2, 2, 0], [2, 1, 4]))).toThrow(
      /diceLoss: target must be \[2, 4\].*got logits \[2, 3, 4\], target \[2, 1, 4\]/,
    );
    expect(() => crossEntropyLoss(Tensor.fromArray(gpu, [1, 2], [2]), t)).toThrow(/crossEntropyLoss: logits must be \[B, K, \.\.\.spatial\]/);
    expect(() => focalLoss(x, t, { gamma: -1 })).toThrow(/focalLoss: gamma must be a finite number >= 0, got -1/);
    expect(() => diceLoss(x, t, { smooth: NaN })).toThrow(/diceLoss: smooth must be/);
    x.dispose();
    t.dispose();
  });

  it('returns a scalar and leaves no buffer behind after backward', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, randn(2 * 3 * 20, 9), [2, 3, 4, 5]);
    const t = Tensor.fromArray(gpu, labels(40, 3, 10), [2, 4, 5]);
    x.requiresGrad = true;
    const before = gpu.memory().liveBuffers;
    for (const [, fn] of LOSSES) {
      const loss = fn(x, t);
      expect(loss.shape).toEqual([]);
      backward(loss);
      loss.dispose();
      x.grad!.dispose();
      x.grad = null;
    }
    // Without a gradient to record, nothing is saved either.
    x.requiresGrad = false;
    diceFocalLoss(x, t).dispose();
    expect(gpu.memory().liveBuffers).toBe(before);
    x.dispose();
    t.dispose();
  });
});
