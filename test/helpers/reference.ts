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
