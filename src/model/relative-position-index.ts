// BEiT's relative position bias, the geometry the model needs: the index that maps each (query,
// key) pair of an (h·w + 1)-token attention matrix (CLS first) to a row of the bias table. Resizing
// a pre-trained table to a new token grid is checkpoint surgery: src/inflate/relative-position.ts.

/**
 * timm beit.py `gen_relative_position_index` for a window of h×w tokens plus CLS: an Int32Array of
 * (h·w + 1)², row-major [query, key]. Token pairs map to (Δrow + h − 1)·(2w − 1) + (Δcol + w − 1);
 * with N = (2h − 1)(2w − 1) + 3 table rows, CLS→token is row N − 3, token→CLS is N − 2 and
 * CLS→CLS is N − 1.
 */
export function relativePositionIndex(h: number, w: number): Int32Array {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new Error(`relativePositionIndex: h and w must be positive integers, got ${h}, ${w}`);
  }
  const tokens = h * w;
  const side = tokens + 1;
  const rows = (2 * h - 1) * (2 * w - 1) + 3;
  const index = new Int32Array(side * side);
  for (let q = 0; q < tokens; q++) {
    for (let k = 0; k < tokens; k++) {
      const dRow = Math.floor(q / w) - Math.floor(k / w) + h - 1;
      const dCol = (q % w) - (k % w) + w - 1;
      index[(q + 1) * side + k + 1] = dRow * (2 * w - 1) + dCol;
    }
  }
  for (let k = 1; k < side; k++) index[k] = rows - 3;
  for (let q = 1; q < side; q++) index[q * side] = rows - 2;
  index[0] = rows - 1;
  return index;
}
