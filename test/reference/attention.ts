// CPU references of attention (src/ops/attention.ts, shaders/attention.wgsl,
// shaders/attention-subgroups.wgsl): plain f64 loops over the full T×T logits.

/** The dimensions of q, k, v: [B, H, T, Dh]. */
export interface AttentionShape {
  B: number;
  H: number;
  T: number;
  Dh: number;
}

/** Naive f64 attention: softmax over the full row of logits, then the weighted sum of v. */
export function attentionRef(xs: Float64Array[], { B, H, T, Dh }: AttentionShape, scale: number, bias?: Float64Array): Float64Array {
  const [q, k, v] = xs;
  const out = new Float64Array(B * H * T * Dh);
  const s = new Float64Array(T);
  for (let bh = 0; bh < B * H; bh++) {
    const base = bh * T * Dh;
    const h = bh % H;
    for (let i = 0; i < T; i++) {
      let max = -Infinity;
      for (let j = 0; j < T; j++) {
        let qk = 0;
        for (let d = 0; d < Dh; d++) qk += q[base + i * Dh + d] * k[base + j * Dh + d];
        s[j] = scale * qk + (bias ? bias[(h * T + i) * T + j] : 0);
        max = Math.max(max, s[j]);
      }
      let sum = 0;
      for (let j = 0; j < T; j++) sum += (s[j] = Math.exp(s[j] - max));
      for (let j = 0; j < T; j++) {
        const pj = s[j] / sum;
        for (let d = 0; d < Dh; d++) out[base + i * Dh + d] += pj * v[base + j * Dh + d];
      }
    }
  }
  return out;
}

/** The analytic f64 gradients of sum(attention(q, k, v) ∘ g), for shapes too large for finite differences. */
export function attentionGradRef(xs: Float64Array[], g: ArrayLike<number>, { B, H, T, Dh }: AttentionShape, scale: number, bias?: Float64Array) {
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
      let max = -Infinity;
      for (let j = 0; j < T; j++) {
        let qk = 0;
        let gv = 0;
        for (let d = 0; d < Dh; d++) {
          qk += q[base + i * Dh + d] * k[base + j * Dh + d];
          gv += g[base + i * Dh + d] * v[base + j * Dh + d];
        }
        p[j] = scale * qk + (bias ? bias[(h * T + i) * T + j] : 0);
        dp[j] = gv;
        max = Math.max(max, p[j]);
      }
      let sum = 0;
      for (let j = 0; j < T; j++) sum += (p[j] = Math.exp(p[j] - max));
      let D = 0;
      for (let j = 0; j < T; j++) D += (p[j] /= sum) * dp[j];
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
