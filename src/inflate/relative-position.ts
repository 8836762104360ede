// BEiT's relative position bias table, resized as TransSeg (beit3d.py:load_checkpoint, from BEiT's
// semantic-segmentation code) does when the token grid of the fine-tuning images differs from the
// pre-training one. The index into the table is model geometry: src/model/relative-position-index.ts.

import { cubicSplineWeights } from './spline.js';

/**
 * The ratio q of the geometric source grid, found exactly as the original loop does: bisection
 * on [1.01, 1.5] until the interval is below 1e-6, moving the right end when
 * 1 + q + … + q^(src//2 − 1) > dst//2, and keeping the LAST midpoint tried (not an end).
 * src and dst are full grid sizes (2h − 1), so the half-sizes are h − 1.
 * For BEiT's 27-wide grid (14×14 tokens): dst 63 (32×32 tokens, 512² images) q = 1.134918,
 * dst 39 (20×20, 320²) q = 1.060968, dst 29 (15×15, 240²) q = 1.012253. When the sum cannot
 * exceed dst//2 below 1.5 (e.g. 7 → 11) q ends just below 1.5, and when dst < src just above
 * 1.01. The outermost source offset can then fall short of dst//2 (e.g. 14.99996 for 27 → 31);
 * targets beyond it take the end value (see cubicSplineWeights).
 */
export function geometricRatio(src: number, dst: number): number {
  const n = Math.floor(src / 2);
  const target = Math.floor(dst / 2);
  let left = 1.01;
  let right = 1.5;
  let q = left;
  while (right - left > 1e-6) {
    q = (left + right) / 2;
    const sum = (1 - q ** n) / (1 - q);
    if (sum > target) right = q;
    else left = q;
  }
  return q;
}

/**
 * 1-D resampling weights [dst, src] for one axis of the (2h − 1)-wide relative-offset grid. The
 * source offsets are placed at ±{1, 1 + q, 1 + q + q², …} and 0, so the grid is stretched more
 * the farther from the centre; targets are the integer offsets −dst//2 … dst//2. An axis that
 * keeps its size gets the identity.
 */
function axisWeights(src: number, dst: number): Float64Array {
  if (src === dst) {
    const eye = new Float64Array(src * src);
    for (let i = 0; i < src; i++) eye[i * src + i] = 1;
    return eye;
  }
  const q = geometricRatio(src, dst);
  const dis: number[] = [];
  let cur = 1;
  for (let i = 0; i < Math.floor(src / 2); i++) {
    dis.push(cur);
    cur += q ** (i + 1);
  }
  const x = [...dis.map((d) => -d).reverse(), 0, ...dis];
  const half = Math.floor(dst / 2);
  const targets = Array.from({ length: dst }, (_, i) => i - half);
  return cubicSplineWeights(x, targets);
}

/**
 * Resizes a BEiT relative position bias table, row-major [(2h − 1)(2w − 1) + 3, heads], from an
 * h×w token grid to h2×w2, as TransSeg's load_checkpoint does: per head, the (2h − 1)×(2w − 1)
 * grid of offsets (rows Δrow, columns Δcol) is resampled with scipy interp2d(kind='cubic') on the
 * geometric grid of `geometricRatio`; the last 3 rows (CLS→token, token→CLS, CLS→CLS) are kept.
 * Values are computed in f64, as SciPy does, then rounded to f32.
 *
 * The original handles only square grids (it raises otherwise). Here each axis is treated on its
 * own: an axis whose size changes gets its own q and geometric grid; an axis whose size does not
 * change is left as it is (the spline interpolates, so that is what its integer grid would give).
 * For square grids this is exactly the original. Equal sizes return a copy of the table.
 */
export function resizeRelativePositionBias(
  table: Float32Array,
  shape: readonly [number, number],
  from: readonly [number, number],
  to: readonly [number, number],
): Float32Array {
  const [rows, heads] = shape;
  for (const [name, v] of [['from', from], ['to', to]] as const) {
    if (v.length !== 2 || !v.every((s) => Number.isInteger(s) && s >= 1)) {
      throw new Error(`resizeRelativePositionBias: ${name} must be two positive integers [h, w], got [${v.join(', ')}]`);
    }
  }
  const [srcH, srcW] = [2 * from[0] - 1, 2 * from[1] - 1];
  const [dstH, dstW] = [2 * to[0] - 1, 2 * to[1] - 1];
  if (rows !== srcH * srcW + 3 || !Number.isInteger(heads) || heads < 1 || table.length !== rows * heads) {
    throw new Error(
      `resizeRelativePositionBias: table must be [(2h−1)(2w−1) + 3 = ${srcH * srcW + 3}, heads] for from [${from.join(', ')}], ` +
        `got shape [${shape.join(', ')}] with ${table.length} values`,
    );
  }
  for (const [axis, src, dst] of [['h', srcH, dstH], ['w', srcW, dstW]] as const) {
    if (src !== dst && src < 4) {
      throw new Error(
        `resizeRelativePositionBias: resizing along ${axis} needs at least 3 tokens there (a cubic spline needs 4 offsets, 2·${axis} − 1 = ${src} here), got from [${from.join(', ')}]`,
      );
    }
  }
  if (srcH === dstH && srcW === dstW) return table.slice();

  // The tensor-product spline on a grid is the 1-D spline along columns, then along rows:
  // out = Wy · z · Wxᵀ.
  const wy = axisWeights(srcH, dstH);
  const wx = axisWeights(srcW, dstW);
  const out = new Float32Array((dstH * dstW + 3) * heads);
  const z = new Float64Array(srcH * srcW);
  const zx = new Float64Array(srcH * dstW);
  for (let head = 0; head < heads; head++) {
    for (let i = 0; i < srcH * srcW; i++) z[i] = table[i * heads + head];
    for (let r = 0; r < srcH; r++) {
      for (let c = 0; c < dstW; c++) {
        let s = 0;
        for (let j = 0; j < srcW; j++) s += wx[c * srcW + j] * z[r * srcW + j];
        zx[r * dstW + c] = s;
      }
    }
    for (let r = 0; r < dstH; r++) {
      for (let c = 0; c < dstW; c++) {
        let s = 0;
        for (let i = 0; i < srcH; i++) s += wy[r * srcH + i] * zx[i * dstW + c];
        out[(r * dstW + c) * heads + head] = s;
      }
    }
  }
  out.set(table.subarray(srcH * srcW * heads), dstH * dstW * heads);
  return out;
}
