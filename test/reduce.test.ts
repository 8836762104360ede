import { describe, expect, it } from 'vitest';
import { broadcastTo, mean, sum, sumToShape } from '../src/ops/reduce.js';
import { backward } from '../src/autograd/tape.js';
import { Tensor } from '../src/tensor/tensor.js';
import { expectClose, gradCheck, type Tolerance } from './helpers/check.js';
import { testGpu } from './helpers/gpu.js';
import { randn } from './helpers/random.js';
import { entriesUsed } from './helpers/subgroups.js';
import { sumRef, broadcastRef } from './reference/reduce.js';

// Sums of up to 600 unit-normal f32 terms, in order (up to 32 terms) or a strided share per
// invocation then a tree: the rounding error stays near 6e-8·sqrt(n)·typical partial sum, a few
// 1e-6 at n = 600.
const SUM: Tolerance = { atol: 2e-6, rtol: 1e-6 };
// Gradients of sums are copies of the upstream gradient (times 1/n for a mean: two roundings);
// the central differences of these linear functions carry only rounding, ~1e-16·|objective|/h ≈ 1e-9.
const GRAD: Tolerance = { atol: 2e-9, rtol: 2.4e-7 };

// ---- f64 reference ---------------------------------------------------------------------------

const allAxes = (shape: number[]) => shape.map((_, d) => d);
const positive = (axes: number[], rank: number) => axes.map((a) => (a < 0 ? a + rank : a));

// ---- sum and mean ----------------------------------------------------------------------------

const reductionCases: [number[], number[] | undefined][] = [
  [[3, 5, 7], [0]],
  [[3, 5, 7], [1]],
  [[3, 5, 7], [2]],
  [[3, 5, 7], [-1]],
  [[3, 5, 7], [0, 2]],
  [[3, 5, 7], [1, 2]],
  [[3, 5, 7], undefined],
  [[3, 5, 7], []],
  [[1, 1, 1], undefined],
  [[1, 1, 1], [1]],
  [[2, 300], [1]],
  [[2, 300], [0]],
  [[2, 300], undefined],
  [[4, 1, 6], [1]],
  [[], undefined],
];

describe('sum and mean', () => {
  for (const [op, fn] of [['sum', sum], ['mean', mean]] as const) {
    for (const [shape, axes] of reductionCases) {
      for (const keepDims of [false, true]) {
        const label = `${op}: [${shape.join(', ')}] over ${axes ? `[${axes.join(', ')}]` : 'all axes'}${keepDims ? ', keepDims' : ''}`;
        it(label, async () => {
          const gpu = await testGpu();
          const reduced = axes === undefined ? allAxes(shape) : positive(axes, shape.length);
          const count = reduced.reduce((p, d) => p * shape[d], 1);
          const expectedShape = keepDims ? shape.map((d, i) => (reduced.includes(i) ? 1 : d)) : shape.filter((_, i) => !reduced.includes(i));
          await gradCheck({
            gpu,
            kernel: op,
            inputs: [{ shape }],
            gpuForward: ([x]) => {
              const y = fn(x, axes, keepDims);
              expect(y.shape).toEqual(expectedShape);
              return y;
            },
            cpuForward: ([x]) => sumRef(x, shape, reduced, op === 'mean' ? 1 / count : 1),
            forwardTol: SUM,
            gradTol: GRAD,
          });
        });
      }
    }
  }

  it('sum over the last axis of [70000, 33]: more than 65535 outputs (workgroups)', async () => {
    const gpu = await testGpu();
    const shape = [70_000, 33]; // 33 terms: one workgroup per output (reduce, not reduce_short)
    const data = randn(shape[0] * shape[1], 21);
    const g = randn(shape[0], 22);
    const x = Tensor.fromArray(gpu, data, shape);
    x.requiresGrad = true;
    const y = sum(x, [1]);
    const gT = Tensor.fromArray(gpu, g, [shape[0]]);
    backward(y, gT);
    expectClose(await y.read(), sumRef(data, shape, [1]), SUM, 'sum', 'forward 70000 outputs');
    expectClose(await x.grad!.read(), broadcastRef(g, [shape[0], 1], shape), GRAD, 'sum', 'grad 70000 outputs');
    for (const t of [x, y, gT]) t.dispose();
  });

  it('takes one invocation per output for reductions of up to 32 terms, a workgroup for longer ones', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, randn(32 * 33, 23), [32, 33]);
    const entries = (axes: number[]) => entriesUsed(gpu, async () => sum(x, axes).dispose());
    expect(await entries([0])).toEqual(['reduce_short']);
    expect(await entries([1])).toEqual(['reduce']);
    x.dispose();
  });

  it('a zero-size axis sums to 0 and averages to NaN, as in PyTorch', async () => {
    const gpu = await testGpu();
    const x = Tensor.empty(gpu, [0, 3]);
    const s = sum(x, [0]);
    const m = mean(x, [0]);
    expect(Array.from(await s.read())).toEqual([0, 0, 0]);
    expect((await m.read()).every(Number.isNaN)).toBe(true);
    for (const t of [x, s, m]) t.dispose();
  });

  it('rejects bad axes, naming the op and the shape', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, randn(6, 1), [2, 3]);
    expect(() => sum(x, [2])).toThrow('sum: axis 2 is out of range for shape [2, 3]');
    expect(() => mean(x, [1, -1])).toThrow('mean: repeated axis in [1, -1] for shape [2, 3]');
    x.dispose();
  });
});

// ---- sumToShape and broadcastTo --------------------------------------------------------------

describe('sumToShape', () => {
  const cases: [number[], number[]][] = [
    [[2, 3, 4], [4]],
    [[2, 3, 4], [3, 1]],
    [[2, 3, 4], [2, 1, 4]],
    [[2, 3, 4], [1, 3, 4]],
    [[5, 7], [1]],
    [[5, 7], []],
    [[3, 5], [3, 5]],
    [[2, 300], [300]],
  ];
  for (const [from, to] of cases) {
    it(`[${from.join(', ')}] to [${to.join(', ')}]`, async () => {
      const gpu = await testGpu();
      const lead = from.length - to.length;
      const axes = allAxes(from).filter((d) => d < lead || (to[d - lead] === 1 && from[d] !== 1));
      await gradCheck({
        gpu,
        kernel: 'sumToShape',
        inputs: [{ shape: from }],
        gpuForward: ([x]) => {
          const y = sumToShape(x, to);
          expect(y.shape).toEqual(to);
          return y;
        },
        cpuForward: ([x]) => sumRef(x, from, axes),
        forwardTol: SUM,
        gradTol: GRAD,
      });
    });
  }

  it('rejects a shape that does not broadcast to x', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, randn(6, 1), [2, 3]);
    expect(() => sumToShape(x, [2])).toThrow('sumToShape: shapes [2] and [2, 3] cannot be broadcast together (dim -1: 2 vs 3)');
    expect(() => sumToShape(x, [4, 2, 3])).toThrow("sumToShape: shape [4, 2, 3] does not broadcast to x's shape [2, 3]");
    x.dispose();
  });
});

describe('broadcastTo', () => {
  const cases: [number[], number[]][] = [
    [[4], [2, 3, 4]],
    [[3, 1], [2, 3, 5]],
    [[1], [5, 7]],
    [[], [2, 3]],
    [[2, 1, 3], [2, 4, 3]],
    [[2, 3], [2, 3]],
    [[300], [2, 300]],
  ];
  for (const [from, to] of cases) {
    it(`[${from.join(', ')}] to [${to.join(', ')}]`, async () => {
      const gpu = await testGpu();
      await gradCheck({
        gpu,
        kernel: 'broadcastTo',
        inputs: [{ shape: from }],
        gpuForward: ([x]) => broadcastTo(x, to),
        cpuForward: ([x]) => broadcastRef(x, from, to),
        forwardTol: { atol: 0, rtol: 0 }, // a copy
        gradTol: SUM, // the gradient is a sum over the broadcast dims
      });
    });
  }

  it('rejects a target x does not broadcast to', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, randn(6, 1), [2, 3]);
    expect(() => broadcastTo(x, [3])).toThrow("broadcastTo: x's shape [2, 3] does not broadcast to [3]");
    x.dispose();
  });
});
