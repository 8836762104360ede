// CPU reference of relativePositionBias (src/ops/gather.ts, shaders/gather.wgsl): a plain gather.

/**
 * BEiT's relative position bias [heads, n, n] from its table [rows, heads]: entry (k, p) is
 * table[index[p], k], where `index` holds one table row per pair p of the n·n positions.
 */
export function relativePositionBiasRef(table: ArrayLike<number>, index: ArrayLike<number>, heads: number, n: number): Float64Array {
  const out = new Float64Array(heads * n * n);
  for (let k = 0; k < heads; k++) for (let p = 0; p < n * n; p++) out[k * n * n + p] = table[index[p] * heads + k];
  return out;
}
