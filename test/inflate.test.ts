// 2D→3D weight transfer (src/inflate/): checks against docs/method.md §5 written out as loops
// here, and against PyTorch/SciPy (fixture made by scripts/golden/inflation.py). No GPU needed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  cubicSplineWeights,
  geometricRatio,
  inflateDepth,
  inflatePatchEmbed,
  linearPatchToConv,
  resizePositionEmbedding,
  resizeRelativePositionBias,
  toGrayAndSpread,
  type InflationMethod,
  type PositionResizeMode,
} from '../src/inflate/index.js';
import { relativePositionIndex } from '../src/model/relative-position-index.js';
import { expectClose } from './helpers/check.js';
import { randn } from './helpers/random.js';

interface Fixture {
  patch_embed: { shape: [number, number, number, number]; channels: number; depth: number; w: number[]; gray: number[]; centering: number[]; inflation: number[] }[];
  linear_patch: { E: number; patch: number; channels: number; linear: number[]; conv: number[] };
  position_embedding: { from: [number, number]; to: [number, number]; prefix: number; E: number; pos: number[]; nearest: number[]; bicubic: number[]; bicubic_torch_f32: number[] }[];
  relative_position_index: { '3x4': number[]; '14x14': { length: number; sum: number; weighted_sum: number; samples: [number, number][] } };
  geometric_q: [number, number, number][];
  relative_position_bias: { from: [number, number]; to: [number, number]; heads: number; table: number[]; out: number[] }[];
}

const fixture: Fixture = JSON.parse(readFileSync(new URL('./fixtures/inflation.json', import.meta.url), 'utf8'));

// The patch-embedding transfer is a copy, one f32 sum over Cin and one or two f32 divisions,
// done in the same order as torch: it must match bit for bit.
const EXACT = { atol: 0, rtol: 0 };
// Against an f64 evaluation of the formula: a few f32 roundings (≤ 6e-8 relative each) of values
// and of partial sums of up to 3 N(0,1) terms (< 8, so ≤ 4.8e-7 each: two adds ≈ 1e-6).
const F32 = { atol: 1e-6, rtol: 2e-7 };

describe('patch embedding', () => {
  /** docs/method.md §5 in f64: g = Σ_cin w; W3[e,c,d] = g/C, then /D or centre slice only. */
  function reference(w: Float32Array, [E, Cin, P1, P2]: number[], C: number, D: number, method: InflationMethod): Float64Array {
    const plane = P1 * P2;
    const out = new Float64Array(E * C * D * plane);
    for (let e = 0; e < E; e++) {
      for (let p = 0; p < plane; p++) {
        let g = 0;
        for (let c = 0; c < Cin; c++) g += w[(e * Cin + c) * plane + p];
        for (let c = 0; c < C; c++) {
          for (let d = 0; d < D; d++) {
            const v = method === 'inflation' ? g / C / D : d === Math.floor(D / 2) ? g / C : 0;
            out[((e * C + c) * D + d) * plane + p] = v;
          }
        }
      }
    }
    return out;
  }

  it('follows the formula for odd, even and unit depth and any channel count', () => {
    const cases: [[number, number, number, number], number, number][] = [
      [[4, 3, 5, 5], 2, 5],
      [[3, 3, 4, 3], 4, 4],
      [[2, 1, 1, 2], 1, 1],
      [[1, 2, 3, 3], 3, 2],
    ];
    for (const [shape, C, D] of cases) {
      const w = randn(shape.reduce((a, b) => a * b, 1), 11 + D);
      for (const method of ['centering', 'inflation'] as const) {
        const got = inflatePatchEmbed(w, shape, { channels: C, depth: D, method });
        expectClose(got, reference(w, shape, C, D, method), F32, 'inflate.patchEmbed', `formula ${method} [${shape}] C${C} D${D}`);
      }
    }
  });

  it('matches torch bit for bit (gray spread, centering, inflation)', () => {
    for (const c of fixture.patch_embed) {
      const w = Float32Array.from(c.w);
      const label = `torch [${c.shape}] C${c.channels} D${c.depth}`;
      expectClose(toGrayAndSpread(w, c.shape, c.channels), Float32Array.from(c.gray), EXACT, 'inflate.patchEmbed', `${label} gray`);
      for (const method of ['centering', 'inflation'] as const) {
        const got = inflatePatchEmbed(w, c.shape, { channels: c.channels, depth: c.depth, method });
        expectClose(got, Float32Array.from(c[method]), EXACT, 'inflate.patchEmbed', `${label} ${method}`);
      }
    }
  });

  it('gives the 2-D response on a window of identical slices', () => {
    // Σ over (c, d, p) of W3·x equals Σ over (c, p) of g/C·x when every slice d is the same x.
    const [E, C, P, D] = [3, 2, 4, 5];
    const gray = randn(E * C * P * P, 5);
    const x = randn(C * P * P, 6);
    for (const method of ['centering', 'inflation'] as const) {
      const w3 = inflateDepth(gray, [E, C, P, P], D, method);
      const got = new Float64Array(E);
      const want = new Float64Array(E);
      for (let e = 0; e < E; e++) {
        for (let c = 0; c < C; c++) {
          for (let p = 0; p < P * P; p++) {
            want[e] += gray[(e * C + c) * P * P + p] * x[c * P * P + p];
            for (let d = 0; d < D; d++) got[e] += w3[((e * C + c) * D + d) * P * P + p] * x[c * P * P + p];
          }
        }
      }
      // f32 weights /D re-summed over D slices: a few ulps of the 32-term dot product.
      expectClose(got, want, { atol: 1e-6, rtol: 1e-6 }, 'inflate.patchEmbed', `2-D response ${method}`);
    }
  });

  it('turns the vit-pytorch Linear into the Conv2d kernel', () => {
    const { E, patch: P, channels: C, linear, conv } = fixture.linear_patch;
    const lin = Float32Array.from(linear);
    const w = linearPatchToConv(lin, P, C);
    expectClose(w, Float32Array.from(conv), EXACT, 'inflate.linearPatch', 'torch view+permute');
    // One patch x[c, p1, p2] flattened in (p1, p2, c) order: Linear and Conv2d agree.
    const x = randn(C * P * P, 3);
    for (let e = 0; e < E; e++) {
      let byLinear = 0;
      let byConv = 0;
      for (let p1 = 0; p1 < P; p1++) {
        for (let p2 = 0; p2 < P; p2++) {
          for (let c = 0; c < C; c++) {
            const xv = x[(c * P + p1) * P + p2];
            byLinear += lin[e * P * P * C + (p1 * P + p2) * C + c] * xv;
            byConv += w[((e * C + c) * P + p1) * P + p2] * xv;
          }
        }
      }
      expect(byConv).toBeCloseTo(byLinear, 12);
    }
  });

  it('rejects bad arguments with the op and argument named', () => {
    expect(() => toGrayAndSpread(new Float32Array(10), [1, 3, 2, 2], 1)).toThrow(/toGrayAndSpread: w must be/);
    expect(() => toGrayAndSpread(new Float32Array(12), [1, 3, 2, 2], 0)).toThrow(/toGrayAndSpread: channels/);
    expect(() => inflateDepth(new Float32Array(4), [1, 1, 2, 2], 2.5, 'centering')).toThrow(/inflateDepth: depth/);
    expect(() => inflateDepth(new Float32Array(4), [1, 1, 2, 2], 2, 'mean' as InflationMethod)).toThrow(/inflateDepth: method/);
    expect(() => linearPatchToConv(new Float32Array(10), 2, 3)).toThrow(/linearPatchToConv: w must be \[E, P·P·C = 12\]/);
  });
});

describe('position embedding resize', () => {
  // Against torch's float64 path (the same formula evaluated in f64, rounded to f32 once): one
  // f32 rounding, ≤ 6e-8 relative; 1e-7 absolute covers values near zero.
  const BICUBIC = { atol: 1e-7, rtol: 1e-7 };
  // torch's float32 path rounds the source positions and weights to f32 on the way: a one-hot
  // probe shows each weight off by up to 4.5e-7, ≤ 1.8e-6·max|v| over the 4 taps of an axis
  // (measured ~1e-6·max|v|); the data here are N(0,1) with |v| < 3 → 5e-6. The tight check is
  // the one above.
  const BICUBIC_TORCH_F32 = { atol: 5e-6, rtol: 0 };

  it('matches torch F.interpolate (bicubic, nearest) up and down, with 1 or 2 prefix tokens', () => {
    for (const c of fixture.position_embedding) {
      const pos = Float32Array.from(c.pos);
      const label = `${c.from.join('x')}→${c.to.join('x')} prefix ${c.prefix}`;
      const resize = (mode: PositionResizeMode) =>
        resizePositionEmbedding(pos, [1, c.prefix + c.from[0] * c.from[1], c.E], { prefixTokens: c.prefix, from: c.from, to: c.to, mode });
      // nearest copies values, and its indices are torch's f32 ones: exact.
      expectClose(resize('nearest'), Float32Array.from(c.nearest), EXACT, 'inflate.posEmbed', `torch nearest ${label}`);
      const bicubic = resize('bicubic');
      expectClose(bicubic, Float32Array.from(c.bicubic), BICUBIC, 'inflate.posEmbed', `torch f64 bicubic ${label}`);
      expectClose(bicubic, Float32Array.from(c.bicubic_torch_f32), BICUBIC_TORCH_F32, 'inflate.posEmbed', `torch f32 bicubic ${label}`);
    }
  });

  it('keeps the prefix tokens, leaves equal sizes alone, keeps constants constant', () => {
    const E = 3;
    const prefix = 2;
    const pos = randn((prefix + 16) * E, 9);
    for (const mode of ['bicubic', 'nearest'] as PositionResizeMode[]) {
      const same = resizePositionEmbedding(pos, [1, prefix + 16, E], { prefixTokens: prefix, from: [4, 4], to: [4, 4], mode });
      expectClose(same, pos, EXACT, 'inflate.posEmbed', `identity ${mode}`);
      const up = resizePositionEmbedding(pos, [1, prefix + 16, E], { prefixTokens: prefix, from: [4, 4], to: [9, 7], mode });
      expectClose(up.subarray(0, prefix * E), pos.subarray(0, prefix * E), EXACT, 'inflate.posEmbed', `prefix kept ${mode}`);
    }
    // The cubic weights sum to 1 and borders repeat the edge: a constant grid stays constant.
    const flat = new Float32Array(1 + 5 * 6).fill(0.7);
    const out = resizePositionEmbedding(flat, [1, 31, 1], { prefixTokens: 1, from: [5, 6], to: [13, 3], mode: 'bicubic' });
    expectClose(out, new Float32Array(out.length).fill(0.7), F32, 'inflate.posEmbed', 'constant bicubic');
  });

  it('nearest picks floor(dst·in/out)', () => {
    const [h, w, h2, w2] = [6, 5, 4, 8];
    const pos = randn(1 + h * w, 4);
    const got = resizePositionEmbedding(pos, [1, 1 + h * w, 1], { prefixTokens: 1, from: [h, w], to: [h2, w2], mode: 'nearest' });
    const want = new Float32Array(1 + h2 * w2);
    want[0] = pos[0];
    for (let y = 0; y < h2; y++) {
      for (let x = 0; x < w2; x++) want[1 + y * w2 + x] = pos[1 + Math.floor((y * h) / h2) * w + Math.floor((x * w) / w2)];
    }
    expectClose(got, want, EXACT, 'inflate.posEmbed', 'nearest formula');
  });

  it('rejects bad arguments', () => {
    const pos = new Float32Array(17 * 2);
    const opts = { prefixTokens: 1, from: [4, 4] as [number, number], to: [5, 5] as [number, number], mode: 'bicubic' as const };
    expect(() => resizePositionEmbedding(pos, [1, 18, 2], opts)).toThrow(/resizePositionEmbedding: pos must be \[1, prefixTokens \+ h·w = 17, E\]/);
    expect(() => resizePositionEmbedding(pos, [1, 17, 2], { ...opts, to: [0, 5] })).toThrow(/resizePositionEmbedding: to must be/);
    expect(() => resizePositionEmbedding(pos, [1, 17, 2], { ...opts, mode: 'bilinear' as PositionResizeMode })).toThrow(/resizePositionEmbedding: mode/);
  });
});

describe('relative position index', () => {
  /** timm's construction spelled out: coordinates, pairwise differences, shifted and scaled. */
  function reference(h: number, w: number): number[] {
    const n = h * w;
    const rows = (2 * h - 1) * (2 * w - 1) + 3;
    const coords = Array.from({ length: n }, (_, i) => [Math.floor(i / w), i % w]);
    const out: number[] = [];
    for (let q = 0; q <= n; q++) {
      for (let k = 0; k <= n; k++) {
        if (q === 0 && k === 0) out.push(rows - 1);
        else if (k === 0) out.push(rows - 2);
        else if (q === 0) out.push(rows - 3);
        else {
          const [qa, qb] = coords[q - 1];
          const [ka, kb] = coords[k - 1];
          out.push((qa - ka + h - 1) * (2 * w - 1) + (qb - kb + w - 1));
        }
      }
    }
    return out;
  }

  it('matches timm for (3, 4) and (14, 14), and the spelled-out formula', () => {
    expect(Array.from(relativePositionIndex(3, 4))).toEqual(fixture.relative_position_index['3x4']);
    const big = relativePositionIndex(14, 14);
    const ref = fixture.relative_position_index['14x14'];
    expect(big.length).toBe(ref.length);
    let sum = 0;
    let weighted = 0;
    big.forEach((v, i) => {
      sum += v;
      weighted += v * (i + 1);
    });
    expect(sum).toBe(ref.sum);
    expect(weighted).toBe(ref.weighted_sum);
    for (const [p, v] of ref.samples) expect(big[p]).toBe(v);
    for (const [h, w] of [[1, 1], [1, 3], [2, 5], [4, 4]]) expect(Array.from(relativePositionIndex(h, w))).toEqual(reference(h, w));
  });
});

describe('cubic spline (not-a-knot)', () => {
  const x = [-4.2, -2.5, -1, 0, 0.7, 2, 3.9];

  function apply(weights: Float64Array, y: number[]): number[] {
    const n = y.length;
    return Array.from({ length: weights.length / n }, (_, i) => y.reduce((s, v, j) => s + weights[i * n + j] * v, 0));
  }

  it('interpolates the data and reproduces any cubic exactly', () => {
    const eye = cubicSplineWeights(x, x);
    const identity = x.flatMap((_, i) => x.map((_, j) => (i === j ? 1 : 0)));
    // f64 solve of a 7×7 system: round-off only.
    expectClose(eye, identity, { atol: 1e-13, rtol: 0 }, 'inflate.spline', 'interpolates');
    // Not-a-knot ends make the spline exact for cubics (natural or clamped ends would not be).
    const cubic = (t: number) => 0.3 * t ** 3 - 1.1 * t ** 2 + 0.5 * t - 2;
    const targets = [-4.2, -3.3, -1.7, -0.2, 0.35, 1.1, 2.8, 3.9];
    expectClose(apply(cubicSplineWeights(x, targets), x.map(cubic)), targets.map(cubic), { atol: 1e-12, rtol: 0 }, 'inflate.spline', 'cubic exact');
    // Four points: the single cubic through them.
    const x4 = [0, 1, 2.5, 4];
    expectClose(apply(cubicSplineWeights(x4, [0.5, 3]), x4.map(cubic)), [0.5, 3].map(cubic), { atol: 1e-12, rtol: 0 }, 'inflate.spline', 'cubic 4 points');
  });

  it('has a continuous third derivative at x[1] and x[n-2] (the not-a-knot conditions)', () => {
    const y = Array.from(randn(x.length, 21));
    const eps = 1e-3;
    // Third differences on either side of the knot: equal when the cubic pieces are the same.
    const third = (a: number) => {
      const v = apply(cubicSplineWeights(x, [a, a + eps, a + 2 * eps, a + 3 * eps]), y);
      return (v[3] - 3 * v[2] + 3 * v[1] - v[0]) / eps ** 3;
    };
    for (const knot of [1, x.length - 2]) {
      const left = third(x[knot] - 3.5 * eps);
      const right = third(x[knot] + 0.5 * eps);
      // Finite third differences in f64 with step 1e-3 lose ~1e-16/1e-9 = 1e-7 relative.
      expect(Math.abs(left - right)).toBeLessThan(1e-5 * Math.max(1, Math.abs(left)));
    }
    // At an interior knot the third derivative does jump for generic data.
    expect(Math.abs(third(x[2] - 3.5 * eps) - third(x[2] + 0.5 * eps))).toBeGreaterThan(1e-3);
  });

  it('clamps targets outside the data to the end values (FITPACK fpbisp)', () => {
    const y = Array.from(randn(x.length, 22));
    const got = apply(cubicSplineWeights(x, [-10, 10]), y);
    expectClose(got, [y[0], y[x.length - 1]], { atol: 1e-13, rtol: 0 }, 'inflate.spline', 'clamped ends');
    expect(() => cubicSplineWeights([0, 1, 2], [0.5])).toThrow(/cubicSplineWeights: x needs at least 4 points/);
    expect(() => cubicSplineWeights([0, 1, 1, 2], [0.5])).toThrow(/strictly increasing/);
  });
});

describe('relative position bias resize', () => {
  it('finds the same q as the original bisection loop', () => {
    for (const [src, dst, q] of fixture.geometric_q) expect(geometricRatio(src, dst)).toBe(q);
    // The values the spec quotes (27 → 63, 39, 29: 14×14 tokens to 32×32, 20×20, 15×15).
    expect(geometricRatio(27, 63)).toBeCloseTo(1.134918, 6);
    expect(geometricRatio(27, 39)).toBeCloseTo(1.060968, 6);
    expect(geometricRatio(27, 29)).toBeCloseTo(1.012253, 6);
  });

  // SciPy's FITPACK solve and ours are both f64 (they agree to ~1e-14), and both round the result
  // to f32 once: at most 1 ulp apart, 6e-8 relative; 1e-6 relative + 1e-7 near zero.
  const SPLINE = { atol: 1e-7, rtol: 1e-6 };

  it('matches scipy interp2d(kind=cubic) on the geometric grid, square and per axis', () => {
    for (const c of fixture.relative_position_bias) {
      const rows = (2 * c.from[0] - 1) * (2 * c.from[1] - 1) + 3;
      const got = resizeRelativePositionBias(Float32Array.from(c.table), [rows, c.heads], c.from, c.to);
      expectClose(got, Float32Array.from(c.out), SPLINE, 'inflate.relPosBias', `scipy ${c.from.join('x')}→${c.to.join('x')} heads ${c.heads}`);
      const extra = got.subarray(got.length - 3 * c.heads);
      expectClose(extra, Float32Array.from(c.table.slice(-3 * c.heads)), EXACT, 'inflate.relPosBias', `extra rows ${c.from.join('x')}→${c.to.join('x')}`);
    }
  });

  it('returns a copy for equal sizes and rejects bad arguments', () => {
    const table = randn(7 * 7 + 3, 31);
    const same = resizeRelativePositionBias(table, [52, 1], [4, 4], [4, 4]);
    expect(same).not.toBe(table);
    expectClose(same, table, EXACT, 'inflate.relPosBias', 'equal sizes');
    expect(() => resizeRelativePositionBias(table, [52, 2], [4, 4], [5, 5])).toThrow(/resizeRelativePositionBias: table must be \[\(2h−1\)\(2w−1\) \+ 3 = 52, heads\]/);
    expect(() => resizeRelativePositionBias(new Float32Array(3 * 5 + 3), [18, 1], [2, 3], [3, 3])).toThrow(/resizing along h needs at least 3 tokens/);
    expect(() => resizeRelativePositionBias(table, [52, 1], [4, 4], [4, 0])).toThrow(/resizeRelativePositionBias: to must be/);
  });
});
