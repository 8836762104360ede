// CPU references of the elementwise ops (src/ops/elementwise.ts, shaders/elementwise.wgsl): plain
// f64 arithmetic, with NumPy broadcasting for the binary ops.

/** Row-major strides of `shape` read as broadcast to `target` (0 along broadcast dims). */
function stridesIn(shape: number[], target: number[]): number[] {
  const lead = target.length - shape.length;
  let s = 1;
  const out = new Array<number>(target.length).fill(0);
  for (let d = target.length - 1; d >= lead; d--) {
    out[d] = shape[d - lead] === 1 ? 0 : s;
    s *= shape[d - lead];
  }
  return out;
}

/** The shape `a` and `b` broadcast to, under NumPy's rules. */
function broadcastShape(aShape: number[], bShape: number[]): number[] {
  const rank = Math.max(aShape.length, bShape.length);
  return Array.from({ length: rank }, (_, i) => {
    const da = aShape[i - (rank - aShape.length)] ?? 1;
    const db = bShape[i - (rank - bShape.length)] ?? 1;
    return da === 1 ? db : da;
  });
}

export function binaryRef(f: (x: number, y: number) => number, aShape: number[], bShape: number[]) {
  const shape = broadcastShape(aShape, bShape);
  const sa = stridesIn(aShape, shape);
  const sb = stridesIn(bShape, shape);
  const n = shape.reduce((p, d) => p * d, 1);
  return ([a, b]: Float64Array[]) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let rest = i, ia = 0, ib = 0;
      for (let d = shape.length - 1; d >= 0; d--) {
        const c = rest % shape[d];
        rest = Math.floor(rest / shape[d]);
        ia += c * sa[d];
        ib += c * sb[d];
      }
      out[i] = f(a[ia], b[ib]);
    }
    return out;
  };
}

export const geluGradRef = (x: number) => 0.5 * erfcRef(-x / Math.SQRT2) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);

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
