import { describe, expect, it } from 'vitest';
import { dropout, dropout2d } from '../src/ops/dropout.js';
import { backward } from '../src/autograd/tape.js';
import { Tensor } from '../src/tensor/tensor.js';
import { gradCheck, expectClose } from './helpers/check.js';
import { testGpu } from './helpers/gpu.js';
import { entriesUsed } from './helpers/subgroups.js';
import { randn } from './helpers/random.js';
import { dropoutRef, kept } from './reference/dropout.js';

// Kept elements are x times the f32 scale 1/(1 − p), rounded once: within 1 ulp (1.2e-7) of x/(1 − p).
const SCALED = { atol: 0, rtol: 2.4e-7 };
// The function is linear: its gradient is the same mask and scale, and the f64 difference is exact.
const GRAD = { atol: 1e-9, rtol: 2.4e-7 };

/** |observed − expected| of a fraction over n Bernoulli(q) draws, in standard deviations. */
function sigmas(observed: number, q: number, n: number): number {
  return Math.abs(observed - q) / Math.sqrt((q * (1 - q)) / n);
}

describe('dropout', () => {
  // [4, 33]: a multiple of 4 elements, the vec4 kernel (the others take the scalar one).
  for (const [shape, p] of [[[3, 5, 7], 0.3], [[1], 0.5], [[2, 129], 0.9], [[4, 33], 0.3]] as [number[], number][]) {
    it(`forward and backward with a fixed seed: [${shape.join(', ')}], p = ${p}`, async () => {
      const gpu = await testGpu();
      await gradCheck({
        gpu,
        kernel: 'dropout',
        inputs: [{ shape }],
        gpuForward: ([x]) => dropout(x, p, 1234),
        cpuForward: ([x]) => dropoutRef(x, p, 1234, 1),
        forwardTol: SCALED,
        gradTol: GRAD,
      });
    });
  }

  it('zeroes a fraction p of 16.8M elements (a grid of more than 65535 workgroups), as the hash says', async () => {
    const gpu = await testGpu();
    const n = 65536 * 256 + 3;
    const p = 0.3;
    const y = dropout(Tensor.fromArray(gpu, new Float32Array(n).fill(1), [n]), p, 42);
    const out = await y.read();
    y.dispose();
    let zeros = 0, bothZero = 0, mismatches = 0;
    const scale = Math.fround(1 / (1 - p));
    for (let i = 0; i < n; i++) {
      if (out[i] === 0) zeros++;
      if (out[i] === 0 && i > 0 && out[i - 1] === 0) bothZero++;
      if (out[i] !== (kept(42, i, p) ? scale : 0)) mismatches++;
    }
    expect(mismatches, 'elements whose GPU mask differs from the CPU hash').toBe(0);
    // Binomial bounds at 5σ (a false alarm once in ~1.7 million runs):
    // the fraction dropped, and the fraction of neighbouring pairs both dropped (independence).
    expect(sigmas(zeros / n, p, n)).toBeLessThan(5);
    expect(sigmas(bothZero / (n - 1), p * p, n - 1)).toBeLessThan(5);
  });

  it('takes the vec4 kernel exactly where the length is a multiple of 4', async () => {
    const gpu = await testGpu();
    for (const [n, entry] of [[132, 'dropout_vec4'], [258, 'dropout']] as const) {
      const x = Tensor.fromArray(gpu, randn(n, 8), [n]);
      expect(await entriesUsed(gpu, async () => dropout(x, 0.3, 1).dispose())).toEqual([entry]);
      x.dispose();
    }
  });

  it('is deterministic in the seed, and different seeds give independent masks', async () => {
    const gpu = await testGpu();
    const n = 100_000;
    const p = 0.5;
    const x = Tensor.fromArray(gpu, randn(n, 3), [n]);
    const a = await dropout(x, p, 7).read();
    const b = await dropout(x, p, 7).read();
    const c = await dropout(x, p, 8).read();
    expect(b).toEqual(a);
    let agree = 0;
    for (let i = 0; i < n; i++) if ((a[i] === 0) === (c[i] === 0)) agree++;
    // Independent masks agree with probability p² + (1 − p)² = 0.5; 5σ binomial bound.
    expect(sigmas(agree / n, 0.5, n)).toBeLessThan(5);
  });

  it('p = 0 returns the input unchanged and passes the gradient through; p = 1 drops everything', async () => {
    const gpu = await testGpu();
    const data = randn(10, 4);
    const x = Tensor.fromArray(gpu, data, [2, 5]);
    x.requiresGrad = true;
    const y = dropout(x, 0, 1);
    expect(y.buffer).toBe(x.buffer);
    const g = Tensor.fromArray(gpu, randn(10, 5), [2, 5]);
    backward(y, g);
    expect(await x.grad!.read()).toEqual(await g.read());
    const constant = Tensor.fromArray(gpu, data, [2, 5]);
    expect(Array.from(await dropout(constant, 1, 1).read())).toEqual(new Array(10).fill(0));
  });

  it('leaves no GPU buffer behind after forward and backward', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, randn(2 * 3 * 4 * 5, 6), [2, 3, 4, 5]);
    x.requiresGrad = true;
    const before = gpu.memory().liveBuffers;
    for (const op of [(t: Tensor) => dropout(t, 0.5, 1), (t: Tensor) => dropout(t, 0, 1), (t: Tensor) => dropout2d(t, 0.5, 1)]) {
      const y = op(x);
      const g = Tensor.fromArray(gpu, randn(y.size, 7), y.shape);
      backward(y, g);
      for (const t of [y, g, x.grad!]) t.dispose();
      x.grad = null;
    }
    expect(gpu.memory().liveBuffers).toBe(before);
    x.dispose();
  });

  it('rejects a bad p or seed', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, [1, 2], [2]);
    expect(() => dropout(x, 1.5, 1)).toThrow(/dropout: p must be in \[0, 1\], got 1.5/);
    expect(() => dropout(x, 0.5, -1)).toThrow(/dropout: seed must be an integer/);
    expect(() => dropout2d(x, 0.5, 1)).toThrow(/dropout2d: x must be \[B, C, H, W\], got \[2\]/);
  });
});

describe('dropout2d', () => {
  for (const [shape, p] of [[[2, 6, 3, 5], 0.5], [[3, 4, 1, 1], 0.25]] as [number[], number][]) {
    it(`forward and backward with a fixed seed: [${shape.join(', ')}], p = ${p}`, async () => {
      const gpu = await testGpu();
      await gradCheck({
        gpu,
        kernel: 'dropout2d',
        inputs: [{ shape }],
        gpuForward: ([x]) => dropout2d(x, p, 99),
        cpuForward: ([x]) => dropoutRef(x, p, 99, shape[2] * shape[3]),
        forwardTol: SCALED,
        gradTol: GRAD,
      });
    });
  }

  it('zeroes whole channels, a fraction p of them', async () => {
    const gpu = await testGpu();
    const [B, C, H, W] = [8, 2500, 3, 3];
    const p = 0.2;
    const y = await dropout2d(Tensor.fromArray(gpu, new Float32Array(B * C * H * W).fill(1), [B, C, H, W]), p, 5).read();
    let dropped = 0;
    for (let ch = 0; ch < B * C; ch++) {
      const plane = y.subarray(ch * H * W, (ch + 1) * H * W);
      expect(plane.every((v) => v === plane[0]), `channel ${ch} is all dropped or all kept`).toBe(true);
      if (plane[0] === 0) dropped++;
    }
    // 20000 channels: binomial bound at 5σ.
    expect(sigmas(dropped / (B * C), p, B * C)).toBeLessThan(5);
    expectClose(y.filter((v) => v !== 0), new Float64Array(B * C * H * W - dropped * H * W).fill(1 / (1 - p)), SCALED, 'dropout2d', 'kept scale');
  });
});
