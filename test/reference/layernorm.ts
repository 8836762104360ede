// CPU reference of nn.LayerNorm (src/ops/layernorm.ts, shaders/layernorm.wgsl): plain f64 loops.

/** nn.LayerNorm over rows of length C, in f64. */
export function layerNormRef([x, w, b]: Float64Array[], C: number, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / C; r++) {
    const row = x.subarray(r * C, (r + 1) * C);
    const mean = row.reduce((s, v) => s + v, 0) / C;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / C;
    const rstd = 1 / Math.sqrt(variance + eps);
    for (let i = 0; i < C; i++) y[r * C + i] = (row[i] - mean) * rstd * w[i] + b[i];
  }
  return y;
}
