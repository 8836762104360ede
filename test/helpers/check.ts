// Comparing GPU results with plain-TypeScript references, and gradients with central finite
// differences computed in f64 on the CPU reference.
import { expect } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { backward, clearTape } from '../../src/autograd/tape.js';
import { randn } from './random.js';
import { reportError } from './report.js';

export interface Tolerance {
  /** Absolute slack. */
  atol: number;
  /** Relative slack, times |expected|. */
  rtol: number;
}

export interface ErrorStats {
  maxAbs: number;
  /** maxAbs divided by the largest |expected|: an error relative to the tensor's scale. */
  normalized: number;
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| elementwise (and no NaN where the
 * expected value is finite), records the measured error under `kernel`/`check`, and returns it.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  kernel: string,
  check: string,
): ErrorStats {
  expect(actual.length, `${kernel} ${check}: length`).toBe(expected.length);
  let maxAbs = 0;
  let maxRef = 0;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = actual[i];
    if (Number.isNaN(e)) {
      expect(Number.isNaN(a), `${kernel} ${check}: element ${i} should be NaN, got ${a}`).toBe(true);
      continue;
    }
    const err = Math.abs(a - e);
    if (Number.isNaN(a) || !Number.isFinite(err)) {
      if (a === e) continue; // matching infinities
      throw new Error(`${kernel} ${check}: element ${i} is ${a}, expected ${e}`);
    }
    maxAbs = Math.max(maxAbs, err);
    maxRef = Math.max(maxRef, Math.abs(e));
    const excess = err - (tol.atol + tol.rtol * Math.abs(e));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  const stats = { maxAbs, normalized: maxRef > 0 ? maxAbs / maxRef : maxAbs };
  reportError(kernel, check, stats.maxAbs, stats.normalized);
  if (worst >= 0) {
    throw new Error(
      `${kernel} ${check}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(|err| ${Math.abs(actual[worst] - expected[worst]).toExponential(3)} > atol ${tol.atol} + rtol ${tol.rtol}·|ref|; max abs err ${maxAbs.toExponential(3)})`,
    );
  }
  return stats;
}

export interface GradCheckInput {
  shape: number[];
  /** Values; standard-normal from the seed when omitted. */
  data?: Float32Array;
  /** Compare this input's gradient (default true). Integer inputs such as class targets set false. */
  grad?: boolean;
}

export interface GradCheckSpec {
  gpu: Gpu;
  kernel: string;
  inputs: GradCheckInput[];
  /** The op under test, on GPU tensors. */
  gpuForward: (inputs: Tensor[]) => Tensor;
  /** The same function in plain f64 loops. */
  cpuForward: (inputs: Float64Array[]) => Float64Array;
  forwardTol: Tolerance;
  gradTol: Tolerance;
  seed?: number;
  /** Finite-difference step, relative to max(1, |x|). */
  step?: number;
}

/**
 * 1. Runs the op on the GPU and the reference on the CPU; compares outputs.
 * 2. Draws a random upstream gradient g and runs backward on the GPU.
 * 3. Compares each input's gradient with the central difference of sum(cpuForward(x) * g), in f64.
 */
export async function gradCheck(spec: GradCheckSpec): Promise<void> {
  const seed = spec.seed ?? 1;
  const step = spec.step ?? 1e-5;
  const hostInputs = spec.inputs.map((inp, i) => inp.data ?? randn(inp.shape.reduce((a, b) => a * b, 1), seed * 101 + i));
  const tensors = spec.inputs.map((inp, i) => {
    const t = Tensor.fromArray(spec.gpu, hostInputs[i], inp.shape);
    t.requiresGrad = inp.grad !== false;
    return t;
  });
  const cpuInputs = hostInputs.map((x) => Float64Array.from(x));
  try {
    const out = spec.gpuForward(tensors);
    const expected = spec.cpuForward(cpuInputs);
    expectClose(await out.read(), expected, spec.forwardTol, spec.kernel, 'forward');

    const g = randn(out.size, seed * 7919);
    const gT = Tensor.fromArray(spec.gpu, g, out.shape);
    backward(out, gT);
    gT.dispose();
    out.dispose();

    const objective = (xs: Float64Array[]) => {
      const y = spec.cpuForward(xs);
      let s = 0;
      for (let i = 0; i < y.length; i++) s += y[i] * g[i];
      return s;
    };
    for (let i = 0; i < tensors.length; i++) {
      if (spec.inputs[i].grad === false) continue;
      const grad = tensors[i].grad;
      expect(grad, `${spec.kernel}: input ${i} got no gradient`).not.toBeNull();
      const fd = new Float64Array(cpuInputs[i].length);
      for (let j = 0; j < fd.length; j++) {
        const x0 = cpuInputs[i][j];
        const h = step * Math.max(1, Math.abs(x0));
        cpuInputs[i][j] = x0 + h;
        const up = objective(cpuInputs);
        cpuInputs[i][j] = x0 - h;
        const down = objective(cpuInputs);
        cpuInputs[i][j] = x0;
        fd[j] = (up - down) / (2 * h);
      }
      expectClose(await grad!.read(), fd, spec.gradTol, spec.kernel, `grad input ${i}`);
    }
  } finally {
    clearTape();
    for (const t of tensors) t.dispose();
  }
}
