// Plain-TypeScript f64 references shared by several test files.

/** C = op(A)·op(B) for one batch; A is M×K (K×M if transA), B is K×N (N×K if transB). */
export function matmulRef(
  A: ArrayLike<number>, B: ArrayLike<number>, M: number, K: number, N: number,
  transA = false, transB = false, bias?: ArrayLike<number>,
): Float64Array {
  const C = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = bias ? bias[n] : 0;
      for (let k = 0; k < K; k++) {
        const a = transA ? A[k * M + m] : A[m * K + k];
        const b = transB ? B[n * K + k] : B[k * N + n];
        s += a * b;
      }
      C[m * N + n] = s;
    }
  }
  return C;
}

/**
 * erfc in f64, independent of the kernel's method: below 2.5, 1 - erf from erf's series with
 * positive terms, 2/√π·e^{-y²}·Σ 2ⁿy^{2n+1}/(1·3·…·(2n+1)); beyond, Laplace's continued fraction
 * e^{-y²}/√π · 1/(y + (1/2)/(y + 1/(y + (3/2)/(y + …)))).
 */
export function erfcRef(x: number): number {
  const y = Math.abs(x);
  let r: number;
  if (y < 2.5) {
    let term = y;
    let s = y;
    for (let n = 1; term > 1e-17 * s; n++) {
      term *= (2 * y * y) / (2 * n + 1);
      s += term;
    }
    r = 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-y * y) * s;
  } else {
    let t = y;
    for (let k = 200; k >= 1; k--) t = y + k / 2 / t;
    r = Math.exp(-y * y) / (Math.sqrt(Math.PI) * t);
  }
  return x < 0 ? 2 - r : r;
}

/** Exact (erf) GELU in f64, PyTorch's nn.GELU(): x·Φ(x), written through erfc for accurate tails. */
export const geluRef = (x: number): number => 0.5 * x * erfcRef(-x / Math.SQRT2);
