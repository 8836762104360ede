// CPU references of attention (src/ops/attention.ts, shaders/attention.wgsl,
// shaders/attention-subgroups.wgsl): plain f64 loops over the full T×T logits.

/** The dimensions of q, k, v: [B, H, T, Dh]. */
export interface AttentionShape {
  B: number;
  H: number;
  T: number;
  Dh: number;
}

/** Row i of softmax(scale·q·kᵀ + bias) for head-batch bh, written into `p`. */
function probabilityRow(q: Float64Array, k: Float64Array, { H, T, Dh }: AttentionShape, bh: number, i: number, scale: number, bias: Float64Array | undefined, p: Float64Array): void {
  const base = bh * T * Dh;
  const h = bh % H;
  let max = -Infinity;
  for (let j = 0; j < T; j++) {
    let qk = 0;
    for (let d = 0; d < Dh; d++) qk += q[base + i * Dh + d] * k[base + j * Dh + d];
    p[j] = scale * qk + (bias ? bias[(h * T + i) * T + j] : 0);
    max = Math.max(max, p[j]);
  }
  let sum = 0;
  for (let j = 0; j < T; j++) sum += (p[j] = Math.exp(p[j] - max));
  for (let j = 0; j < T; j++) p[j] /= sum;
}

/** Naive f64 attention: softmax over the full row of logits, then the weighted sum of v. */
export function attentionRef(xs: Float64Array[], shape: AttentionShape, scale: number, bias?: Float64Array): Float64Array {
  const { B, H, T, Dh } = shape;
  const [q, k, v] = xs;
  const out = new Float64Array(B * H * T * Dh);
  const p = new Float64Array(T);
  for (let bh = 0; bh < B * H; bh++) {
    const base = bh * T * Dh;
    for (let i = 0; i < T; i++) {
      probabilityRow(q, k, shape, bh, i, scale, bias, p);
      for (let j = 0; j < T; j++) {
        for (let d = 0; d < Dh; d++) out[base + i * Dh + d] += p[j] * v[base + j * Dh + d];
      }
    }
  }
  return out;
}

/** The analytic f64 gradients of sum(attention(q, k, v) ∘ g), for shapes too large for finite differences. */
export function attentionGradRef(xs: Float64Array[], g: ArrayLike<number>, shape: AttentionShape, scale: number, bias?: Float64Array) {
  const { B, H, T, Dh } = shape;
  const [q, k, v] = xs;
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(q.length);
  const dv = new Float64Array(q.length);
  const dBias = new Float64Array(H * T * T);
  const p = new Float64Array(T);
  const dp = new Float64Array(T);
  for (let bh = 0; bh < B * H; bh++) {
    const base = bh * T * Dh;
    const h = bh % H;
    for (let i = 0; i < T; i++) {
      probabilityRow(q, k, shape, bh, i, scale, bias, p);
      for (let j = 0; j < T; j++) {
        let gv = 0;
        for (let d = 0; d < Dh; d++) gv += g[base + i * Dh + d] * v[base + j * Dh + d];
        dp[j] = gv;
      }
      let D = 0;
      for (let j = 0; j < T; j++) D += p[j] * dp[j];
      for (let j = 0; j < T; j++) {
        const ds = p[j] * (dp[j] - D);
        dBias[(h * T + i) * T + j] += ds;
        for (let d = 0; d < Dh; d++) {
          dq[base + i * Dh + d] += scale * ds * k[base + j * Dh + d];
          dk[base + j * Dh + d] += scale * ds * q[base + i * Dh + d];
          dv[base + j * Dh + d] += p[j] * g[base + i * Dh + d];
        }
      }
    }
  }
  return { dq, dk, dv, dBias };
}
