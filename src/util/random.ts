// Seeded random numbers: the same weights, masks and samples on every run and machine.

/** mulberry32: a small, fast 32-bit generator. Returns floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n standard-normal values (Box-Muller) times scale, as f32. */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  const u = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    out[i] = r * Math.cos(2 * Math.PI * u()) * scale;
  }
  return out;
}

/** n values uniform in [lo, hi). */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const u = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * u());
}

/**
 * N(0, std²) restricted to [a, b] by rejection, as torch.nn.init.trunc_normal_. Note that timm
 * calls it with std 0.02 and the default absolute bounds ±2, so in practice nothing is cut.
 */
export function truncatedNormal(n: number, seed: number, std: number, a = -2, b = 2): Float32Array {
  const u = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; ) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const x = r * Math.cos(2 * Math.PI * u()) * std;
    if (x >= a && x <= b) out[i++] = x;
  }
  return out;
}

/**
 * A 32-bit seed derived from several integers (a run's seed and a step, say), so every random
 * draw of a run is a pure function of where it happens: runs repeat and resume exactly.
 */
export function deriveSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d) >>> 0;
    h ^= h >>> 12;
  }
  return h >>> 0;
}

/** A seeded Fisher–Yates permutation of 0..n−1. */
export function permutation(n: number, seed: number): Uint32Array {
  const u = rng(seed);
  const out = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
