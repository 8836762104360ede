// attention: fused scaled-dot-product attention, softmax(scale·q·kᵀ + bias)·v, flash style
// (the T×T probabilities are never stored), and its FlashAttention-2 backward rule.

import { uniforms, type EntryOf, type Gpu } from '../gpu/gpu.js';
import { needsGrad, record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { fmt } from './layout.js';
import { cpuSubgroups } from './subgroups.js';

export interface AttentionOptions {
  /** Multiplies q·kᵀ: Dh^-0.5 in timm; vit-pytorch uses dim^-0.5 of the model width. */
  scale: number;
  /** [H, T, T] added to the logits of every batch element (BEiT's relative position bias). */
  bias?: Tensor;
}

interface Dims {
  B: number;
  H: number;
  T: number;
  Dh: number;
}

/** The largest head dimension the kernels hold in registers (MAX_DH in attention.wgsl). */
const MAX_HEAD_DIM = 128;
/** Rows per workgroup of the row-block kernels (ROWS in attention.wgsl). */
const ROWS = 64;
/** Rows per workgroup of the subgroup kernels (ROWS in attention-subgroups.wgsl). */
const SUBGROUP_ROWS = 16;

function dims(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Dims {
  const shapes = `q ${fmt(q.shape)}, k ${fmt(k.shape)}, v ${fmt(v.shape)}`;
  if (q.rank !== 4) throw new Error(`attention: q must be [B, H, T, Dh]; got ${shapes}`);
  if ([k, v].some((t) => t.rank !== 4 || t.shape.some((d, i) => d !== q.shape[i]))) {
    throw new Error(`attention: q, k and v must have the same shape [B, H, T, Dh]; got ${shapes}`);
  }
  const [B, H, T, Dh] = q.shape;
  if (q.size === 0) throw new Error(`attention: every dimension of q, k, v must be at least 1; got ${shapes}`);
  if (Dh > MAX_HEAD_DIM) throw new Error(`attention: head dimension ${Dh} exceeds ${MAX_HEAD_DIM}; got ${shapes}`);
  if (!Number.isFinite(o.scale)) throw new Error(`attention: scale must be a finite number; got ${o.scale}`);
  const b = o.bias;
  if (b && (b.rank !== 3 || b.shape[0] !== H || b.shape[1] !== T || b.shape[2] !== T)) {
    throw new Error(`attention: bias must be [H, T, T] = [${H}, ${T}, ${T}]; got ${fmt(b.shape)} with ${shapes}`);
  }
  return { B, H, T, Dh };
}

function params(d: Dims, scale: number): ArrayBuffer {
  return uniforms([d.B, d.H, d.T], [scale]);
}

/**
 * The forward, dQ and dK/dV kernels of one of two families: attention.wgsl (GPUs, and CPU
 * adapters without subgroups or with a head dimension that is not a multiple of 4) or
 * attention-subgroups.wgsl (CPU adapters with subgroups, rows read as vec4s).
 */
interface RowKernels<S extends 'attention' | 'attention-subgroups'> {
  shader: S;
  forward: EntryOf<S>;
  /** dQ, and with GRAD_BIAS the bias gradient. */
  gradQ: EntryOf<S>;
  gradKv: EntryOf<S>;
  params: (d: Dims, scale: number) => ArrayBuffer;
  /** Workgroups covering every row of every (b, h) slice. */
  workgroups: (d: Dims) => number;
}

const ROW_KERNELS: RowKernels<'attention'> = {
  shader: 'attention',
  forward: 'attention_forward',
  gradQ: 'attention_grad_q',
  gradKv: 'attention_grad_kv',
  params,
  workgroups: (d) => d.B * d.H * Math.ceil(d.T / ROWS),
};

const SUBGROUP_KERNELS: RowKernels<'attention-subgroups'> = {
  shader: 'attention-subgroups',
  forward: 'attention_forward_subgroups',
  gradQ: 'attention_grad_q_subgroups',
  gradKv: 'attention_grad_kv_subgroups',
  // The vec4s per row come as a run-time value too (D4 in attention-subgroups.wgsl).
  params: (d, scale) => uniforms([d.B, d.H, d.T, d.Dh / 4], [scale]),
  workgroups: (d) => d.B * d.H * Math.ceil(d.T / SUBGROUP_ROWS),
};

function rowKernels(gpu: Gpu, d: Dims): RowKernels<'attention'> | RowKernels<'attention-subgroups'> {
  return d.Dh % 4 === 0 && cpuSubgroups(gpu) ? SUBGROUP_KERNELS : ROW_KERNELS;
}

/** The forward kernel: the output and the per-row log-sum-exp L [B, H, T] of the logits. */
function forward(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | undefined, d: Dims, scale: number) {
  const out = Tensor.empty(q.gpu, q.shape);
  const lse = Tensor.empty(q.gpu, [d.B, d.H, d.T]);
  const kernels = rowKernels(q.gpu, d);
  q.gpu.dispatch({
    shader: kernels.shader,
    entry: kernels.forward,
    constants: { DH: d.Dh, HAS_BIAS: bias ? 1 : 0 },
    uniforms: kernels.params(d, scale),
    // Without a bias, q stands in for the binding (never read).
    buffers: [q, k, v, bias ?? q, out, lse],
    workgroups: kernels.workgroups(d),
  });
  return { out, lse };
}

/** (L_i, D_i = Σ dO_i·O_i) per row, interleaved as [B, H, T, 2]. */
function rowStats(out: Tensor, dOut: Tensor, lse: Tensor, d: Dims): Tensor {
  const stats = Tensor.empty(out.gpu, [d.B, d.H, d.T, 2]);
  out.gpu.dispatch({
    shader: 'attention',
    entry: 'attention_row_stats',
    constants: { DH: d.Dh },
    uniforms: params(d, 0),
    buffers: [out, dOut, lse, stats],
    workgroups: Math.ceil((d.B * d.H * d.T) / ROWS),
  });
  return stats;
}

interface Saved {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  bias: Tensor | undefined;
  dOut: Tensor;
  stats: Tensor;
}

/**
 * dQ, and with `gradBias` the gradient of the shared [H, T, T] bias, Σ over the batch of dS, from
 * the same kernel: its grid then covers the heads only and each workgroup walks the batch in order.
 */
function gradQ(s: Saved, d: Dims, scale: number, gradBias: boolean): { dq: Tensor; dBias: Tensor | null } {
  const gpu = s.q.gpu;
  const dq = Tensor.empty(gpu, s.q.shape);
  const dBias = gradBias && s.bias ? Tensor.empty(gpu, s.bias.shape) : null;
  // Without a bias gradient, a one-element stand-in fills the binding (never written).
  const dBiasBinding = dBias ?? Tensor.empty(gpu, [1]);
  const kernels = rowKernels(gpu, d);
  gpu.dispatch({
    shader: kernels.shader,
    entry: kernels.gradQ,
    constants: { DH: d.Dh, HAS_BIAS: s.bias ? 1 : 0, GRAD_BIAS: dBias ? 1 : 0 },
    uniforms: kernels.params(d, scale),
    buffers: [s.q, s.k, s.v, s.bias ?? s.q, s.dOut, s.stats, dq, dBiasBinding],
    workgroups: kernels.workgroups(dBias ? { ...d, B: 1 } : d),
  });
  if (!dBias) dBiasBinding.dispose();
  return { dq, dBias };
}

function gradKV(s: Saved, d: Dims, scale: number): [Tensor, Tensor] {
  const dk = Tensor.empty(s.q.gpu, s.q.shape);
  const dv = Tensor.empty(s.q.gpu, s.q.shape);
  const kernels = rowKernels(s.q.gpu, d);
  s.q.gpu.dispatch({
    shader: kernels.shader,
    entry: kernels.gradKv,
    constants: { DH: d.Dh, HAS_BIAS: s.bias ? 1 : 0 },
    uniforms: kernels.params(d, scale),
    buffers: [s.q, s.k, s.v, s.bias ?? s.q, s.dOut, s.stats, dk, dv],
    workgroups: kernels.workgroups(d),
  });
  return [dk, dv];
}

/**
 * softmax(scale·q·kᵀ + bias)·v for q, k, v of shape [B, H, T, Dh] (Dh <= 128), with an optional
 * [H, T, T] bias shared across the batch. Returns [B, H, T, Dh].
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): Tensor {
  const d = dims(q, k, v, options);
  const { scale, bias } = options;
  const { out, lse } = forward(q, k, v, bias, d, scale);
  // Decided now: a bias that needs no gradient (a fixed mask) skips its gradient kernel.
  const biasGrad = bias !== undefined && needsGrad(bias);
  const result = record({
    op: 'attention',
    inputs: bias ? [q, k, v, bias] : [q, k, v],
    output: out,
    save: bias ? [q, k, v, out, lse, bias] : [q, k, v, out, lse],
    backward: (dOut, [Q, K, V, O, L, Bias]) => {
      const stats = rowStats(O, dOut, L, d);
      const s: Saved = { q: Q, k: K, v: V, bias: Bias, dOut, stats };
      const { dq, dBias } = gradQ(s, d, scale, biasGrad);
      const [dk, dv] = gradKV(s, d, scale);
      stats.dispose();
      return bias ? [dq, dk, dv, dBias] : [dq, dk, dv];
    },
  });
  // The tape keeps its own reference to L when it recorded; without recording L is not needed.
  lse.dispose();
  return result;
}
