// CPU references of the segmentation losses (src/ops/loss.ts, shaders/loss.wgsl), written from the
// formulas in plain f64 loops: logits [B, K, N], labels [B, N] (class indices), MONAI 0.6
// semantics.

export interface Dims { B: number; K: number; N: number }

function softmaxAt(x: ArrayLike<number>, d: Dims, b: number, n: number): number[] {
  const xs = Array.from({ length: d.K }, (_, k) => x[(b * d.K + k) * d.N + n]);
  const m = Math.max(...xs);
  const e = xs.map((v) => Math.exp(v - m));
  const s = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / s);
}

export function crossEntropyRef(x: ArrayLike<number>, t: ArrayLike<number>, d: Dims): number {
  let sum = 0;
  for (let b = 0; b < d.B; b++) {
    for (let n = 0; n < d.N; n++) sum -= Math.log(softmaxAt(x, d, b, n)[t[b * d.N + n]]);
  }
  return sum / (d.B * d.N);
}

export function diceRef(x: ArrayLike<number>, t: ArrayLike<number>, d: Dims, smooth = 1e-5): number {
  let sum = 0;
  for (let b = 0; b < d.B; b++) {
    const I = new Float64Array(d.K), P = new Float64Array(d.K), T = new Float64Array(d.K);
    for (let n = 0; n < d.N; n++) {
      const p = softmaxAt(x, d, b, n);
      const c = t[b * d.N + n];
      for (let k = 0; k < d.K; k++) {
        const onehot = c === k ? 1 : 0;
        I[k] += p[k] * onehot;
        P[k] += p[k];
        T[k] += onehot;
      }
    }
    for (let k = 0; k < d.K; k++) sum += 1 - (2 * I[k] + smooth) / (P[k] + T[k] + smooth);
  }
  return sum / (d.B * d.K);
}

/** MONAI 0.6 FocalLoss of one element, in MONAI's own form. */
export function focalTermRef(x: number, t: number, gamma: number): number {
  const maxVal = Math.max(-x, 0);
  const ce = x - x * t + maxVal + Math.log(Math.exp(-maxVal) + Math.exp(-x - maxVal));
  const z = -x * (t * 2 - 1);
  const logSigmoid = Math.min(z, 0) - Math.log1p(Math.exp(-Math.abs(z)));
  return Math.exp(gamma * logSigmoid) * ce;
}

export function focalRef(x: ArrayLike<number>, t: ArrayLike<number>, d: Dims, gamma = 2): number {
  let sum = 0;
  for (let b = 0; b < d.B; b++) {
    for (let k = 0; k < d.K; k++) {
      for (let n = 0; n < d.N; n++) sum += focalTermRef(x[(b * d.K + k) * d.N + n], t[b * d.N + n] === k ? 1 : 0, gamma);
    }
  }
  return sum / (d.B * d.K * d.N);
}
