// CPU references of batchNorm2d and instanceNorm2d (src/ops/channelnorm.ts,
// shaders/channelnorm.wgsl): plain f64 loops over a tensor viewed as [outer, groups, inner].

/** Element k of group g in a tensor viewed as [outer, groups, inner], as the kernels view it. */
function at(g: number, k: number, groups: number, inner: number): number {
  const o = Math.floor(k / inner);
  return (o * groups + g) * inner + (k % inner);
}

export interface Stats {
  mean: Float64Array;
  variance: Float64Array;
}

/** Mean and biased variance of each group, in f64. */
export function statsRef(x: ArrayLike<number>, outer: number, groups: number, inner: number): Stats {
  const n = outer * inner;
  const mean = new Float64Array(groups);
  const variance = new Float64Array(groups);
  for (let g = 0; g < groups; g++) {
    for (let k = 0; k < n; k++) mean[g] += x[at(g, k, groups, inner)] / n;
    for (let k = 0; k < n; k++) variance[g] += (x[at(g, k, groups, inner)] - mean[g]) ** 2 / n;
  }
  return { mean, variance };
}

export function normalizeRef(
  x: ArrayLike<number>, outer: number, groups: number, inner: number, s: Stats, eps: number,
  weight?: ArrayLike<number>, bias?: ArrayLike<number>,
): Float64Array {
  const y = new Float64Array(x.length);
  for (let g = 0; g < groups; g++) {
    const invStd = 1 / Math.sqrt(s.variance[g] + eps);
    for (let k = 0; k < outer * inner; k++) {
      const i = at(g, k, groups, inner);
      y[i] = (x[i] - s.mean[g]) * invStd * (weight ? weight[g] : 1) + (bias ? bias[g] : 0);
    }
  }
  return y;
}

/** The instance-norm input gradient in closed form: invStd/n·(n·dy − Σdy − x̂·Σ dy·x̂) per group. */
export function instanceNormGradRef(x: ArrayLike<number>, dy: ArrayLike<number>, groups: number, inner: number, eps: number): Float64Array {
  const s = statsRef(x, 1, groups, inner);
  const dx = new Float64Array(x.length);
  for (let g = 0; g < groups; g++) {
    const inv = 1 / Math.sqrt(s.variance[g] + eps);
    let sumDy = 0, sumDyXhat = 0;
    for (let k = g * inner; k < (g + 1) * inner; k++) {
      sumDy += dy[k];
      sumDyXhat += dy[k] * (x[k] - s.mean[g]) * inv;
    }
    for (let k = g * inner; k < (g + 1) * inner; k++) {
      const xhat = (x[k] - s.mean[g]) * inv;
      dx[k] = (inv / inner) * (inner * dy[k] - sumDy - xhat * sumDyXhat);
    }
  }
  return dx;
}
