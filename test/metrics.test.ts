import { describe, expect, it } from 'vitest';
import {
  DiceAccumulator, classHausdorff95, hausdorff95, monaiMean, quantile, type Vec3,
} from '../src/evaluation/metrics.js';
import { evaluationReport, formatTable } from '../src/evaluation/report.js';
import { expectClose } from './helpers/check.js';
import { rng } from './helpers/random.js';

// ---- tolerances ----

// Hand-computed Dice values are ratios of small integers: f64 division is correctly rounded.
const RATIO = { atol: 0, rtol: 1e-15 };
// sqrt(k²·s²) recovers k·s to within an ulp or two of f64.
const SQRT = { atol: 0, rtol: 1e-15 };
// Distance transform vs brute force: both form the same sums of squares in the same order; the
// envelope's intersections are rounded, which can at worst pick a neighbouring parabola whose
// value ties with the true minimum to within a few ulps; the reference percentile interpolates
// with a textbook formula that differs from torch's lerp by a rounding.
const BRUTE = { atol: 1e-13, rtol: 1e-13 };

// ---- references ----

const at = (dims: Vec3, x: number, y: number, z: number) => x + dims[0] * (y + dims[1] * z);

/** Edge voxels as scipy would give them: mask XOR binary_erosion(mask) with the 6-neighbour cross. */
function refEdges(mask: Uint8Array, dims: Vec3): number[][] {
  const [X, Y, Z] = dims;
  const inside = (x: number, y: number, z: number) =>
    x >= 0 && y >= 0 && z >= 0 && x < X && y < Y && z < Z && mask[at(dims, x, y, z)] === 1;
  const edges: number[][] = [];
  for (let z = 0; z < Z; z++) for (let y = 0; y < Y; y++) for (let x = 0; x < X; x++) {
    if (!inside(x, y, z)) continue;
    const eroded = [[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1], [0, 0, 1]]
      .every(([dx, dy, dz]) => inside(x + dx, y + dy, z + dz));
    if (!eroded) edges.push([x, y, z]);
  }
  return edges;
}

/** For every point of `from`, the distance in mm to the nearest point of `to`, by brute force. */
function refDistances(from: number[][], to: number[][], s: Vec3): number[] {
  const [wx, wy, wz] = s.map((v) => v * v);
  return from.map(([x, y, z]) => {
    let best = Infinity;
    for (const [u, v, w] of to) {
      const dx = x - u, dy = y - v, dz = z - w;
      best = Math.min(best, dx * dx * wx + dy * dy * wy + dz * dz * wz);
    }
    return Math.sqrt(best);
  });
}

/** The 95th percentile with linear interpolation between the closest ranks (numpy's default). */
function refPercentile95(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const h = 0.95 * (s.length - 1);
  const lo = Math.floor(h);
  return s[lo] + (h - lo) * (s[Math.ceil(h)] - s[lo]);
}

/** HD95 the slow way: all pairs of edge voxels. Only for non-empty masks. */
function refHausdorff95(pred: Uint8Array, truth: Uint8Array, dims: Vec3, s: Vec3): number {
  const a = refEdges(pred, dims);
  const b = refEdges(truth, dims);
  return Math.max(refPercentile95(refDistances(a, b, s)), refPercentile95(refDistances(b, a, s)));
}

// ---- volumes ----

function box(dims: Vec3, lo: Vec3, hi: Vec3): Uint8Array {
  const m = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let z = lo[2]; z <= hi[2]; z++) for (let y = lo[1]; y <= hi[1]; y++) for (let x = lo[0]; x <= hi[0]; x++) {
    m[at(dims, x, y, z)] = 1;
  }
  return m;
}

/** Voxels within `radius` mm of `centre` (voxel coordinates), with voxel size `s`. */
function sphere(dims: Vec3, s: Vec3, centre: Vec3, radius: number): Uint8Array {
  const m = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let z = 0; z < dims[2]; z++) for (let y = 0; y < dims[1]; y++) for (let x = 0; x < dims[0]; x++) {
    const d = [(x - centre[0]) * s[0], (y - centre[1]) * s[1], (z - centre[2]) * s[2]];
    if (d[0] ** 2 + d[1] ** 2 + d[2] ** 2 <= radius ** 2) m[at(dims, x, y, z)] = 1;
  }
  return m;
}

/** A union of a few random boxes, free to touch the volume's border. */
function blobs(dims: Vec3, count: number, seed: number): Uint8Array {
  const r = rng(seed);
  const m = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let b = 0; b < count; b++) {
    const lo = dims.map((d) => Math.floor(r() * d));
    const hi = dims.map((d, i) => Math.min(d - 1, lo[i] + Math.floor(r() * Math.max(1, d / 2))));
    const part = box(dims, lo as unknown as Vec3, hi as unknown as Vec3);
    for (let i = 0; i < m.length; i++) m[i] |= part[i];
  }
  return m;
}

function shifted(mask: Uint8Array, dims: Vec3, axis: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  const step = [1, dims[0], dims[0] * dims[1]][axis];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[i + step] = 1;
  return out;
}

// ---- tests ----

describe('quantile (torch.quantile, linear)', () => {
  it('interpolates between the closest ranks', () => {
    // rank 0.95·3 = 2.85: 3 + 0.85·(4 - 3); rank 0.95·1 = 0.95: 0 + 0.95·10; rank 0.5·2 = 1.
    expectClose(
      [quantile([4, 1, 3, 2], 0.95), quantile([10, 0], 0.95), quantile([3, 1, 2], 0.5), quantile([5], 0.95),
        quantile([7, 2, 9], 0), quantile([7, 2, 9], 1)],
      [3.85, 9.5, 2, 5, 2, 9],
      { atol: 0, rtol: 1e-15 }, 'metrics.quantile', 'tiny sets',
    );
  });

  it('follows torch for empty sets, NaN and inf', () => {
    expect(quantile([], 0.95)).toBeNaN();
    expect(quantile([1, NaN, 2], 0.95)).toBeNaN();
    // torch's lerp: a + w·(b - a) below w = 0.5, b - (b - a)·(1 - w) above (pytorch#133998).
    expect(quantile([0, Infinity], 0.4)).toBe(Infinity);
    expect(quantile([0, Infinity], 0.6)).toBeNaN();
    expect(quantile([Infinity, Infinity, Infinity], 0.95)).toBeNaN();
    expect(() => quantile([1], 1.5)).toThrow(/quantile: q must be in \[0, 1\]/);
  });
});

describe('Dice', () => {
  it('is 1 for a perfect prediction, for every label array type', () => {
    const labels = [0, 1, 2, 2, 1, 0, 0, 2];
    for (const Arr of [Int32Array, Uint8Array, Float32Array]) {
      const acc = new DiceAccumulator(3);
      const row = acc.add(Arr.from(labels), Arr.from(labels));
      expect(row).toEqual([1, 1, 1]);
      expect(acc.globalDice()).toEqual([1, 1, 1]);
      expect([acc.globalMeanDice(true), acc.monaiMeanDice(true), acc.monaiMeanDice(false)]).toEqual([1, 1, 1]);
    }
  });

  it('handles disjoint, empty-truth, empty-prediction and absent classes', () => {
    // class 1: disjoint; class 2: predicted, not in truth; class 3: in truth, not predicted;
    // class 4: nowhere.
    const truth = Int32Array.from([0, 0, 1, 1, 3, 3, 0, 0]);
    const pred = Int32Array.from([1, 1, 0, 0, 0, 0, 2, 0]);
    const acc = new DiceAccumulator(5);
    const row = acc.add(pred, truth);
    // class 0: I = 1 (voxel 7), P = 5, G = 4 → 2/9.
    expectClose(row, [2 / 9, 0, NaN, 0, NaN], RATIO, 'metrics.dice', 'monai per case');
    // Globally an empty truth with a non-empty prediction scores 0 (2·0/(1 + 0)); both empty is 0/0.
    expectClose(acc.globalDice(), [2 / 9, 0, 0, 0, NaN], RATIO, 'metrics.dice', 'global');
    // TransSeg's dices.mean() propagates the NaN; MONAI averages the non-NaN classes.
    expect(acc.globalMeanDice(true)).toBeNaN();
    expectClose([acc.monaiMeanDice(true), acc.monaiMeanDice(false)], [(2 / 9) / 3, 0], RATIO, 'metrics.dice', 'monai mean');
  });

  it('differs globally and per case on a two-case example', () => {
    // Case A: class 1 on voxels 0..9 in truth and prediction. Case B: class 1 on voxels 0,1 in
    // truth but 2,3 in prediction.
    const a = new Int32Array(20).fill(1, 0, 10);
    const bTruth = new Uint8Array(20).fill(1, 0, 2);
    const bPred = new Float32Array(20).fill(1, 2, 4);
    const acc = new DiceAccumulator(2);
    expect(acc.add(a, a)).toEqual([1, 1]);
    // Case B, class 0: I = 16 (voxels 4..19), P = G = 18 → 32/36; class 1: I = 0 → 0.
    expectClose(acc.add(bPred, bTruth), [8 / 9, 0], RATIO, 'metrics.dice', 'monai per case');
    // Global: class 0 I = 10 + 16, P = G = 10 + 18 → 52/56; class 1 I = 10, P = G = 12 → 20/24.
    expectClose(acc.globalDice(), [13 / 14, 5 / 6], RATIO, 'metrics.dice', 'global');
    expectClose(
      [acc.globalMeanDice(true), acc.globalMeanDice(false), acc.monaiMeanDice(true), acc.monaiMeanDice(false)],
      // (13/14 + 5/6)/2; 5/6; ((1 + 1)/2 + (8/9 + 0)/2)/2; (1 + 0)/2.
      [37 / 42, 5 / 6, 13 / 18, 1 / 2],
      RATIO, 'metrics.dice', 'means',
    );
  });

  it('leaves a case with no scored class out of the MONAI mean', () => {
    // Rows of (background, class 1): the third case has no class 1 in its truth.
    const rows = [[1, 0.5], [0.5, NaN], [NaN, NaN]];
    expectClose([monaiMean(rows, [0, 1]), monaiMean(rows, [1])], [(0.75 + 0.5) / 2, 0.5], RATIO, 'metrics.dice', 'monai mean');
    expect(monaiMean([[NaN, NaN]], [0, 1])).toBeNaN();
  });

  it('rejects bad arguments', () => {
    expect(() => new DiceAccumulator(0)).toThrow(/DiceAccumulator: classes must be an integer >= 1, got 0/);
    const acc = new DiceAccumulator(3);
    expect(() => acc.add(new Int32Array(4), new Int32Array(5))).toThrow(/prediction has 4 voxels, truth has 5/);
    expect(() => acc.add(Int32Array.from([0, 3]), new Int32Array(2))).toThrow(/prediction has label 3 at voxel 1/);
    expect(() => acc.add(new Float32Array(2), Float32Array.from([0, 1.5]))).toThrow(/truth has label 1.5 at voxel 1/);
    expect(acc.cases.length).toBe(0);
  });
});

describe('hausdorff95', () => {
  const S: Vec3 = [0.7, 1.3, 2.5];

  it('is 0 for a perfect prediction', () => {
    const dims: Vec3 = [6, 5, 4];
    const m = box(dims, [1, 1, 0], [4, 3, 3]); // touches the z borders
    expect(hausdorff95(m, m, dims, S)).toBe(0);
    const full = new Uint8Array(6 * 5 * 4).fill(1); // edges only on the volume's border
    expect(hausdorff95(full, full, dims, S)).toBe(0);
  });

  it('is the spacing of the axis for a one-voxel shift', () => {
    // A 4³ box has 56 edge voxels; the face left behind by the shift (16 voxels, 29%) is exactly
    // one voxel from the other box's edge and nothing is farther, so the 95th percentile is it.
    const dims: Vec3 = [9, 8, 10];
    const a = box(dims, [2, 2, 3], [5, 5, 6]);
    const hd = [0, 1, 2].map((axis) => hausdorff95(a, shifted(a, dims, axis), dims, S));
    expectClose(hd, S, SQRT, 'metrics.hd95', 'one-voxel shift');
  });

  it('is the distance between two single voxels', () => {
    const dims: Vec3 = [6, 5, 3];
    const s: Vec3 = [0.5, 2, 3];
    const a = new Uint8Array(90);
    const b = new Uint8Array(90);
    a[at(dims, 1, 1, 1)] = 1;
    b[at(dims, 4, 3, 1)] = 1;
    // sqrt((3·0.5)² + (2·2)²)
    expectClose([hausdorff95(a, b, dims, s)], [Math.sqrt(18.25)], SQRT, 'metrics.hd95', 'disjoint voxels');
  });

  it('is NaN when either mask is empty (MONAI + torch.quantile)', () => {
    const dims: Vec3 = [5, 4, 3];
    const empty = new Uint8Array(60);
    const some = box(dims, [1, 1, 1], [2, 2, 1]);
    expect(hausdorff95(some, empty, dims, S)).toBeNaN(); // empty truth
    expect(hausdorff95(empty, some, dims, S)).toBeNaN(); // empty prediction
    expect(hausdorff95(empty, empty, dims, S)).toBeNaN(); // both
  });

  it('matches brute force for a sphere and a shifted sphere', () => {
    const dims: Vec3 = [17, 13, 9];
    const s: Vec3 = [0.8, 1.1, 2.3];
    const a = sphere(dims, s, [8, 6, 4], 5);
    const b = sphere(dims, s, [9.5, 5, 3.4], 5.6);
    expectClose([hausdorff95(a, b, dims, s)], [refHausdorff95(a, b, dims, s)], BRUTE, 'metrics.hd95', 'spheres vs brute force');
  });

  it('matches brute force for random blobs, including size-1 dims and the volume border', () => {
    const cases: [Vec3, Vec3][] = [
      [[11, 7, 5], [0.9, 0.9, 3]],
      [[7, 1, 6], [1.5, 1, 0.4]],
      [[1, 1, 23], [1, 1, 1.7]],
      [[13, 9, 1], [0.6, 1.9, 5]],
    ];
    const got: number[] = [];
    const want: number[] = [];
    cases.forEach(([dims, s], i) => {
      const a = blobs(dims, 3, 10 + i);
      const b = blobs(dims, 2, 20 + i);
      got.push(hausdorff95(a, b, dims, s));
      want.push(refHausdorff95(a, b, dims, s));
    });
    expectClose(got, want, BRUTE, 'metrics.hd95', 'blobs vs brute force');
  });

  it('handles a 240×240×155 volume with small and with large structures', () => {
    const dims: Vec3 = [240, 240, 155];
    const s: Vec3 = [0.9, 0.9, 2.5];
    // Small structures: the all-pairs reference is affordable on their edges.
    const a = sphere(dims, s, [60, 70, 40], 6);
    const b = sphere(dims, s, [63, 68, 42], 5);
    expectClose([hausdorff95(a, b, dims, s)], [refHausdorff95(a, b, dims, s)], BRUTE, 'metrics.hd95', 'small structures, full volume');
    // A 200×200×100 box shifted by one slice: over 9M voxels in its bounding box, and the answer
    // is the slice spacing (the bottom face alone is 25% of the edge voxels).
    const big = box(dims, [20, 20, 30], [219, 219, 129]);
    expectClose([hausdorff95(big, shifted(big, dims, 2), dims, s)], [2.5], SQRT, 'metrics.hd95', 'large structure, full volume');
  });

  it('scores each foreground class of label volumes', () => {
    const dims: Vec3 = [8, 7, 6];
    const s: Vec3 = [1, 1.2, 2];
    const truth = new Int32Array(8 * 7 * 6);
    const pred = new Uint8Array(8 * 7 * 6);
    const one = box(dims, [1, 1, 1], [3, 3, 3]);
    const two = sphere(dims, s, [5, 4, 3], 2.5);
    for (let i = 0; i < truth.length; i++) {
      truth[i] = two[i] ? 2 : one[i] ? 1 : 0;
      pred[i] = one[i] ? 2 : 0; // class 1 missed, class 2 in the wrong place, class 3 nowhere
    }
    const hd = classHausdorff95(pred, truth, 4, dims, s);
    const isTwo = (v: ArrayLike<number>) => Uint8Array.from(v, (c) => (c === 2 ? 1 : 0));
    expectClose(hd, [NaN, NaN, hausdorff95(isTwo(pred), isTwo(truth), dims, s), NaN], { atol: 0, rtol: 0 }, 'metrics.hd95', 'per class');
  });

  it('rejects bad arguments', () => {
    const m = new Uint8Array(24);
    expect(() => hausdorff95(m, m, [2, 3, 5], [1, 1, 1])).toThrow(/hausdorff95: masks have 24 \(pred\) and 24 \(truth\) voxels, dims \[2, 3, 5\] need 30/);
    expect(() => hausdorff95(m, m, [2, 3, 4], [1, 0, 1])).toThrow(/hausdorff95: spacing must be three finite numbers > 0/);
    expect(() => hausdorff95(m, m, [2, 3.5, 4], [1, 1, 1])).toThrow(/hausdorff95: dims must be three integers >= 1/);
    expect(() => classHausdorff95(Int32Array.from([0, 5]), new Int32Array(2), 3, [2, 1, 1], [1, 1, 1]))
      .toThrow(/classHausdorff95: prediction has label 5 at voxel 1/);
  });
});

describe('evaluation report', () => {
  const input = {
    classNames: ['background', 'liver', 'tumour'],
    perCase: [
      { name: 'case-a', dice: [1, 0.5, NaN], hd95: [NaN, 2, NaN] },
      { name: 'case-b', dice: [0.5, 1, 0.25], hd95: [NaN, 4, 1.5] },
    ],
    global: { dice: [0.8, 0.6, NaN] },
  };

  it('computes per-class and mean scores, with null for NaN', () => {
    const r = evaluationReport(input);
    expect(r.classes.map((c) => [c.globalDice, c.monaiDice, c.monaiDiceCases, c.hd95, c.hd95Cases])).toEqual([
      [0.8, 0.75, 2, null, 0],
      [0.6, 0.75, 2, 3, 2],
      [null, 0.25, 1, 1.5, 1],
    ]);
    // TransSeg's plain mean over classes is NaN when one class is.
    expect(r.means.all.globalDice).toBeNull();
    expect(r.means.foreground.globalDice).toBeNull();
    expectClose(
      [r.means.all.monaiDice!, r.means.foreground.monaiDice!, r.means.foreground.hd95!],
      // Per case over its non-NaN classes, then over cases: ((1 + 0.5)/2 + (0.5 + 1 + 0.25)/3)/2;
      // (0.5 + (1 + 0.25)/2)/2; (2 + (4 + 1.5)/2)/2.
      [(0.75 + 1.75 / 3) / 2, (0.5 + 0.625) / 2, (2 + 2.75) / 2],
      RATIO, 'metrics.report', 'means',
    );
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(r.cases[0].dice).toEqual([1, 0.5, null]);
  });

  it('formats a fixed-width table', () => {
    const table = formatTable(evaluationReport(input));
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^class\s+global Dice\s+MONAI Dice \(n\)\s+HD95 mm \(n\)$/);
    expect(lines).toContain('background             0.8000        0.7500 (2)                 -');
    expect(lines).toContain('liver                  0.6000        0.7500 (2)          3.00 (2)');
    expect(lines).toContain('tumour                    n/a        0.2500 (1)          1.50 (1)');
    expect(lines).toContain('mean, foreground          n/a            0.5625              2.38');
  });

  it('rejects rows that do not match the class names', () => {
    expect(() => evaluationReport({ ...input, global: { dice: [1, 1] } })).toThrow(/evaluationReport: global.dice has 2 entries for 3 class names/);
    expect(() => evaluationReport({ ...input, perCase: [{ name: 'x', dice: [1, 1, 1], hd95: [NaN, Infinity, 1] }] }))
      .toThrow(/evaluationReport: perCase\[0\].hd95\[1\] is Infinity/);
  });
});
