// CPU reference of softmax and logSoftmax (src/ops/softmax.ts, shaders/softmax.wgsl): plain f64
// loops.

/** Softmax (or log-softmax) of each length-L row, in f64. */
export function softmaxRef(x: Float64Array, L: number, log: boolean): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / L; r++) {
    const row = x.subarray(r * L, (r + 1) * L);
    const m = Math.max(...row);
    let s = 0;
    for (const v of row) s += Math.exp(v - m);
    for (let i = 0; i < L; i++) y[r * L + i] = log ? row[i] - m - Math.log(s) : Math.exp(row[i] - m) / s;
  }
  return y;
}
