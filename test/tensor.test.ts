// The tensor, scope, pool and tape machinery, independent of any particular kernel family
// (matmul is the op used to exercise it).
import { describe, expect, it } from 'vitest';
import { backward, clearTape, noGrad, tapeLength } from '../src/autograd/tape.js';
import { bucketSize } from '../src/gpu/pool.js';
import { splitGrid } from '../src/gpu/gpu.js';
import { matmul } from '../src/ops/matmul.js';
import { keep, scope, scopeAsync } from '../src/tensor/scope.js';
import { Tensor } from '../src/tensor/tensor.js';
import { testGpu } from './helpers/gpu.js';

describe('tensors', () => {
  it('round-trips values and rejects mismatched data', async () => {
    const gpu = await testGpu();
    const t = Tensor.fromArray(gpu, [1, -2.5, 3e-8, 4e30], [2, 2]);
    expect([...(await t.read())]).toEqual([1, -2.5, Math.fround(3e-8), Math.fround(4e30)]);
    expect(() => Tensor.fromArray(gpu, [1, 2, 3], [2, 2])).toThrow(/3 elements but shape \[2, 2\] needs 4/);
    expect(() => Tensor.empty(gpu, [2, -1])).toThrow(/non-negative integers/);
    t.dispose();
    expect(() => t.buffer).toThrow(/used after dispose/);
  });

  it('reshape views share storage and infer -1', async () => {
    const gpu = await testGpu();
    const t = Tensor.fromArray(gpu, [1, 2, 3, 4, 5, 6], [2, 3]);
    const v = t.reshapeView([3, -1]);
    expect(v.shape).toEqual([3, 2]);
    expect(() => t.reshapeView([4, -1])).toThrow(/cannot reshape/);
    const before = gpu.memory().liveBuffers;
    t.dispose();
    expect(gpu.memory().liveBuffers).toBe(before); // v still holds the buffer
    expect([...(await v.read())]).toEqual([1, 2, 3, 4, 5, 6]);
    v.dispose();
    expect(gpu.memory().liveBuffers).toBe(before - 1);
  });

  it('zero-size tensors work', async () => {
    const gpu = await testGpu();
    const t = Tensor.empty(gpu, [0, 3]);
    expect(t.size).toBe(0);
    expect((await t.read()).length).toBe(0);
    const m = matmul(t, Tensor.fromArray(gpu, [1, 2, 3], [3, 1]));
    expect(m.shape).toEqual([0, 1]);
  });

  it('moveInto relocates data into an arena at an aligned offset', async () => {
    const gpu = await testGpu();
    const arena = Tensor.empty(gpu, [256]);
    const t = Tensor.fromArray(gpu, [7, 8, 9], [3]);
    t.moveInto(arena, 256);
    expect(t.byteOffset).toBe(256);
    expect([...(await t.read())]).toEqual([7, 8, 9]);
    t.write([1, 2, 3]);
    expect([...(await arena.read()).subarray(64, 67)]).toEqual([1, 2, 3]);
    expect(() => t.moveInto(arena, 100)).toThrow(/multiple of 256/);
  });
});

describe('scopes and the pool', () => {
  it('a scope frees what it created except what it returns', async () => {
    const gpu = await testGpu();
    const start = gpu.memory().liveBuffers;
    const kept = scope(() => {
      const a = Tensor.fromArray(gpu, [1, 2], [1, 2]);
      const b = Tensor.fromArray(gpu, [3, 4], [2, 1]);
      const c = matmul(a, b);
      keep(Tensor.fromArray(gpu, [0], [1])).dispose();
      return { c, list: [matmul(b, a)] };
    });
    expect(gpu.memory().liveBuffers).toBe(start + 2);
    expect([...(await kept.c.read())]).toEqual([11]);
    kept.c.dispose();
    kept.list[0].dispose();
    expect(gpu.memory().liveBuffers).toBe(start);
  });

  it('an async scope frees on error too', async () => {
    const gpu = await testGpu();
    const start = gpu.memory().liveBuffers;
    await expect(scopeAsync(async () => {
      Tensor.fromArray(gpu, [1], [1]);
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(gpu.memory().liveBuffers).toBe(start);
  });

  it('released buffers are reused from the pool', async () => {
    const gpu = await testGpu();
    Tensor.empty(gpu, [1000]).dispose();
    const pooled = gpu.memory().pooledBuffers;
    const t = Tensor.empty(gpu, [990]); // same bucket
    expect(gpu.memory().pooledBuffers).toBe(pooled - 1);
    t.dispose();
  });

  it('buckets sizes with bounded slack', () => {
    expect(bucketSize(1)).toBe(256);
    expect(bucketSize(65536)).toBe(65536);
    for (const n of [65537, 100_000, 3_000_000, 123_456_789]) {
      expect(bucketSize(n)).toBeGreaterThanOrEqual(n);
      expect(bucketSize(n) / n).toBeLessThanOrEqual(1.125);
    }
  });

  it('splits 1-D grids over the per-dimension limit', () => {
    expect(splitGrid(10, 65535)).toEqual([10, 1, 1]);
    expect(splitGrid(70000, 65535)).toEqual([32768, 3, 1]);
    expect(() => splitGrid(65535 * 65535 + 1, 65535)).toThrow(/exceeds/);
  });
});

describe('autograd tape', () => {
  it('accumulates gradients of a tensor used twice and across backward calls', async () => {
    const gpu = await testGpu();
    const w = Tensor.fromArray(gpu, [1, 2, 3, 4], [2, 2]);
    w.requiresGrad = true;
    const x = Tensor.fromArray(gpu, [1, 1], [1, 2]);
    // y = x·W·W, so dy/dW gets contributions from both uses.
    const g = Tensor.fromArray(gpu, [1, 0], [1, 2]);
    backward(matmul(matmul(x, w), w), g);
    // x = [1,1], W = [[1,2],[3,4]], g = [1,0], h = xW = [4,6]:
    // second use: hᵀg = [[4,0],[6,0]]; first use: xᵀ(gWᵀ) = xᵀ[1,3] = [[1,3],[1,3]]; sum [[5,3],[7,3]].
    expect([...(await w.grad!.read())]).toEqual([5, 3, 7, 3]);
    backward(matmul(matmul(x, w), w), g);
    expect([...(await w.grad!.read())]).toEqual([10, 6, 14, 6]);
    expect(tapeLength()).toBe(0);
  });

  it('records nothing under noGrad or without grad-requiring inputs, and frees saved tensors', async () => {
    const gpu = await testGpu();
    const w = Tensor.fromArray(gpu, [1, 2, 3, 4], [2, 2]);
    w.requiresGrad = true;
    const x = Tensor.fromArray(gpu, [1, 1], [1, 2]);
    noGrad(() => matmul(x, w));
    matmul(x, x.reshapeView([2, 1]));
    expect(tapeLength()).toBe(0);
    const live = gpu.memory().liveBuffers;
    const y = matmul(x, w);
    expect(tapeLength()).toBe(1);
    y.dispose(); // the tape still holds x and w, not y
    clearTape();
    expect(tapeLength()).toBe(0);
    expect(gpu.memory().liveBuffers).toBe(live);
  });

  it('rejects a non-scalar backward without an explicit gradient', async () => {
    const gpu = await testGpu();
    const w = Tensor.fromArray(gpu, [1, 2], [1, 2]);
    w.requiresGrad = true;
    // reshapeView is a raw view, not a recorded op: its result has no path back to w.
    expect(() => backward(matmul(w, w.reshapeView([2, 1])).reshapeView([1]))).toThrow(/does not depend on any tensor with requiresGrad/);
    expect(() => backward(matmul(w.reshapeView([2, 1]), w))).toThrow(/one-element output/);
    clearTape();
  });
});
