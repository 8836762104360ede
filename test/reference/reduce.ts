// CPU references of sum, mean and broadcastTo (src/ops/reduce.ts, shaders/reduce.wgsl,
// shaders/elementwise.wgsl): plain f64 loops over row-major arrays.

/** Sums over `axes` of a row-major `shape`; the result lists the kept coordinates in row-major order. */
export function sumRef(x: ArrayLike<number>, shape: number[], axes: number[], scale = 1): Float64Array {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Float64Array(kept.reduce((p, d) => p * d, 1));
  const n = shape.reduce((p, d) => p * d, 1);
  for (let i = 0; i < n; i++) {
    let rest = i;
    let o = 0;
    let step = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      const c = rest % shape[d];
      rest = Math.floor(rest / shape[d]);
      if (!axes.includes(d)) {
        o += c * step;
        step *= shape[d];
      }
    }
    out[o] += x[i];
  }
  return out.map((v) => v * scale);
}

/** x (row-major `shape`) broadcast to `target` under NumPy's rules. */
export function broadcastRef(x: ArrayLike<number>, shape: number[], target: number[]): Float64Array {
  const lead = target.length - shape.length;
  const n = target.reduce((p, d) => p * d, 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let rest = i;
    let src = 0;
    let step = 1;
    for (let d = target.length - 1; d >= lead; d--) {
      const c = rest % target[d];
      rest = Math.floor(rest / target[d]);
      const size = shape[d - lead];
      if (size !== 1) src += c * step;
      step *= size;
    }
    out[i] = x[src];
  }
  return out;
}
