import { describe, expect, it } from 'vitest';
import { adaptiveAvgPool2d, maxPool2d } from '../src/ops/pool.js';
import { backward } from '../src/autograd/tape.js';
import { Tensor } from '../src/tensor/tensor.js';
import { gradCheck, expectClose } from './helpers/check.js';
import { testGpu } from './helpers/gpu.js';
import { randn, rng } from './helpers/random.js';
import { maxPoolRef, adaptiveAvgRef, adaptiveAvgGradRef } from './reference/pool.js';

// Max pooling copies values and routes gradients unchanged: exact.
const EXACT = { atol: 0, rtol: 0 };
// Max pooling is piecewise linear; away from ties the f64 central difference is exact to ~1e-10.
const MAX_GRAD = { atol: 1e-9, rtol: 1e-9 };
// A bin's mean sums at most 35 f32 values of |x| ≲ 4 (the 1-bin case on 7×5), and an input
// gradient sums at most 4 bins: a few ulp of the result, ≲ 2e-7.
const AVG = { atol: 5e-7, rtol: 5e-7 };

/** n distinct values 0.1 apart in a seeded random order, so that max-pool windows have no ties. */
function distinct(n: number, seed: number): Float32Array {
  const u = rng(seed);
  const v = Float32Array.from({ length: n }, (_, i) => (i - n / 2) * 0.1);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}

describe('maxPool2d', () => {
  const shapes = [[2, 3, 4, 6], [1, 2, 5, 7], [1, 1, 2, 2], [3, 1, 3, 2]];
  for (const shape of shapes) {
    it(`forward and backward: [${shape.join(', ')}]`, async () => {
      const gpu = await testGpu();
      const [B, C, H, W] = shape;
      await gradCheck({
        gpu,
        kernel: 'maxPool2d',
        inputs: [{ shape, data: distinct(B * C * H * W, H * W) }],
        gpuForward: ([x]) => maxPool2d(x),
        cpuForward: ([x]) => maxPoolRef(x, B * C, H, W),
        forwardTol: EXACT,
        gradTol: MAX_GRAD,
      });
    });
  }

  it('sends the gradient of a tie to the first maximum, as PyTorch', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, [1, 1, 0, 2, 1, 1, 2, 1], [1, 1, 2, 4]);
    x.requiresGrad = true;
    const y = maxPool2d(x);
    expect(Array.from(await y.read())).toEqual([1, 2]);
    const g = Tensor.fromArray(gpu, [5, 7], [1, 1, 1, 2]);
    backward(y, g);
    expect(Array.from(await x.grad!.read())).toEqual([5, 0, 0, 7, 0, 0, 0, 0]);
  });

  it('runs grids of more than 65535 workgroups (4098² input gradients)', async () => {
    // The forward cannot: 65536·256 outputs need 4× as many inputs, over WebGPU's default 128 MiB
    // binding limit.
    const gpu = await testGpu();
    const [H, W] = [4098, 4098];
    // A hash pattern with many ties: the reference below also takes the first maximum.
    const data = Float32Array.from({ length: H * W }, (_, i) => Math.imul(i, 0x9e3779b1) >>> 28);
    const x = Tensor.fromArray(gpu, data, [1, 1, H, W]);
    x.requiresGrad = true;
    const y = maxPool2d(x);
    expectClose(await y.read(), maxPoolRef(data, 1, H, W), EXACT, 'maxPool2d', 'forward 4098²');
    // With dy = 1 everywhere, dx marks each window's first maximum.
    const ones = Tensor.fromArray(gpu, new Float32Array(y.size).fill(1), y.shape);
    backward(y, ones);
    y.dispose();
    ones.dispose();
    const expected = new Float64Array(H * W);
    for (let oh = 0; oh < H / 2; oh++) {
      for (let ow = 0; ow < W / 2; ow++) {
        const top = 2 * oh * W + 2 * ow;
        const window = [top, top + 1, top + W, top + W + 1];
        expected[window.reduce((a, b) => (data[b] > data[a] ? b : a))] = 1;
      }
    }
    expectClose(await x.grad!.read(), expected, EXACT, 'maxPool2d', 'grad 4098²');
    x.dispose();
  });

  it('rejects inputs that are not images or are smaller than a window', async () => {
    const gpu = await testGpu();
    expect(() => maxPool2d(Tensor.fromArray(gpu, [1, 2], [1, 2]))).toThrow(/maxPool2d: x must be .*\[1, 2\]/);
    expect(() => maxPool2d(Tensor.fromArray(gpu, [1, 2], [1, 1, 1, 2]))).toThrow(/maxPool2d: x \[1, 1, 1, 2\] is smaller/);
  });
});

describe('pooling memory', () => {
  it('leaves no GPU buffer behind after forward and backward', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, distinct(2 * 3 * 5 * 6, 41), [2, 3, 5, 6]);
    x.requiresGrad = true;
    const before = gpu.memory().liveBuffers;
    for (const op of [maxPool2d, (t: Tensor) => adaptiveAvgPool2d(t, 3)]) {
      const y = op(x);
      const g = Tensor.fromArray(gpu, randn(y.size, 42), y.shape);
      backward(y, g);
      for (const t of [y, g, x.grad!]) t.dispose();
      x.grad = null;
    }
    expect(gpu.memory().liveBuffers).toBe(before);
    x.dispose();
  });
});

describe('adaptiveAvgPool2d', () => {
  for (const [H, W] of [[6, 6], [7, 5]]) {
    for (const bins of [1, 2, 3, 6]) {
      it(`forward and backward: ${H}×${W} to ${bins}×${bins}`, async () => {
        const gpu = await testGpu();
        const [B, C] = [2, 3];
        await gradCheck({
          gpu,
          kernel: 'adaptiveAvgPool2d',
          inputs: [{ shape: [B, C, H, W] }],
          gpuForward: ([x]) => adaptiveAvgPool2d(x, bins),
          cpuForward: ([x]) => adaptiveAvgRef(x, B * C, H, W, bins),
          forwardTol: AVG,
          gradTol: AVG,
        });
      });
    }
  }

  it('runs grids of more than 65535 workgroups (4097² bins, then 4097² input gradients)', async () => {
    const gpu = await testGpu();
    const small = randn(4, 21);
    const y = adaptiveAvgPool2d(Tensor.fromArray(gpu, small, [1, 1, 2, 2]), 4097);
    expectClose(await y.read(), adaptiveAvgRef(small, 1, 2, 2, 4097), AVG, 'adaptiveAvgPool2d', 'forward 2² -> 4097²');
    y.dispose();

    const x = Tensor.fromArray(gpu, new Float32Array(4097 * 4097), [1, 1, 4097, 4097]);
    x.requiresGrad = true;
    const g = randn(4, 22);
    const out = adaptiveAvgPool2d(x, 2);
    const gT = Tensor.fromArray(gpu, g, [1, 1, 2, 2]);
    backward(out, gT);
    out.dispose();
    gT.dispose();
    // Each gradient is a bin's gradient over its ~2049² inputs (~1e-7): compare relatively.
    const tiny = { atol: 1e-12, rtol: 1e-6 };
    expectClose(await x.grad!.read(), adaptiveAvgGradRef(g, 1, 4097, 4097, 2), tiny, 'adaptiveAvgPool2d', 'grad 4097² -> 2²');
    x.dispose();
  });

  it('rejects a bad bin count', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, [1, 2, 3, 4], [1, 1, 2, 2]);
    expect(() => adaptiveAvgPool2d(x, 0)).toThrow(/adaptiveAvgPool2d: bins must be a positive integer, got 0/);
  });
});
