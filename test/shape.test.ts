import { describe, expect, it } from 'vitest';
import { concat, copy, full, permute, reshape, slice, split, transpose, zeros } from '../src/ops/shape.js';
import { backward } from '../src/autograd/tape.js';
import { scope } from '../src/tensor/scope.js';
import { Tensor } from '../src/tensor/tensor.js';
import { gradCheck, expectClose } from './helpers/check.js';
import { testGpu } from './helpers/gpu.js';
import { randn, rng } from './helpers/random.js';
import { entriesUsed, kernelsUsed } from './helpers/subgroups.js';
import { concatRef, coords, permuteRef, sliceRef, splitRef, strides } from './reference/shape.js';

// Layout ops move f32 values without arithmetic: the forward must be bit-exact.
const EXACT = { atol: 0, rtol: 0 };
// Their gradients are copies too; the only error is the f64 central difference of a linear
// objective (~1e-16·|objective| / step ≈ 1e-10).
const GRAD = { atol: 1e-9, rtol: 0 };

describe('permute / transpose', () => {
  const shape = [2, 3, 4, 5];
  const orders = [[0, 1, 2, 3], [3, 2, 1, 0], [0, 2, 1, 3], [1, 3, 0, 2], [2, 0, 3, 1], [-1, 0, -3, 2]];
  for (const dims of orders) {
    it(`permute [2, 3, 4, 5] by [${dims}]`, async () => {
      const resolved = dims.map((d) => (d < 0 ? d + 4 : d));
      await gradCheck({
        gpu: await testGpu(),
        kernel: 'permute',
        inputs: [{ shape }],
        gpuForward: ([x]) => permute(x, dims),
        cpuForward: ([x]) => permuteRef(x, shape, resolved),
        forwardTol: EXACT,
        gradTol: GRAD,
      });
    });
  }

  it('permutes with size-1 dims and 6 dimensions', async () => {
    const sh = [3, 1, 2, 1, 5, 2];
    const dims = [4, 1, 5, 0, 3, 2];
    await gradCheck({
      gpu: await testGpu(),
      kernel: 'permute',
      inputs: [{ shape: sh }],
      gpuForward: ([x]) => permute(x, dims),
      cpuForward: ([x]) => permuteRef(x, sh, dims),
      forwardTol: EXACT,
      gradTol: GRAD,
    });
  });

  it('transpose swaps two dims (negative indices allowed)', async () => {
    const sh = [3, 7, 2];
    await gradCheck({
      gpu: await testGpu(),
      kernel: 'transpose',
      inputs: [{ shape: sh }],
      gpuForward: ([x]) => transpose(x, -1, 0),
      cpuForward: ([x]) => permuteRef(x, sh, [2, 1, 0]),
      forwardTol: EXACT,
      gradTol: GRAD,
    });
  });

  it(`permutes more than 65535·256 elements (split grid; sampled check)`, async () => {
    const gpu = await testGpu();
    const sh = [4, 129, 33, 1000]; // 17,028,000 elements > 16,776,960
    const dims = [3, 1, 0, 2];
    const n = sh.reduce((a, b) => a * b, 1);
    const data = randn(n, 11);
    const x = Tensor.fromArray(gpu, data, sh);
    const y = permute(x, dims);
    const got = await y.read();
    x.dispose();
    y.dispose();
    const outShape = dims.map((d) => sh[d]);
    const inStrides = strides(sh);
    const u = rng(12);
    // 20,000 random positions, plus the last element (in the last, partial row of workgroups).
    const picks = [...Array.from({ length: 20000 }, () => Math.floor(u() * n)), n - 1];
    const expected = picks.map((i) => data[coords(i, outShape).reduce((s, c, k) => s + c * inStrides[dims[k]], 0)]);
    expectClose(picks.map((i) => got[i]), expected, EXACT, 'permute', 'forward 17M elements (sampled)');
  });

  it('rejects bad dims with a message naming the op', async () => {
    const x = Tensor.fromArray(await testGpu(), new Float32Array(6), [2, 3]);
    expect(() => permute(x, [0])).toThrow(/permute: dims \[0\] must be a permutation .* x \[2, 3\]/);
    expect(() => permute(x, [1, 1])).toThrow(/permute: dims \[1, 1\]/);
    expect(() => permute(x, [0, 2])).toThrow(/permute: dims \[0, 2\]/);
    expect(() => transpose(x, 0, 2)).toThrow(/transpose: dim1 2 is out of range .* \[2, 3\]/);
    x.dispose();
  });
});

describe('slice / concat', () => {
  const shape = [2, 3, 4, 5];
  // One awkward range per axis, plus a whole-axis and a single-element range.
  const ranges: [number, number, number][] = [[0, 1, 2], [1, 1, 3], [2, 0, 4], [3, 2, 5], [-1, 4, 5], [1, 0, 3]];
  for (const [axis, start, end] of ranges) {
    it(`slice [2, 3, 4, 5] along axis ${axis}, [${start}, ${end})`, async () => {
      await gradCheck({
        gpu: await testGpu(),
        kernel: 'slice',
        inputs: [{ shape }],
        gpuForward: ([x]) => slice(x, axis, start, end),
        cpuForward: ([x]) => sliceRef(x, shape, (axis + 4) % 4, start, end),
        forwardTol: EXACT,
        gradTol: GRAD,
      });
    });
  }

  for (let axis = 0; axis < 4; axis++) {
    it(`concat three tensors along axis ${axis}`, async () => {
      const sizes = [2, 1, 3];
      const shapes = sizes.map((s) => shape.map((d, i) => (i === axis ? s : d)));
      await gradCheck({
        gpu: await testGpu(),
        kernel: 'concat',
        inputs: shapes.map((s) => ({ shape: s })),
        gpuForward: (xs) => concat(xs, axis),
        cpuForward: (xs) => concatRef(xs, shapes, axis),
        forwardTol: EXACT,
        gradTol: GRAD,
      });
    });
  }

  it('concat of a tensor with itself gets both gradients', async () => {
    const sh = [3, 2];
    await gradCheck({
      gpu: await testGpu(),
      kernel: 'concat',
      inputs: [{ shape: sh }],
      gpuForward: ([x]) => concat([x, x], -1),
      cpuForward: ([x]) => concatRef([x, x], [sh, sh], 1),
      forwardTol: EXACT,
      // The tape adds the two gradients in f32: one rounding, 2⁻²⁴ relative.
      gradTol: { atol: 1e-9, rtol: 6e-8 },
    });
  });

  it('rejects bad ranges and mismatched shapes', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, new Float32Array(6), [2, 3]);
    const y = Tensor.fromArray(gpu, new Float32Array(4), [2, 2]);
    expect(() => slice(x, 1, 2, 4)).toThrow(/slice: range \[2, 4\) is not within 0..3 along axis 1 of x \[2, 3\]/);
    expect(() => slice(x, 2, 0, 1)).toThrow(/slice: axis 2 is out of range/);
    expect(() => concat([x, y], 0)).toThrow(/concat: tensor 1 has shape \[2, 2\]; along axis 0 it cannot join \[2, 3\]/);
    expect(() => concat([], 0)).toThrow(/concat: needs at least one tensor/);
    x.dispose();
    y.dispose();
  });
});

describe('split', () => {
  const shape = [2, 3, 4, 8];
  // The parts come back joined in another order (and, where `use` names one twice, summed into
  // the gradient twice; where it leaves one out, that part's gradient is zero), so a wrong start
  // in either direction shows.
  const cases: { axis: number; sizes: number[]; use: number[] }[] = [
    { axis: 0, sizes: [1, 1], use: [1, 0] },
    { axis: 1, sizes: [1, 1, 1], use: [2, 0, 1] },
    { axis: 2, sizes: [3, 1], use: [1, 0, 0] },
    { axis: -1, sizes: [2, 4, 2], use: [2, 1] },
  ];
  for (const { axis, sizes, use } of cases) {
    it(`split [2, 3, 4, 8] along axis ${axis} into [${sizes}], joined as parts [${use}]`, async () => {
      const ax = (axis + 4) % 4;
      const partShape = (n: number) => shape.map((d, i) => (i === ax ? n : d));
      await gradCheck({
        gpu: await testGpu(),
        kernel: 'split',
        inputs: [{ shape }],
        gpuForward: ([x]) => {
          const parts = split(x, sizes, axis);
          return concat(use.map((i) => parts[i]), ax);
        },
        cpuForward: ([x]) => {
          const parts = splitRef(x, shape, sizes, ax);
          return concatRef(use.map((i) => parts[i]), use.map((i) => partShape(sizes[i])), ax);
        },
        forwardTol: EXACT,
        // A part used twice gets its two gradients added in f32: one rounding, 2⁻²⁴ relative.
        gradTol: { atol: 1e-9, rtol: 6e-8 },
      });
    });
  }

  it('writes the parts\' gradients into one buffer: no fill and no sum when every part has one', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, randn(2 * 3 * 4 * 8, 9), shape);
    x.requiresGrad = true;
    const kernels = await kernelsUsed(gpu, async () => {
      scope(() => {
        const [a, b] = split(x, [1, 2], 1);
        backward(concat([b, a], 1), full(gpu, shape, 1));
      });
    });
    const fillsAndSums = kernels.filter((k) => k.startsWith('layout:fill') || k.startsWith('accumulate:add'));
    expect(fillsAndSums).toEqual(['layout:fill_vec4']); // full()'s own
    expectClose(await x.grad!.read(), new Float64Array(x.size).fill(1), EXACT, 'split', 'grad through concat');
    x.dispose();
  });

  it('rejects sizes that do not add up, with a message naming the op', async () => {
    const x = Tensor.fromArray(await testGpu(), new Float32Array(6), [2, 3]);
    expect(() => split(x, [1, 1], 1)).toThrow(/split: sizes \[1, 1\] must be positive integers adding up to 3, the size of axis 1 of x \[2, 3\]/);
    expect(() => split(x, [2, 0, 1], 1)).toThrow(/split: sizes \[2, 0, 1\]/);
    expect(() => split(x, [1, 1], 2)).toThrow(/split: axis 2 is out of range/);
    x.dispose();
  });
});

// Boxes whose innermost run is contiguous on both sides, 4-aligned, go through the vec4 copy;
// the ranges here start on and off a multiple of 4 so both kernels are checked.
describe('vec4 copies', () => {
  const shape = [2, 3, 4, 8];
  for (const dims of [[1, 0, 2, 3], [0, 2, 1, 3], [2, 0, 1, 3]]) {
    it(`permute [2, 3, 4, 8] by [${dims}]`, async () => {
      await gradCheck({
        gpu: await testGpu(),
        kernel: 'permute',
        inputs: [{ shape }],
        gpuForward: ([x]) => permute(x, dims),
        cpuForward: ([x]) => permuteRef(x, shape, dims),
        forwardTol: EXACT,
        gradTol: GRAD,
      });
    });
  }
  const ranges: [number, number, number][] = [[1, 1, 3], [3, 4, 8], [3, 2, 6], [2, 1, 2]];
  for (const [axis, start, end] of ranges) {
    it(`slice [2, 3, 4, 8] along axis ${axis}, [${start}, ${end})`, async () => {
      await gradCheck({
        gpu: await testGpu(),
        kernel: 'slice',
        inputs: [{ shape }],
        gpuForward: ([x]) => slice(x, axis, start, end),
        cpuForward: ([x]) => sliceRef(x, shape, axis, start, end),
        forwardTol: EXACT,
        gradTol: GRAD,
      });
    });
  }

  it('takes the vec4 copy exactly where the run is 4-aligned', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, randn(2 * 3 * 4 * 8, 5), shape);
    const entry = async (op: () => Tensor) => entriesUsed(gpu, async () => op().dispose());
    expect(await entry(() => permute(x, [0, 2, 1, 3]))).toEqual(['strided_copy_vec4']);
    expect(await entry(() => slice(x, 3, 4, 8))).toEqual(['strided_copy_vec4']);
    expect(await entry(() => slice(x, 3, 2, 6))).toEqual(['strided_copy']); // base 2 is not 4-aligned
    expect(await entry(() => permute(x, [0, 1, 3, 2]))).toEqual(['strided_copy']); // innermost stride 4
    x.dispose();
  });
});

describe('reshape / copy / zeros / full', () => {
  it('reshape is a view with a -1 and reshapes the gradient back', async () => {
    const gpu = await testGpu();
    await gradCheck({
      gpu,
      kernel: 'reshape',
      inputs: [{ shape: [2, 3, 4] }],
      gpuForward: ([x]) => reshape(x, [4, -1]),
      cpuForward: ([x]) => x.slice(),
      forwardTol: EXACT,
      gradTol: GRAD,
    });
    const x = Tensor.fromArray(gpu, new Float32Array(24), [2, 3, 4]);
    const v = reshape(x, [6, 4]);
    expect(v.buffer).toBe(x.buffer);
    expect(v.shape).toEqual([6, 4]);
    expect(() => reshape(x, [5, -1])).toThrow(/reshape: cannot reshape \[2, 3, 4\]/);
    expect(() => reshape(x, [-1, -1])).toThrow(/reshape: at most one -1/);
    v.dispose();
    x.dispose();
  });

  it('copy makes new storage with the same values', async () => {
    await gradCheck({
      gpu: await testGpu(),
      kernel: 'copy',
      inputs: [{ shape: [3, 5] }],
      gpuForward: ([x]) => {
        const y = copy(x);
        expect(y.buffer).not.toBe(x.buffer);
        return y;
      },
      cpuForward: ([x]) => x.slice(),
      forwardTol: EXACT,
      gradTol: GRAD,
    });
  });

  it('zeros and full fill any shape, including more than 65535·256 elements', async () => {
    const gpu = await testGpu();
    for (const shape of [[1], [3, 7], [0, 4], [2, 8388609]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const z = zeros(gpu, shape);
      const f = full(gpu, shape, -2.5);
      expectClose(await z.read(), new Float64Array(n), EXACT, 'fill', 'zeros');
      expectClose(await f.read(), new Float64Array(n).fill(-2.5), EXACT, 'fill', 'full');
      z.dispose();
      f.dispose();
    }
    expect(() => zeros(gpu, [2, -1])).toThrow(/zeros: shape \[2, -1\]/);
  });

  it('forward and backward of every op free all their intermediates', async () => {
    const gpu = await testGpu();
    const before = gpu.memory().liveBuffers;
    const x = Tensor.fromArray(gpu, randn(60, 3), [3, 4, 5]);
    x.requiresGrad = true;
    scope(() => {
      const [head] = split(x, [2, 2], 1); // only the first part reaches y: its backward fills the rest
      const parts = [slice(x, 1, 0, 2), transpose(x, 0, 2), reshape(copy(x), [4, 3, 5]), head];
      const y = concat(parts.map((p) => reshape(p, [-1])), 0);
      backward(y, full(gpu, y.shape, 1));
    });
    // Every element of x reaches y through the transpose and the copy; those in the slice and the
    // split's first part twice more.
    const expected = Float64Array.from({ length: 60 }, (_, i) => (coords(i, [3, 4, 5])[1] < 2 ? 4 : 2));
    expectClose(await x.grad!.read(), expected, EXACT, 'shape ops', 'grad through a chain');
    x.dispose();
    expect(gpu.memory().liveBuffers).toBe(before);
  });
});
