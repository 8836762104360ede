// Post-processing of a predicted label volume, as MONAI users know it:
// - KeepLargestConnectedComponent: per foreground class (MONAI's independent=True) or of the whole
//   foreground (independent=False; the kept voxels keep their classes);
// - removal of islands: foreground components smaller than N voxels become background (MONAI's
//   RemoveSmallObjects on the foreground);
// - a mask: predictions outside it become background (e.g. the brain: data/background.ts).
// Order: mask, then islands, then the largest component. Connectivity is 6 (faces), 18 (faces and
// edges) or 26 (faces, edges and corners; MONAI's default, full connectivity) in 3-D.
//
// Volumes are [Z, Y, X] in C order (NIfTI's x-fastest order) with dims [X, Y, Z], as predictVolume
// returns them. Everything is done in place on the label array, in O(voxels).

import type { Connectivity, PostProcessing } from '../model/model-file.js';

type Dims = readonly [number, number, number];

/** The offsets [dx, dy, dz] of a voxel's neighbours under `connectivity`. */
export function neighbourOffsets(connectivity: Connectivity): [number, number, number][] {
  if (![6, 18, 26].includes(connectivity)) throw new Error(`postprocess: connectivity must be 6, 18 or 26, got ${connectivity}`);
  const out: [number, number, number][] = [];
  for (let dz = -1; dz <= 1; dz++) {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const order = Math.abs(dx) + Math.abs(dy) + Math.abs(dz); // 1 face, 2 edge, 3 corner
        if (order === 0 || (connectivity === 6 && order > 1) || (connectivity === 18 && order > 2)) continue;
        out.push([dx, dy, dz]);
      }
    }
  }
  return out;
}

/**
 * Connected components of the voxels where `inside(i)` holds: a component id per voxel (0 outside,
 * 1..n inside) and the voxel count of each id (sizes[0] unused).
 */
export function connectedComponents(dims: Dims, inside: (i: number) => boolean, connectivity: Connectivity = 26): { ids: Int32Array; sizes: number[] } {
  const [X, Y, Z] = dims;
  const offsets = neighbourOffsets(connectivity);
  const ids = new Int32Array(X * Y * Z);
  const sizes = [0];
  const queue = new Int32Array(X * Y * Z);
  for (let seed = 0; seed < ids.length; seed++) {
    if (ids[seed] !== 0 || !inside(seed)) continue;
    const id = sizes.length;
    let head = 0;
    let tail = 0;
    queue[tail++] = seed;
    ids[seed] = id;
    while (head < tail) {
      const i = queue[head++];
      const x = i % X;
      const y = Math.floor(i / X) % Y;
      const z = Math.floor(i / (X * Y));
      for (const [dx, dy, dz] of offsets) {
        const nx = x + dx, ny = y + dy, nz = z + dz;
        if (nx < 0 || ny < 0 || nz < 0 || nx >= X || ny >= Y || nz >= Z) continue;
        const j = (nz * Y + ny) * X + nx;
        if (ids[j] === 0 && inside(j)) {
          ids[j] = id;
          queue[tail++] = j;
        }
      }
    }
    sizes.push(tail);
  }
  return { ids, sizes };
}

/** Sets to background every voxel of a component (of `inside`) that `keep(sizes)` does not mark kept (by id). */
function filterComponents(labels: Float32Array, dims: Dims, inside: (i: number) => boolean, connectivity: Connectivity, keep: (sizes: number[]) => boolean[]): void {
  const { ids, sizes } = connectedComponents(dims, inside, connectivity);
  const kept = keep(sizes);
  for (let i = 0; i < labels.length; i++) if (ids[i] !== 0 && !kept[ids[i]]) labels[i] = 0;
}

/** Only the largest component (the first of equal largest ones, in voxel order). */
const onlyLargest = (sizes: number[]): boolean[] => {
  const best = sizes.reduce((b, s, id) => (id > 0 && s > sizes[b] ? id : b), 1);
  return sizes.map((_, id) => id === best);
};

/** Checks the settings (from a model file or flags); returns them. */
export function validatePostProcessing(p: PostProcessing, where: string): PostProcessing {
  if (p.largestComponent !== undefined && p.largestComponent !== 'classes' && p.largestComponent !== 'foreground') {
    throw new Error(`${where}: largestComponent must be 'classes' or 'foreground', got ${JSON.stringify(p.largestComponent)}`);
  }
  if (p.minIslandVoxels !== undefined && !(Number.isInteger(p.minIslandVoxels) && p.minIslandVoxels >= 1)) {
    throw new Error(`${where}: minIslandVoxels must be an integer ≥ 1, got ${JSON.stringify(p.minIslandVoxels)}`);
  }
  if (p.connectivity !== undefined && ![6, 18, 26].includes(p.connectivity)) {
    throw new Error(`${where}: connectivity must be 6, 18 or 26, got ${JSON.stringify(p.connectivity)}`);
  }
  if (p.maskForeground !== undefined && typeof p.maskForeground !== 'boolean') throw new Error(`${where}: maskForeground must be true or false, got ${JSON.stringify(p.maskForeground)}`);
  return p;
}

/**
 * Applies `p` to `labels` in place (and returns it). `mask` (same grid; nonzero = inside) is
 * required when `p.maskForeground` is set; the caller computes it from the input.
 */
export function postProcess(labels: Float32Array, dims: Dims, p: PostProcessing, mask?: ArrayLike<number>): Float32Array {
  validatePostProcessing(p, 'postprocess');
  if (labels.length !== dims[0] * dims[1] * dims[2]) throw new Error(`postprocess: ${labels.length} labels, dims [${dims.join(', ')}] need ${dims[0] * dims[1] * dims[2]}`);
  const connectivity = p.connectivity ?? 26;
  if (p.maskForeground) {
    if (!mask || mask.length !== labels.length) throw new Error(`postprocess: maskForeground needs a mask of ${labels.length} voxels, got ${mask?.length ?? 'none'}`);
    for (let i = 0; i < labels.length; i++) if (mask[i] === 0) labels[i] = 0;
  }
  const foreground = (i: number) => labels[i] !== 0;
  if (p.minIslandVoxels !== undefined) {
    const min = p.minIslandVoxels;
    filterComponents(labels, dims, foreground, connectivity, (sizes) => sizes.map((size) => size >= min));
  }
  if (p.largestComponent === 'foreground') {
    filterComponents(labels, dims, foreground, connectivity, onlyLargest);
  } else if (p.largestComponent === 'classes') {
    const classes = new Set(labels);
    classes.delete(0);
    for (const c of classes) filterComponents(labels, dims, (i) => labels[i] === c, connectivity, onlyLargest);
  }
  return labels;
}
