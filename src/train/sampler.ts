// Which slice of which training case sample i is centred on.
//
// TransSeg's policy (uniform): epoch ⌊i/N⌋ visits all N slices in its own seeded order. Where the
// foreground is rare (a tumour in 20 of 155 slices) most samples then teach "background", and the
// model learns the tumour slowly and over-segments its surroundings. MONAI's RandCropByPosNegLabel
// answers this by centring a set fraction of the samples on a foreground voxel: with
// `foregroundFraction` p, sample i is, with probability p, centred on the slice of a foreground
// voxel drawn uniformly from all foreground voxels of all training cases (so a slice is chosen in
// proportion to its foreground); otherwise it is the uniform policy's sample i. Each choice is a pure
// function of (seed, i), so a resumed run repeats the same samples.

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
  /** Foreground slices and the running total of their foreground voxels. */
  private readonly foregroundSlices: [number, number][] = [];
  private readonly cumulative: number[] = [];

  constructor(cases: readonly LabelledCase[], private readonly foregroundFraction: number, private readonly seed: number) {
    if (!(foregroundFraction >= 0 && foregroundFraction <= 1)) throw new Error(`train: foregroundFraction must be in [0, 1], got ${foregroundFraction}`);
    this.slices = cases.flatMap((c, i) => Array.from({ length: c.dims[2] }, (_, k) => [i, k] as [number, number]));
    let total = 0;
    if (foregroundFraction > 0) cases.forEach((c, i) => {
      const plane = c.dims[0] * c.dims[1];
      for (let k = 0; k < c.dims[2]; k++) {
        let count = 0;
        for (let j = k * plane; j < (k + 1) * plane; j++) if (c.label![j] > 0) count++;
        if (count === 0) continue;
        total += count;
        this.foregroundSlices.push([i, k]);
        this.cumulative.push(total);
      }
    });
    if (foregroundFraction > 0 && total === 0) throw new Error('train: foregroundFraction > 0, but no training label has any foreground');
  }

  get sliceCount(): number {
    return this.slices.length;
  }

  /** The choice for sample i. */
  pick(i: number): SampleChoice {
    if (this.foregroundFraction > 0) {
      const random = rng(deriveSeed(this.seed, 3, i));
      if (random() < this.foregroundFraction) {
        const [caseIndex, slice] = this.foregroundSlices[this.weightedIndex(random() * this.cumulative[this.cumulative.length - 1])];
        return { caseIndex, slice, fromForeground: true };
      }
    }
    const n = this.slices.length;
    const [caseIndex, slice] = this.slices[this.epochOrder(Math.floor(i / n))[i % n]];
    return { caseIndex, slice, fromForeground: false };
  }

  /** The first foreground slice whose running total exceeds `voxel` (binary search). */
  private weightedIndex(voxel: number): number {
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid] > voxel) hi = mid;
      else lo = mid + 1;
    }
    return lo;
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
