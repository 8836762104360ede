// Segmentation metrics on the CPU, as pure functions of label volumes:
// - Dice two ways: the paper's dataset-level Dice (TransSeg utils.eval_metrics: one 2I/(P+G) per
//   class over all slices of all volumes) and MONAI's per-case Dice (DiceMetric with
//   include_background=True, reduction='mean', ignore_empty=True).
// - HD95 in mm: MONAI HausdorffDistanceMetric(include_background=False, percentile=95, spacing).
// Volumes are flat arrays in NIfTI order, x fastest: voxel (x, y, z) is at x + X·(y + Y·z).
// Everything is computed in f64; MONAI rounds its results to f32 (relative differences ~6e-8).

/** Class ids per voxel. Float32Array is accepted for labels read from NIfTI; values must be integers. */
export type LabelVolume = Int32Array | Uint8Array | Float32Array;
export type Vec3 = readonly [number, number, number];

// ---------------------------------------------------------------------------------------------
// Dice

/** Per-class voxel counts of one case, or summed over cases. */
export interface DiceCounts {
  /** Voxels labelled c in both prediction and truth. */
  intersection: Float64Array;
  /** Voxels the prediction labels c. */
  predicted: Float64Array;
  /** Voxels the truth labels c. */
  truth: Float64Array;
}

function zeroCounts(classes: number): DiceCounts {
  return { intersection: new Float64Array(classes), predicted: new Float64Array(classes), truth: new Float64Array(classes) };
}

/**
 * Collects Dice counts case by case. Counts are f64, exact up to 2^53 voxels.
 *
 * - Global (the paper): counts summed over every case, Dice = 2I/(P+G) per class. A class absent
 *   from prediction and truth in every case gives 0/0 = NaN, as numpy does in TransSeg.
 * - Per case (MONAI compute_channel, ignore_empty=True): a case whose truth lacks the class gives
 *   NaN for it, whatever the prediction holds, so a false positive in such a case costs nothing;
 *   NaNs are left out of the means. A truth with the class and an empty prediction gives 0.
 */
export class DiceAccumulator {
  /** Sums over all cases: the paper's dataset-level counts. */
  readonly total: DiceCounts;
  /** One entry per case, in the order added. */
  readonly cases: DiceCounts[] = [];

  constructor(readonly classes: number) {
    if (!Number.isInteger(classes) || classes < 1) {
      throw new Error(`DiceAccumulator: classes must be an integer >= 1, got ${classes}`);
    }
    this.total = zeroCounts(classes);
  }

  /**
   * Counts one case (a volume, or the stack of its predicted slices) and returns its MONAI Dice
   * per class.
   */
  add(prediction: LabelVolume, truth: LabelVolume): number[] {
    if (prediction.length !== truth.length) {
      throw new Error(`DiceAccumulator.add: prediction has ${prediction.length} voxels, truth has ${truth.length}`);
    }
    checkLabels('DiceAccumulator.add', 'prediction', prediction, this.classes);
    checkLabels('DiceAccumulator.add', 'truth', truth, this.classes);
    const c = zeroCounts(this.classes);
    for (let i = 0; i < truth.length; i++) {
      const p = prediction[i];
      const t = truth[i];
      c.predicted[p]++;
      c.truth[t]++;
      if (p === t) c.intersection[p]++;
    }
    for (let k = 0; k < this.classes; k++) {
      this.total.intersection[k] += c.intersection[k];
      this.total.predicted[k] += c.predicted[k];
      this.total.truth[k] += c.truth[k];
    }
    this.cases.push(c);
    return monaiDice(c);
  }

  /** The paper's Dice per class over all cases added. */
  globalDice(): number[] {
    return globalDice(this.total);
  }

  /** MONAI's Dice per case (rows) and class (columns). */
  caseDice(): number[][] {
    return this.cases.map(monaiDice);
  }

  /** TransSeg's val/mdice (all classes) or val/mdice_nobg (without class 0). */
  globalMeanDice(includeBackground: boolean): number {
    return classMean(this.globalDice(), classIds(this.classes, includeBackground));
  }

  /** DiceMetric(include_background, reduction='mean', ignore_empty=True).aggregate(). */
  monaiMeanDice(includeBackground: boolean): number {
    return monaiMean(this.caseDice(), classIds(this.classes, includeBackground));
  }
}

/** 2I/(P+G) per class; NaN where the class is in neither prediction nor truth. */
export function globalDice(c: DiceCounts): number[] {
  return Array.from(c.truth, (g, k) => (2 * c.intersection[k]) / (c.predicted[k] + g));
}

/** MONAI's per-case rule: NaN where the truth lacks the class, else 2I/(P+G). */
export function monaiDice(c: DiceCounts): number[] {
  return Array.from(c.truth, (g, k) => (g > 0 ? (2 * c.intersection[k]) / (c.predicted[k] + g) : NaN));
}

/** [0, 1, ..., classes-1], or without 0 when the background is excluded. */
export function classIds(classes: number, includeBackground: boolean): number[] {
  return Array.from({ length: classes }, (_, k) => k).slice(includeBackground ? 0 : 1);
}

function checkLabels(op: string, name: string, labels: LabelVolume, classes: number): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new Error(`${op}: ${name} has label ${v} at voxel ${i}; labels must be integers in [0, ${classes})`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reductions

/**
 * The plain mean of values[k] over the given classes, as TransSeg's `dices.mean()`: one NaN class
 * makes the mean NaN.
 */
export function classMean(values: readonly number[], classes: readonly number[]): number {
  if (classes.length === 0) return NaN;
  let sum = 0;
  for (const k of classes) sum += values[k];
  return sum / classes.length;
}

/**
 * MONAI do_metric_reduction(rows[:, classes], 'mean'): each case's mean over its non-NaN classes,
 * then the mean over cases that have at least one. Where nothing is left MONAI writes 0 (with
 * not_nans = 0); we return NaN, so that "never scored" cannot read as a score of 0.
 */
export function monaiMean(rows: readonly (readonly number[])[], classes: readonly number[]): number {
  let sum = 0;
  let count = 0;
  for (const row of rows) {
    const m = nanMean(classes.map((k) => row[k]));
    if (!Number.isNaN(m)) {
      sum += m;
      count++;
    }
  }
  return count > 0 ? sum / count : NaN;
}

/** MONAI 'mean_batch': per class, the mean over cases where it is not NaN (NaN if there are none). */
export function monaiClassMeans(rows: readonly (readonly number[])[], classes: number): number[] {
  return Array.from({ length: classes }, (_, k) => nanMean(rows.map((row) => row[k])));
}

/** How many cases have a non-NaN value, per class (MONAI's not_nans for 'mean_batch'). */
export function countNotNaN(rows: readonly (readonly number[])[], classes: number): number[] {
  return Array.from({ length: classes }, (_, k) => rows.filter((row) => !Number.isNaN(row[k])).length);
}

/** The mean of the non-NaN values; NaN when there are none. */
export function nanMean(values: readonly number[]): number {
  let sum = 0;
  let count = 0;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    sum += v;
    count++;
  }
  return count > 0 ? sum / count : NaN;
}

// ---------------------------------------------------------------------------------------------
// HD95

/**
 * torch.quantile(values, q) with its default linear interpolation: sort, rank = q·(n-1), then
 * torch's lerp between the two neighbours (`a + w·(b-a)` for w < 0.5, else `b - (b-a)·(1-w)`).
 * NaN for an empty set or when any value is NaN, as torch.
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile: q must be in [0, 1], got ${q}`);
  const sorted = Float64Array.from(values).sort(); // numeric order, NaN last
  const n = sorted.length;
  if (n === 0 || Number.isNaN(sorted[n - 1])) return NaN;
  const rank = q * (n - 1);
  const lo = Math.floor(rank);
  const w = rank - lo;
  const a = sorted[lo];
  const b = sorted[Math.ceil(rank)];
  return w < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w);
}

/**
 * The 95th-percentile symmetric Hausdorff distance between two binary masks (non-zero = inside),
 * in the units of `spacing` (mm), as MONAI HausdorffDistanceMetric(percentile=95):
 * 1. Edge voxels (get_mask_edges): mask voxels with one of their 6 face neighbours outside the
 *    mask, voxels outside the volume counting as outside (scipy binary_erosion with its default
 *    cross structuring element and border_value=0, XOR the mask).
 * 2. For every edge voxel of one mask, the Euclidean distance with `spacing` to the nearest edge
 *    voxel of the other (get_surface_distance: distance_transform_edt(sampling=spacing)).
 * 3. quantile(·, 0.95) of each direction, then the larger of the two.
 *
 * Empty masks give NaN:
 * - both empty: there are no distances (MONAI: NaN).
 * - one empty: MONAI sets that direction's distances to inf and torch.quantile interpolates
 *   lerp(inf, inf, w) = inf + w·(inf - inf) = NaN (pytorch/pytorch#133998), so its HD95 is NaN
 *   too (only percentile=None, plain max, gives inf). A NaN-ignoring mean then drops the case: a
 *   missed organ does not count against HD95; it shows as Dice 0.
 */
export function hausdorff95(pred: ArrayLike<number>, truth: ArrayLike<number>, dims: Vec3, spacing: Vec3): number {
  checkGrid('hausdorff95', dims, spacing);
  const voxels = dims[0] * dims[1] * dims[2];
  if (pred.length !== voxels || truth.length !== voxels) {
    throw new Error(`hausdorff95: masks have ${pred.length} (pred) and ${truth.length} (truth) voxels, dims [${dims.join(', ')}] need ${voxels}`);
  }
  // Every edge voxel lies in the bounding box of the union, so the distances can be computed there.
  const box = unionBox(pred, truth, dims);
  if (box === null) return NaN;
  const predEdges = edgesInBox(pred, dims, box);
  const truthEdges = edgesInBox(truth, dims, box);
  if (!predEdges.includes(1) || !truthEdges.includes(1)) return NaN;
  const toTruth = edgeDistances(predEdges, squaredDistanceTransform(truthEdges, box.size, spacing));
  const toPred = edgeDistances(truthEdges, squaredDistanceTransform(predEdges, box.size, spacing));
  return Math.max(quantile(toTruth, 0.95), quantile(toPred, 0.95));
}

/**
 * HD95 per class between two label volumes: entry c compares the masks `== c`. Entry 0 (the
 * background) is NaN: MONAI's default include_background=False does not score it.
 */
export function classHausdorff95(prediction: LabelVolume, truth: LabelVolume, classes: number, dims: Vec3, spacing: Vec3): number[] {
  if (prediction.length !== truth.length) {
    throw new Error(`classHausdorff95: prediction has ${prediction.length} voxels, truth has ${truth.length}`);
  }
  checkLabels('classHausdorff95', 'prediction', prediction, classes);
  checkLabels('classHausdorff95', 'truth', truth, classes);
  const p = new Uint8Array(prediction.length);
  const t = new Uint8Array(truth.length);
  const out = [NaN];
  for (let c = 1; c < classes; c++) {
    for (let i = 0; i < p.length; i++) {
      p[i] = prediction[i] === c ? 1 : 0;
      t[i] = truth[i] === c ? 1 : 0;
    }
    out.push(hausdorff95(p, t, dims, spacing));
  }
  return out;
}

function checkGrid(op: string, dims: Vec3, spacing: Vec3): void {
  if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new Error(`${op}: dims must be three integers >= 1, got [${dims.join(', ')}]`);
  }
  if (spacing.length !== 3 || !spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new Error(`${op}: spacing must be three finite numbers > 0, got [${spacing.join(', ')}]`);
  }
}

/** An axis-aligned box of voxels: start corner and size, per axis. */
interface Box {
  start: Vec3;
  size: Vec3;
}

/** The bounding box of the voxels inside either mask; null when both are empty. */
function unionBox(a: ArrayLike<number>, b: ArrayLike<number>, dims: Vec3): Box | null {
  const [X, Y, Z] = dims;
  const lo = [X, Y, Z];
  const hi = [-1, -1, -1];
  for (let z = 0, i = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++, i++) {
        if (!a[i] && !b[i]) continue;
        lo[0] = Math.min(lo[0], x); hi[0] = Math.max(hi[0], x);
        lo[1] = Math.min(lo[1], y); hi[1] = Math.max(hi[1], y);
        lo[2] = Math.min(lo[2], z); hi[2] = Math.max(hi[2], z);
      }
    }
  }
  if (hi[0] < 0) return null;
  return { start: [lo[0], lo[1], lo[2]], size: [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1] };
}

/** 1 at the mask's edge voxels inside `box` (box-local layout, x fastest), 0 elsewhere. */
function edgesInBox(mask: ArrayLike<number>, dims: Vec3, box: Box): Uint8Array {
  const [X, Y, Z] = dims;
  const XY = X * Y;
  const [nx, ny, nz] = box.size;
  const edges = new Uint8Array(nx * ny * nz);
  for (let z = box.start[2], j = 0; z < box.start[2] + nz; z++) {
    for (let y = box.start[1]; y < box.start[1] + ny; y++) {
      for (let x = box.start[0], i = x + X * (y + Y * z); x < box.start[0] + nx; x++, i++, j++) {
        if (!mask[i]) continue;
        // Interior: all six face neighbours exist and are inside the mask.
        const interior = x > 0 && mask[i - 1] && x < X - 1 && mask[i + 1] &&
          y > 0 && mask[i - X] && y < Y - 1 && mask[i + X] &&
          z > 0 && mask[i - XY] && z < Z - 1 && mask[i + XY];
        if (!interior) edges[j] = 1;
      }
    }
  }
  return edges;
}

/** sqrt of the squared distance map at the marked voxels. */
function edgeDistances(edges: Uint8Array, squared: Float64Array): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < edges.length; i++) if (edges[i]) out.push(Math.sqrt(squared[i]));
  return Float64Array.from(out);
}

/**
 * Exact squared Euclidean distance from every voxel to the nearest marked voxel, with voxel size
 * `spacing` (Felzenszwalb & Huttenlocher 2012): the squared distance separates into a sum over
 * axes, so three passes of the 1-D transform, one per axis, give the 3-D result in O(voxels).
 * Infinity everywhere when nothing is marked.
 */
function squaredDistanceTransform(marked: Uint8Array, size: Vec3, spacing: Vec3): Float64Array {
  const d = new Float64Array(marked.length).fill(Infinity);
  for (let i = 0; i < marked.length; i++) if (marked[i]) d[i] = 0;
  const [nx, ny, nz] = size;
  const strides = [1, nx, nx * ny];
  const longest = Math.max(nx, ny, nz);
  const line = new Float64Array(longest);
  const out = new Float64Array(longest);
  const v = new Int32Array(longest);
  const z = new Float64Array(longest + 1);
  for (let axis = 0; axis < 3; axis++) {
    const n = size[axis];
    const stride = strides[axis];
    const w = spacing[axis] * spacing[axis];
    // The lines along `axis` start at the voxels whose coordinate on that axis is 0: `inner`
    // runs over the axes before it, `outer` over the axes after it.
    for (let outer = 0; outer < d.length / (n * stride); outer++) {
      for (let inner = 0; inner < stride; inner++) {
        const start = outer * n * stride + inner;
        for (let i = 0; i < n; i++) line[i] = d[start + i * stride];
        distanceTransform1d(line, n, w, out, v, z);
        for (let i = 0; i < n; i++) d[start + i * stride] = out[i];
      }
    }
  }
  return d;
}

/**
 * out[p] = min_q (w·(p-q)² + f[q]) over q < n: the lower envelope of the parabolas rooted at the
 * finite f[q]. v holds the envelope's parabola roots, z the boundaries between them.
 */
function distanceTransform1d(f: Float64Array, n: number, w: number, out: Float64Array, v: Int32Array, z: Float64Array): void {
  // Where parabola q overtakes parabola p (p < q).
  const meet = (p: number, q: number) => (f[q] + w * q * q - (f[p] + w * p * p)) / (2 * w * (q - p));
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (f[q] === Infinity) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
      continue;
    }
    let s = meet(v[k], q);
    while (s <= z[k]) s = meet(v[--k], q); // z[0] = -inf stops it
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  if (k < 0) {
    out.fill(Infinity, 0, n);
    return;
  }
  for (let p = 0, j = 0; p < n; p++) {
    while (z[j + 1] < p) j++;
    const dp = p - v[j];
    out[p] = dp * dp * w + f[v[j]];
  }
}
