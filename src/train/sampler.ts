// Which slice of which training case sample i is centred on.
//
// TransSeg's policy (uniform): epoch ⌊i/N⌋ visits all N slices in its own seeded order. Where the
// foreground is rare (a tumour in 20 of 155 slices) most samples then teach "background", and the
// model learns the tumour slowly and over-segments its surroundings. MONAI's RandCropByPosNegLabel
// answers this by centring a set fraction of the samples on a foreground voxel: with
// `foregroundFraction` p, sample i is, with probability p, centred on the slice of a foreground
// voxel of a case drawn uniformly (so a slice of that case is chosen in proportion to its
// foreground); otherwise it is the uniform policy's sample i. The case is drawn first, as nnU-Net
// and a MONAI dataset of per-image crops do, so that every patient's annotation weighs the same: a
// pool of all foreground voxels would let the largest tumour dominate (BRATS: 73 % of the samples
// from one of two patients). Each choice is a pure function of (seed, i), so a resumed run repeats
// the same samples.

import { deriveSeed, permutation, rng } from '../util/random.js';

export interface SampleChoice {
  caseIndex: number;
  slice: number;
  /** Drawn from the foreground (rather than the uniform order). */
  fromForeground: boolean;
}

/** A labelled case as the sampler sees it: labels [Z, Y, X], dims [X, Y, Z]. */
interface LabelledCase {
  label?: Float32Array;
  dims: readonly [number, number, number];
}

export class SlicePolicy {
  private readonly slices: [number, number][];
  /** Per case holding foreground: its foreground slices and the running total of their voxels. */
  private readonly foreground: { slices: [number, number][]; cumulative: number[] }[] = [];

  constructor(cases: readonly LabelledCase[], private readonly foregroundFraction: number, private readonly seed: number) {
    if (!(foregroundFraction >= 0 && foregroundFraction <= 1)) throw new Error(`train: foregroundFraction must be in [0, 1], got ${foregroundFraction}`);
    this.slices = cases.flatMap((c, i) => Array.from({ length: c.dims[2] }, (_, k) => [i, k] as [number, number]));
    if (foregroundFraction > 0) cases.forEach((c, i) => {
      const plane = c.dims[0] * c.dims[1];
      const slices: [number, number][] = [];
      const cumulative: number[] = [];
      let total = 0;
      for (let k = 0; k < c.dims[2]; k++) {
        let count = 0;
        for (let j = k * plane; j < (k + 1) * plane; j++) if (c.label![j] > 0) count++;
        if (count === 0) continue;
        total += count;
        slices.push([i, k]);
        cumulative.push(total);
      }
      if (total > 0) this.foreground.push({ slices, cumulative });
    });
    if (foregroundFraction > 0 && this.foreground.length === 0) throw new Error('train: foregroundFraction > 0, but no training label has any foreground');
  }

  get sliceCount(): number {
    return this.slices.length;
  }

  /** The choice for sample i. */
  pick(i: number): SampleChoice {
    if (this.foregroundFraction > 0) {
      const random = rng(deriveSeed(this.seed, 3, i));
      if (random() < this.foregroundFraction) {
        const { slices, cumulative } = this.foreground[Math.floor(random() * this.foreground.length)];
        const [caseIndex, slice] = slices[weightedIndex(cumulative, random() * cumulative[cumulative.length - 1])];
        return { caseIndex, slice, fromForeground: true };
      }
    }
    const n = this.slices.length;
    const [caseIndex, slice] = this.slices[this.epochOrder(Math.floor(i / n))[i % n]];
    return { caseIndex, slice, fromForeground: false };
  }

  private cachedEpoch = -1;
  private cachedOrder: Uint32Array = new Uint32Array(0);
  private epochOrder(epoch: number): Uint32Array {
    if (epoch !== this.cachedEpoch) {
      this.cachedOrder = permutation(this.slices.length, deriveSeed(this.seed, 0, epoch));
      this.cachedEpoch = epoch;
    }
    return this.cachedOrder;
  }
}

/** The first index whose running total exceeds `voxel` (binary search). */
function weightedIndex(cumulative: readonly number[], voxel: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] > voxel) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
