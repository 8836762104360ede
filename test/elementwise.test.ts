import { describe, expect, it } from 'vitest';
import { add, addScalar, div, exp, gelu, log, mul, neg, relu, scale, sqrt, square, sub } from '../src/ops/elementwise.js';
import { backward, clearTape } from '../src/autograd/tape.js';
import { scope } from '../src/tensor/scope.js';
import { Tensor } from '../src/tensor/tensor.js';
import { expectClose, gradCheck, type Tolerance } from './helpers/check.js';
import { testGpu } from './helpers/gpu.js';
import { randn, rng, uniform } from './helpers/random.js';
import { entriesUsed } from './helpers/subgroups.js';
import { binaryRef, erfcRef, geluGradRef, geluRef } from './reference/elementwise.js';

// add, sub, mul: the exact result of two f32 operands rounded once is within half an ulp
// (2⁻²⁴·|ref|; a cancelling sum is exact); 1.2e-7 allows one ulp.
const ONE_ROUNDING: Tolerance = { atol: 0, rtol: 1.2e-7 };
// WGSL allows division 2.5 ulp of error.
const DIVISION: Tolerance = { atol: 0, rtol: 3e-7 };
// Gradients of broadcast operands sum up to 300 products: f32 summation error ~sqrt(n)·6e-8·|terms|,
// up to ~1e-6; the f64 central differences are exact to ~1e-9 for these (at most cubic) functions.
const GRAD: Tolerance = { atol: 1e-6, rtol: 1e-6 };

/** n values with 0.5 <= |v| < 2 and random signs: safe divisors. */
function awayFromZero(n: number, seed: number): Float32Array {
  const u = rng(seed);
  return Float32Array.from(uniform(n, seed + 1, 0.5, 2), (v) => (u() < 0.5 ? -v : v));
}

const numel = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

// ---- binary ops ------------------------------------------------------------------------------

const binaryOps = [
  { name: 'add', op: add, f: (x: number, y: number) => x + y, tol: ONE_ROUNDING },
  { name: 'sub', op: sub, f: (x: number, y: number) => x - y, tol: ONE_ROUNDING },
  { name: 'mul', op: mul, f: (x: number, y: number) => x * y, tol: ONE_ROUNDING },
  { name: 'div', op: div, f: (x: number, y: number) => x / y, tol: DIVISION },
];

const broadcastCases: [string, number[], number[]][] = [
  ['same shape', [3, 5], [3, 5]],
  ['same shape, 4-aligned (vec4 kernel)', [3, 8], [3, 8]],
  ['[2,3,8] and [3,8] (vec4 kernel)', [2, 3, 8], [3, 8]],
  ['[2,3,4] and [4]', [2, 3, 4], [4]],
  ['[4] and [2,3,4]', [4], [2, 3, 4]],
  ['[2,1,4] and [3,1]', [2, 1, 4], [3, 1]],
  ['[1] and [5,7]', [1], [5, 7]],
  ['[5,7] and scalar-like [1]', [5, 7], [1]],
  ['0-d [] and [2,3]', [], [2, 3]],
  ['[2,300] and [2,1] (longer than a workgroup)', [2, 300], [2, 1]],
  ['rank 6, alternating broadcasts', [2, 1, 3, 1, 2, 3], [1, 4, 1, 5, 2, 1]],
];

describe('binary ops with broadcasting', () => {
  for (const { name, op, f, tol } of binaryOps) {
    for (const [label, aShape, bShape] of broadcastCases) {
      it(`${name}: ${label}`, async () => {
        const gpu = await testGpu();
        await gradCheck({
          gpu,
          kernel: name,
          inputs: [{ shape: aShape }, { shape: bShape, data: name === 'div' ? awayFromZero(numel(bShape), 9) : undefined }],
          gpuForward: ([a, b]) => op(a, b),
          cpuForward: binaryRef(f, aShape, bShape),
          forwardTol: tol,
          gradTol: GRAD,
        });
      });
    }
  }

  it('mul(x, x): one buffer bound twice, both gradients summed', async () => {
    const gpu = await testGpu();
    await gradCheck({
      gpu,
      kernel: 'mul',
      inputs: [{ shape: [4, 9] }],
      gpuForward: ([x]) => mul(x, x),
      cpuForward: ([x]) => x.map((v) => v * v),
      forwardTol: ONE_ROUNDING,
      gradTol: GRAD,
    });
  });

  it('computes only the gradients that are needed (and saves only what they read)', async () => {
    const gpu = await testGpu();
    for (const [name, op, f, tol] of [['div', div, (x: number, y: number) => x / y, DIVISION], ['mul', mul, (x: number, y: number) => x * y, ONE_ROUNDING]] as const) {
      for (const aNeedsGrad of [false, true]) {
        await gradCheck({
          gpu,
          kernel: name,
          inputs: [{ shape: [3, 4], grad: aNeedsGrad }, { shape: [4], data: awayFromZero(4, 9), grad: !aNeedsGrad }],
          gpuForward: ([a, b]) => op(a, b),
          cpuForward: binaryRef(f, [3, 4], [4]),
          forwardTol: tol,
          gradTol: GRAD,
        });
      }
    }
  });

  it('rejects more than 8 dimensions that cannot be merged', async () => {
    const gpu = await testGpu();
    const a = Tensor.fromArray(gpu, randn(32, 1), [2, 1, 2, 1, 2, 1, 2, 1, 2]);
    const b = Tensor.fromArray(gpu, randn(16, 2), [2, 1, 2, 1, 2, 1, 2, 1]);
    const before = gpu.memory().liveBytes;
    expect(() => mul(a, b)).toThrow('mul: the index space [2, 2, 2, 2, 2, 2, 2, 2, 2] still has 9 dimensions after merging; at most 8 are supported');
    expect(gpu.memory().liveBytes).toBe(before);
    a.dispose();
    b.dispose();
  });

  it('rejects shapes that do not broadcast, naming the op and the shapes', async () => {
    const gpu = await testGpu();
    const a = Tensor.fromArray(gpu, randn(6, 1), [2, 3]);
    const b = Tensor.fromArray(gpu, randn(4, 2), [4]);
    expect(() => sub(a, b)).toThrow('sub: shapes [2, 3] and [4] cannot be broadcast together (dim -1: 3 vs 4)');
    a.dispose();
    b.dispose();
  });

  it('adds 17,000,001 elements (a grid of more than 65535 workgroups)', async () => {
    const gpu = await testGpu();
    const n = 17_000_001; // not a multiple of 4: the scalar kernel, one element per invocation
    const a = randn(n, 11);
    const b = randn(n, 12);
    const [ta, tb] = [Tensor.fromArray(gpu, a, [n]), Tensor.fromArray(gpu, b, [n])];
    const sum = add(ta, tb);
    const out = await sum.read();
    for (const t of [ta, tb, sum]) t.dispose();
    const u = rng(13);
    const at = Array.from({ length: 300 }, () => Math.floor(u() * n)).concat([0, 256 * 65535 - 1, 256 * 65535, n - 1]);
    expectClose(at.map((i) => out[i]), at.map((i) => a[i] + b[i]), ONE_ROUNDING, 'add', 'forward 17M elements (sampled)');
  });
});

// ---- scalar and unary ops --------------------------------------------------------------------

const positive = (n: number, seed: number) => uniform(n, seed, 0.2, 3);

// Forward: scale, addScalar and square round once (ONE_ROUNDING); neg and relu are exact; exp, log
// and sqrt are the device's builtins, which WGSL lets err by a few ulps (exp 3 + 2|x|; log 2⁻²¹
// absolute near 1, where it crosses 0); gelu evaluates Φ's rational functions and exp in f32:
// a few ulps relative (the dense-grid test below).
const GELU: Tolerance = { atol: 1e-8, rtol: 3e-7 };
// Backward: dy·f'(x), one or two roundings on an f'(x) itself within a few ulps; atol for gelu's
// derivative, which cancels to 0 near x = -0.75 from terms near 0.23.
const UNARY_GRAD: Tolerance = { atol: 1e-7, rtol: 5e-7 };
const unaryOps: {
  name: string;
  op: (x: Tensor) => Tensor;
  f: (x: number) => number;
  tol: Tolerance;
  data?: (n: number, seed: number) => Float32Array;
}[] = [
  { name: 'scale', op: (x) => scale(x, -1.7), f: (x) => x * Math.fround(-1.7), tol: ONE_ROUNDING },
  { name: 'addScalar', op: (x) => addScalar(x, 0.3), f: (x) => x + Math.fround(0.3), tol: ONE_ROUNDING },
  { name: 'neg', op: neg, f: (x) => -x, tol: { atol: 0, rtol: 0 } },
  { name: 'relu', op: relu, f: (x) => Math.max(x, 0), tol: { atol: 0, rtol: 0 } },
  { name: 'square', op: square, f: (x) => x * x, tol: ONE_ROUNDING },
  { name: 'exp', op: exp, f: Math.exp, tol: { atol: 0, rtol: 4e-7 } },
  { name: 'log', op: log, f: Math.log, tol: { atol: 2e-7, rtol: 2.4e-7 }, data: positive },
  { name: 'sqrt', op: sqrt, f: Math.sqrt, tol: { atol: 0, rtol: 2.4e-7 }, data: positive },
  { name: 'gelu', op: gelu, f: geluRef, tol: GELU },
];

describe('scalar and unary ops', () => {
  for (const { name, op, f, tol, data } of unaryOps) {
    for (const shape of [[3, 5, 7], [300], [1], []]) {
      it(`${name}: [${shape.join(', ')}]`, async () => {
        const gpu = await testGpu();
        await gradCheck({
          gpu,
          kernel: name,
          inputs: [{ shape, data: data?.(numel(shape), 5) }],
          gpuForward: ([x]) => op(x),
          cpuForward: ([x]) => x.map(f),
          forwardTol: tol,
          gradTol: UNARY_GRAD,
        });
      });
    }
  }

  it('relu: the gradient at 0 is 0 (PyTorch)', async () => {
    const gpu = await testGpu();
    const x = Tensor.fromArray(gpu, [-1, 0, 2, -0], [4]);
    x.requiresGrad = true;
    const y = relu(x);
    backward(y, Tensor.fromArray(gpu, [1, 1, 1, 1], [4]));
    expect(Array.from(await y.read())).toEqual([0, 0, 2, 0]);
    expect(Array.from(await x.grad!.read())).toEqual([0, 0, 1, 0]);
    x.dispose();
    y.dispose();
  });

  it('gelu and its derivative match the erf form on a dense grid over [-12, 12]', async () => {
    const gpu = await testGpu();
    const xs = Float32Array.from({ length: 24 * 256 + 1 }, (_, i) => -12 + i / 256);
    const x = Tensor.fromArray(gpu, xs, [xs.length]);
    x.requiresGrad = true;
    const y = gelu(x);
    backward(y, Tensor.fromArray(gpu, new Float32Array(xs.length).fill(1), [xs.length]));
    // Φ's rational functions and exp evaluated in f32: a few ulps, relative. atol covers the far
    // left tail (|gelu| < 1e-8), where the device's exp of arguments near -70 loses digits.
    expectClose(await y.read(), Array.from(xs, geluRef), GELU, 'gelu', 'forward, dense grid');
    // The derivative Φ(x) + x·φ(x) cancels to 0 near x = -0.75, from terms near 0.23: atol 1e-7.
    expectClose(await x.grad!.read(), Array.from(xs, geluGradRef), { atol: 1e-7, rtol: 3e-7 }, 'gelu', 'derivative, dense grid');
    x.dispose();
    y.dispose();
  });

  it('the f64 erfc reference matches tabulated values', () => {
    const table: [number, number][] = [
      [0.5, 0.4795001221869535], [1, 0.1572992070502851], [-1, 1.842700792949715],
      [3, 2.209049699858544e-5], [5, 1.537459794428035e-12],
    ];
    for (const [x, v] of table) expect(Math.abs(erfcRef(x) - v) / v).toBeLessThan(1e-14);
  });
});

describe('kernel choice', () => {
  it('takes the vec4 kernels exactly where every operand walks whole vec4s', async () => {
    const gpu = await testGpu();
    const t = (...shape: number[]) => Tensor.fromArray(gpu, randn(numel(shape), 7), shape);
    const [a, b, c, d] = [t(3, 8), t(8), t(3, 1), t(3, 5)];
    const entries = (op: () => Tensor) => entriesUsed(gpu, async () => op().dispose());
    expect(await entries(() => add(a, a))).toEqual(['binary_vec4']);
    expect(await entries(() => mul(a, b))).toEqual(['binary_vec4']); // b's rows repeat: stride 0, then 1
    expect(await entries(() => mul(a, c))).toEqual(['binary']); // c is constant along the innermost dim
    expect(await entries(() => add(d, d))).toEqual(['binary']); // 15 elements
    expect(await entries(() => gelu(a))).toEqual(['unary_vec4']);
    expect(await entries(() => gelu(d))).toEqual(['unary']);
    for (const x of [a, b, c, d]) x.dispose();
  });
});

describe('memory', () => {
  it('forward and backward of every op leave no live buffers behind', async () => {
    const gpu = await testGpu();
    await gpu.sync();
    const before = gpu.memory().liveBytes;
    const ops: ((a: Tensor, b: Tensor) => Tensor)[] = [
      add, sub, mul, div, (a) => scale(a, 2), (a) => addScalar(a, 1), neg, relu, gelu, exp, square,
      (a) => log(square(a)), (a) => sqrt(square(a)),
    ];
    for (const op of ops) {
      const a = Tensor.fromArray(gpu, awayFromZero(24, 3), [2, 3, 4]);
      const b = Tensor.fromArray(gpu, awayFromZero(4, 4), [4]);
      a.requiresGrad = b.requiresGrad = true;
      scope(() => backward(op(a, b), Tensor.fromArray(gpu, randn(24, 5), [2, 3, 4])));
      clearTape();
      a.dispose();
      b.dispose();
    }
    expect(gpu.memory().liveBytes).toBe(before);
  });
});
