// CPU reference of dropout and dropout2d (src/ops/dropout.ts, shaders/dropout.wgsl): the same XXH32
// draws as the kernel, in plain TypeScript.

/** XXH32 of one 4-byte word, as shaders/dropout.wgsl computes it. */
function xxhash32(seed: number, value: number): number {
  let h = (seed + 374761393 + 4) >>> 0;
  h = (h + Math.imul(value, 3266489917)) >>> 0;
  h = Math.imul((h << 17) | (h >>> 15), 668265263) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 2246822519) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 3266489917) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export const kept = (seed: number, draw: number, p: number) => xxhash32(seed, draw) >>> 8 >= Math.round(p * 2 ** 24);

export function dropoutRef(x: ArrayLike<number>, p: number, seed: number, group: number): Float64Array {
  return Float64Array.from(x, (v, i) => (kept(seed, Math.floor(i / group), p) ? v / (1 - p) : 0));
}
