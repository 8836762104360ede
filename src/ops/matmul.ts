// matmul: batched C = op(A) · op(B) (+ bias over the last axis), and its backward rule.

import { uniforms, type Gpu } from '../gpu/gpu.js';
import { record } from '../autograd/tape.js';
import { numel, Tensor } from '../tensor/tensor.js';
import { cpuSubgroups } from './subgroups.js';

export interface MatmulOptions {
  /** Use Aᵀ: A is [..., K, M]. */
  transA?: boolean;
  /** Use Bᵀ: B is [..., N, K]. */
  transB?: boolean;
  /** [N], added to every row of the result. */
  bias?: Tensor;
}

interface Dims {
  batch: number[];
  M: number;
  K: number;
  N: number;
  sharedB: boolean;
}

function dims(a: Tensor, b: Tensor, o: MatmulOptions): Dims {
  const shapes = `A [${a.shape.join(', ')}]${o.transA ? 'ᵀ' : ''} · B [${b.shape.join(', ')}]${o.transB ? 'ᵀ' : ''}`;
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul: both operands need rank >= 2; got ${shapes}`);
  const [r0, r1] = a.shape.slice(-2);
  const [s0, s1] = b.shape.slice(-2);
  const M = o.transA ? r1 : r0;
  const K = o.transA ? r0 : r1;
  const Kb = o.transB ? s1 : s0;
  const N = o.transB ? s0 : s1;
  if (K !== Kb) throw new Error(`matmul: inner dimensions differ (${K} vs ${Kb}) in ${shapes}`);
  const batch = a.shape.slice(0, -2);
  const sharedB = b.rank === 2 && a.rank > 2;
  if (!sharedB && (b.rank !== a.rank || b.shape.slice(0, -2).some((d, i) => d !== batch[i]))) {
    throw new Error(`matmul: B must be 2-D (shared) or have A's batch dimensions; got ${shapes}`);
  }
  if (sharedB && o.transA) throw new Error(`matmul: a shared 2-D B with a transposed batched A is not supported (${shapes})`);
  if (o.bias && (o.bias.rank !== 1 || o.bias.shape[0] !== N)) {
    throw new Error(`matmul: bias must be [${N}], got [${o.bias.shape.join(', ')}]`);
  }
  return { batch, M, K, N, sharedB };
}

type Kernel = { shader: 'matmul'; entry: 'matmul' | 'matmul_cpu' } | { shader: 'matmul-subgroups'; entry: 'matmul_subgroups' };

/**
 * Workgroup-memory tiles on a GPU. On a CPU adapter, subgroup broadcasts and vec4 loads when the
 * device has subgroups and each operand's contiguous dimension (k for A, m for Aᵀ, n for B, k for
 * Bᵀ) is a multiple of 4; registers and scalar loads otherwise. `tile` is the side of the square
 * tile of C one workgroup computes.
 */
function kernel(gpu: Gpu, d: Dims, o: MatmulOptions): Kernel & { tile: number } {
  if (!gpu.info.cpu) return { shader: 'matmul', entry: 'matmul', tile: 64 };
  const vec4A = (o.transA ? d.M : d.K) % 4 === 0;
  const vec4B = (o.transB ? d.K : d.N) % 4 === 0;
  if (vec4A && vec4B && cpuSubgroups(gpu)) return { shader: 'matmul-subgroups', entry: 'matmul_subgroups', tile: 32 };
  return { shader: 'matmul', entry: 'matmul_cpu', tile: 64 };
}

/** The kernel alone, recording nothing. */
function launch(a: Tensor, b: Tensor, o: MatmulOptions): Tensor {
  const d = dims(a, b, o);
  const batches = numel(d.batch);
  const out = Tensor.empty(a.gpu, [...d.batch, d.M, d.N]);
  if (out.size === 0) return out;
  // The bias binding is part of the pipeline layout either way; without a bias, A stands in (never read).
  const buffers = [a, b, out, o.bias ?? a];
  const maxZ = a.gpu.limits.maxComputeWorkgroupsPerDimension;
  const { shader, entry, tile } = kernel(a.gpu, d, o);
  for (let batch0 = 0; batch0 < batches; batch0 += maxZ) {
    a.gpu.dispatch({
      shader,
      entry,
      constants: { TRANS_A: o.transA ? 1 : 0, TRANS_B: o.transB ? 1 : 0, HAS_BIAS: o.bias ? 1 : 0 },
      // The tile side comes last; only the subgroup kernel reads it (Params in the WGSL).
      uniforms: uniforms([d.M, d.N, d.K, d.M * d.K, d.sharedB ? 0 : d.K * d.N, batch0, tile]),
      buffers,
      workgroups: [Math.ceil(d.N / tile), Math.ceil(d.M / tile), Math.min(maxZ, batches - batch0)],
    });
  }
  return out;
}

/** Sums dC over every row: the gradient of a bias added to each row. */
function biasGrad(dC: Tensor): Tensor {
  const N = dC.shape[dC.rank - 1];
  const rows = dC.size / N;
  const out = Tensor.empty(dC.gpu, [N]);
  dC.gpu.dispatch({
    shader: 'matmul',
    entry: 'bias_grad',
    uniforms: uniforms([rows, N]),
    buffers: [dC, out],
    workgroups: Math.ceil(N / 64),
  });
  return out;
}

/** Merges all leading dimensions into rows: [..., R, C] -> [prod(...)·R, C] (a view). */
function rows2d(t: Tensor): Tensor {
  return t.reshapeView([-1, t.shape[t.rank - 1]]);
}

export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const out = launch(a, b, options);
  const { sharedB } = dims(a, b, options);
  const inputs = options.bias ? [a, b, options.bias] : [a, b];
  return record({
    op: 'matmul',
    inputs,
    output: out,
    save: [a, b],
    backward: (dC, [A, B]) => {
      // With C = op(A)·op(B): d op(A) = dC·op(B)ᵀ and d op(B) = op(A)ᵀ·dC; transpose back where needed.
      const dA = transA ? launch(B, dC, { transA: transB, transB: true }) : launch(dC, B, { transB: !transB });
      let dB: Tensor;
      if (sharedB) {
        // B was used by every batch: its gradient sums over them, i.e. one matmul over all rows.
        const A2 = rows2d(A);
        const dC2 = rows2d(dC);
        dB = transB ? launch(dC2, A2, { transA: true }) : launch(A2, dC2, { transA: true });
        A2.dispose();
        dC2.dispose();
      } else {
        dB = transB ? launch(dC, A, { transA: true, transB: transA }) : launch(A, dC, { transA: !transA });
      }
      return options.bias ? [dA, dB, biasGrad(dC)] : [dA, dB];
    },
  });
}
