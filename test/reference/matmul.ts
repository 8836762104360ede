// CPU reference of matmul (src/ops/matmul.ts, shaders/matmul.wgsl, shaders/matmul-subgroups.wgsl):
// plain f64 loops.

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

/** matmulRef over a batch of `batch` products; `sharedB`: one B for all (a Linear layer). */
export function batchedRef(
  xs: Float64Array[], batch: number, M: number, K: number, N: number, transA: boolean, transB: boolean, sharedB: boolean, bias?: boolean,
): Float64Array {
  const out = new Float64Array(batch * M * N);
  for (let b = 0; b < batch; b++) {
    const A = xs[0].subarray(b * M * K, (b + 1) * M * K);
    const B = sharedB ? xs[1] : xs[1].subarray(b * K * N, (b + 1) * K * N);
    out.set(matmulRef(A, B, M, K, N, transA, transB, bias ? xs[2] : undefined), b * M * N);
  }
  return out;
}
