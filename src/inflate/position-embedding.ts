// Resizing an absolute position embedding [1, prefix + h·w, E] to a new token grid, as timm's
// resample_abs_pos_embed (F.interpolate with antialias=False) and DINO's nearest resize do: the
// prefix tokens (CLS, DeiT's distillation token) stay first and unchanged, the h×w grid of each
// embedding channel is resampled.

export type PositionResizeMode = 'bicubic' | 'nearest';

export interface PositionResizeOptions {
  /** Tokens before the grid that are copied unchanged: 1 for CLS, 2 for CLS + distillation. */
  prefixTokens: number;
  /** Source grid [h, w]; the grid tokens are in row-major (h, w) order. */
  from: readonly [number, number];
  /** Target grid [h2, w2]. */
  to: readonly [number, number];
  mode: PositionResizeMode;
}

/** One output index along an axis reads 4 (bicubic) or 1 (nearest) source indices with weights. */
interface Taps {
  index: Int32Array;
  weight: Float64Array;
  /** Taps per output index. */
  count: number;
}

/** PyTorch's cubic convolution kernel (Keys, A = −0.75) at distances t+1, t, 1−t, 2−t. */
function cubicCoefficients(t: number): number[] {
  const A = -0.75;
  const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| <= 1
  const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/**
 * The taps of torch's upsample_nearest2d / upsample_bicubic2d along one axis, align_corners=False.
 * nearest: torch always takes the f32 quotient in/out as the scale and floors the f32 product
 * dst·scale; we do the same, so the indices are torch's. bicubic: evaluated in f64, which is
 * torch's float64 path exactly (its float32 path rounds the source position and the weights to
 * f32 on the way, a few 1e-7 of error we do not reproduce).
 */
function axisTaps(inSize: number, outSize: number, mode: PositionResizeMode): Taps {
  if (mode === 'nearest') {
    const scale = Math.fround(inSize / outSize);
    const index = Int32Array.from({ length: outSize }, (_, d) => Math.floor(Math.fround(d * scale)));
    return { index, weight: new Float64Array(outSize).fill(1), count: 1 };
  }
  const scale = inSize / outSize;
  const index = new Int32Array(outSize * 4);
  const weight = new Float64Array(outSize * 4);
  for (let d = 0; d < outSize; d++) {
    // Pixel centres: src = scale·(d + 0.5) − 0.5, not clamped at 0 for the cubic kernel.
    const src = scale * (d + 0.5) - 0.5;
    const i0 = Math.floor(src);
    const c = cubicCoefficients(src - i0);
    for (let k = 0; k < 4; k++) {
      // Reads beyond the border repeat the edge value.
      index[d * 4 + k] = Math.min(Math.max(i0 - 1 + k, 0), inSize - 1);
      weight[d * 4 + k] = c[k];
    }
  }
  return { index, weight, count: 4 };
}

/**
 * Resizes pos, row-major [1, prefixTokens + h·w, E], to [1, prefixTokens + h2·w2, E]:
 * 'bicubic' is F.interpolate(mode='bicubic', align_corners=False, antialias=False), timm's
 * resample_abs_pos_embed; 'nearest' is F.interpolate's default legacy nearest
 * (src = floor(dst·in/out)), which DINO's checkpoint loader uses.
 */
export function resizePositionEmbedding(
  pos: Float32Array,
  shape: readonly [number, number, number],
  options: PositionResizeOptions,
): Float32Array {
  const { prefixTokens, from, to, mode } = options;
  const [one, tokens, E] = shape;
  for (const [name, v] of [['from', from], ['to', to]] as const) {
    if (v.length !== 2 || !v.every((s) => Number.isInteger(s) && s >= 1)) {
      throw new Error(`resizePositionEmbedding: ${name} must be two positive integers [h, w], got [${v.join(', ')}]`);
    }
  }
  if (!Number.isInteger(prefixTokens) || prefixTokens < 0) {
    throw new Error(`resizePositionEmbedding: prefixTokens must be a non-negative integer, got ${prefixTokens}`);
  }
  if (mode !== 'bicubic' && mode !== 'nearest') {
    throw new Error(`resizePositionEmbedding: mode must be 'bicubic' or 'nearest', got '${mode}'`);
  }
  const [h, w] = from;
  const [h2, w2] = to;
  if (one !== 1 || tokens !== prefixTokens + h * w || !Number.isInteger(E) || E < 1 || pos.length !== tokens * E) {
    throw new Error(
      `resizePositionEmbedding: pos must be [1, prefixTokens + h·w = ${prefixTokens + h * w}, E] for from [${h}, ${w}], ` +
        `got shape [${shape.join(', ')}] with ${pos.length} values`,
    );
  }

  const out = new Float32Array((prefixTokens + h2 * w2) * E);
  out.set(pos.subarray(0, prefixTokens * E));
  const rowsTaps = axisTaps(h, h2, mode);
  const colsTaps = axisTaps(w, w2, mode);
  const grid = prefixTokens * E;
  for (let y = 0; y < h2; y++) {
    for (let x = 0; x < w2; x++) {
      const o = grid + (y * w2 + x) * E;
      for (let e = 0; e < E; e++) {
        // Along x first, then y, as torch does.
        let sum = 0;
        for (let a = 0; a < rowsTaps.count; a++) {
          const row = rowsTaps.index[y * rowsTaps.count + a];
          let rowSum = 0;
          for (let b = 0; b < colsTaps.count; b++) {
            const col = colsTaps.index[x * colsTaps.count + b];
            rowSum += colsTaps.weight[x * colsTaps.count + b] * pos[grid + (row * w + col) * E + e];
          }
          sum += rowsTaps.weight[y * rowsTaps.count + a] * rowSum;
        }
        out[o + e] = sum;
      }
    }
  }
  return out;
}
