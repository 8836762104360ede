import { describe, expect, it } from 'vitest';
import { logSoftmax, softmax } from '../src/ops/softmax.js';
import { Tensor } from '../src/tensor/tensor.js';
import { gradCheck, expectClose } from './helpers/check.js';
import { testGpu } from './helpers/gpu.js';
import { randn } from './helpers/random.js';
import { softmaxRef } from './reference/softmax.js';

// Probabilities: f32 exp (a few ulps) times 1/Σ over ≤ 1025 terms summed as a tree (~10 roundings):
// a few 2⁻²⁴ relative per element.
const PROBS = { atol: 1e-9, rtol: 1e-6 };
// Log-probabilities of order 1..10: the ulp of x − max plus the rounding of log Σ.
const LOGPROBS = { atol: 2e-6, rtol: 1e-6 };
// Gradients: one more reduction (Σ dy·y) of the same length; central differences are exact to ~1e-10.
const GRAD = { atol: 1e-6, rtol: 1e-5 };

/** Standard-normal values plus an offset, rounded to f32 (what the GPU sees). */
function shifted(n: number, seed: number, offset: number): Float32Array {
  return randn(n, seed).map((v) => v + offset);
}

describe('softmax / logSoftmax', () => {
  const cases: [string, number[], number][] = [
    // name, shape, offset added to every input
    ['rows of length 1', [3, 1], 0],
    ['length 7', [2, 3, 7], 0],
    ['length 300 (loops past the workgroup)', [4, 300], 0],
    ['length 1025', [2, 1025], 0],
    ['length 300, inputs near +1000', [3, 300], 1000],
    ['length 7, inputs near −1000', [5, 7], -1000],
  ];
  for (const log of [false, true]) {
    const name = log ? 'logSoftmax' : 'softmax';
    for (const [label, shape, offset] of cases) {
      it(`${name}: ${label} [${shape}]`, async () => {
        const L = shape[shape.length - 1];
        const n = shape.reduce((a, b) => a * b, 1);
        await gradCheck({
          gpu: await testGpu(),
          kernel: name,
          inputs: [{ shape, data: shifted(n, L, offset) }],
          gpuForward: ([x]) => (log ? logSoftmax(x) : softmax(x)),
          cpuForward: ([x]) => softmaxRef(x, L, log),
          forwardTol: log ? LOGPROBS : PROBS,
          gradTol: GRAD,
          // Steps relative to max(1, |x|) would be 1e-2 near 1000; keep them ~1e-5 absolute.
          step: offset === 0 ? undefined : 1e-5 / Math.abs(offset),
        });
      });
    }
  }

  it('runs more than 65535 rows (split grid)', async () => {
    const gpu = await testGpu();
    const [rows, L] = [65600, 3];
    const data = randn(rows * L, 5, 3);
    const x = Tensor.fromArray(gpu, data, [rows, L]);
    const y = softmax(x);
    expectClose(await y.read(), softmaxRef(Float64Array.from(data), L, false), PROBS, 'softmax', 'forward 65600 rows');
    x.dispose();
    y.dispose();
  });

  it('rejects a scalar', async () => {
    const x = Tensor.fromArray(await testGpu(), [1], []);
    expect(() => softmax(x)).toThrow(/softmax: x must have at least one dimension/);
    x.dispose();
  });
});
