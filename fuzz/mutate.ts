// Seeded mutations of bytes, for the fuzz suite (fuzz/README.md): a small random generator and
// the byte-level mutators every format shares. Each mutator says what it did, so a failing attempt
// can be read and replayed from its seed.

/** mulberry32: a tiny, well-mixed 32-bit generator; the same seed gives the same attempt. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

export interface Mutated {
  bytes: Uint8Array;
  what: string;
}

/** Boundary values for header numbers: zero, signs, NaN, infinities, extremes of each type. */
export const BOUNDARY_FLOATS = [0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity, 1e30, -1e30, 1e-30, 3.4e38, -3.4e38, 352, 2 ** 31, 2 ** 53];
export const BOUNDARY_INTS = [0, -1, 1, 2, 3, 7, 8, 255, 256, 32767, -32768, 65535, 2 ** 31 - 1, -(2 ** 31), 2 ** 32 - 1];

/** Flips 1–8 random bits, within the first `region` bytes when given (the header). */
export function flipBits(rng: Rng, bytes: Uint8Array, region = bytes.length): Mutated {
  const out = bytes.slice();
  const n = 1 + rng.int(8);
  const at: number[] = [];
  for (let k = 0; k < n && out.length > 0; k++) {
    const i = rng.int(Math.min(region, out.length));
    out[i] ^= 1 << rng.int(8);
    at.push(i);
  }
  return { bytes: out, what: `flip bits at bytes ${at.join(',')}` };
}

/** Sets 1–4 random bytes to 0, 0xff, 0x7f, 0x80 or a random byte. */
export function setBytes(rng: Rng, bytes: Uint8Array, region = bytes.length): Mutated {
  const out = bytes.slice();
  const n = 1 + rng.int(4);
  const at: string[] = [];
  for (let k = 0; k < n && out.length > 0; k++) {
    const i = rng.int(Math.min(region, out.length));
    out[i] = rng.pick([0, 0xff, 0x7f, 0x80, rng.int(256)]);
    at.push(`${i}=${out[i]}`);
  }
  return { bytes: out, what: `set bytes ${at.join(',')}` };
}

/** Cuts the file short: anywhere, or within the last few bytes. */
export function truncate(rng: Rng, bytes: Uint8Array): Mutated {
  const keep = rng.chance(0.5) ? rng.int(bytes.length) : Math.max(0, bytes.length - 1 - rng.int(16));
  return { bytes: bytes.slice(0, keep), what: `truncate to ${keep} of ${bytes.length} bytes` };
}

/** Inserts 1–64 random bytes at a random place, or deletes a random range. */
export function spliceBytes(rng: Rng, bytes: Uint8Array): Mutated {
  const at = rng.int(bytes.length + 1);
  if (rng.chance(0.5)) {
    const extra = Uint8Array.from({ length: 1 + rng.int(64) }, () => rng.int(256));
    const out = new Uint8Array(bytes.length + extra.length);
    out.set(bytes.subarray(0, at));
    out.set(extra, at);
    out.set(bytes.subarray(at), at + extra.length);
    return { bytes: out, what: `insert ${extra.length} random bytes at ${at}` };
  }
  const n = 1 + rng.int(Math.max(1, Math.min(256, bytes.length - at)));
  const out = new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(Math.min(bytes.length, at + n))]);
  return { bytes: out, what: `delete ${n} bytes at ${at}` };
}

/** One of the generic byte mutations, biased towards the first `header` bytes half of the time. */
export function mutateBytes(rng: Rng, bytes: Uint8Array, header: number): Mutated {
  const region = rng.chance(0.5) ? header : bytes.length;
  switch (rng.int(4)) {
    case 0: return flipBits(rng, bytes, region);
    case 1: return setBytes(rng, bytes, region);
    case 2: return truncate(rng, bytes);
    default: return spliceBytes(rng, bytes);
  }
}
