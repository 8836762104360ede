// The demo's phantoms, built so that telling the classes apart needs depth. Each volume holds
// spheres (label 1) and cylinders standing along z (label 2), all of the same intensity inside
// a soft-tissue body, with noise. Every axial slice of either is a disc: a cylinder's is the
// same disc on every slice it crosses, a sphere's grows and shrinks from slice to slice. The
// radius ranges overlap, and a slice is drawn from its 2-D cross-section alone (the in-plane
// distance to a disc of the slice's radius), so a sphere slice of radius ρ is exactly the slice
// of a cylinder of radius ρ: one slice cannot tell them apart, a window of slices can (see
// test/depth-phantom.test.ts). This is what the paper's "w/o D" ablation removes.
//
// Layout: NIfTI order, x fastest: voxel (i, j, k) is at i + X·(j + Y·k).

import { connectedComponents } from '../infer/postprocess.js';
import { rng } from '../util/random.js';
import type { Phantom, Vec3 } from './phantom.js';
import type { SliceSource } from './pretrain2d.js';

export const DEPTH_LABELS = ['background', 'sphere', 'cylinder'] as const;

/** Default grid: 32×32×16 voxels of 1.5×1.5×3 mm (a 48 mm cube). */
export const DEPTH_PHANTOM_DIMS: Vec3 = [32, 32, 16];
export const DEPTH_PHANTOM_SPACING: Vec3 = [1.5, 1.5, 3];

const AIR = -180;
const BODY = 40;
/** Spheres and cylinders alike: only their shape across slices differs. */
const STRUCTURE = 150;
const NOISE_SD = 15;
/** Width (mm) of the in-plane partial-volume ramp at a disc's edge and the body's. */
const EDGE = 1;
const GAP = 2;
/** Radii (mm): the ranges overlap, so a disc of 3–7.5 mm can belong to either. */
export const SPHERE_RADIUS: readonly [number, number] = [5.5, 8.5];
export const CYLINDER_RADIUS: readonly [number, number] = [3, 7.5];
/** Cylinder length (mm), flat ends. */
const CYLINDER_LENGTH: [number, number] = [15, 33];
/** Structures of each kind per volume. */
const PER_KIND = 2;
const ATTEMPTS = 500;

/** A structure: its disc centre in-plane, and the radius of its cross-section at height z (0: none). */
export interface DiscStack {
  label: 1 | 2;
  centre: [number, number];
  /** z range (mm) it spans, for placement. */
  zRange: [number, number];
  radiusAt: (z: number) => number;
}

export function sphere(centre: Vec3, radius: number): DiscStack {
  return {
    label: 1, centre: [centre[0], centre[1]], zRange: [centre[2] - radius, centre[2] + radius],
    radiusAt: (z) => Math.sqrt(Math.max(0, radius * radius - (z - centre[2]) ** 2)),
  };
}

export function cylinder(centre: [number, number], radius: number, z0: number, z1: number): DiscStack {
  return { label: 2, centre, zRange: [z0, z1], radiusAt: (z) => (z >= z0 && z <= z1 ? radius : 0) };
}

export interface DepthPhantomOptions {
  dims?: Vec3;
  spacing?: Vec3;
  /** Gaussian noise (HU); default 15. 0 gives the noiseless picture the tests compare. */
  noiseSd?: number;
}

/** Partial-volume weight at signed distance d (mm): 1 inside, 0 outside. */
const edgeWeight = (d: number) => Math.min(1, Math.max(0, 0.5 - d / EDGE));

/** Coordinates (mm) of voxel index n along an axis of `size` voxels, the volume centred at 0. */
const coordinate = (n: number, size: number, spacing: number) => (n - (size - 1) / 2) * spacing;

/**
 * Draws `structures` into a body (an elliptic cylinder along z filling most of the field of view).
 * Each slice depends only on the cross-sections at that slice's height.
 */
export function renderDepthPhantom(structures: readonly DiscStack[], seed: number, options: DepthPhantomOptions = {}): Phantom {
  const dims = options.dims ?? DEPTH_PHANTOM_DIMS;
  const spacing = options.spacing ?? DEPTH_PHANTOM_SPACING;
  const noiseSd = options.noiseSd ?? NOISE_SD;
  const [X, Y, Z] = dims;
  const random = rng(seed ^ 0x5bd1e995);
  const semi = [0.46 * X * spacing[0], 0.4 * Y * spacing[1]];
  const image = new Float32Array(X * Y * Z);
  const label = new Float32Array(X * Y * Z);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  for (let k = 0, i = 0; k < Z; k++) {
    const z = coordinate(k, Z, spacing[2]);
    const discs = structures.map((s) => ({ s, r: s.radiusAt(z) })).filter((d) => d.r > 0);
    for (let j = 0; j < Y; j++) {
      const y = coordinate(j, Y, spacing[1]);
      for (let n = 0; n < X; n++, i++) {
        const x = coordinate(n, X, spacing[0]);
        const rho = Math.hypot(x / semi[0], y / semi[1]);
        let value = AIR + (BODY - AIR) * edgeWeight((rho - 1) * Math.min(semi[0], semi[1]));
        for (const { s, r } of discs) {
          const d = Math.hypot(x - s.centre[0], y - s.centre[1]) - r;
          value += (STRUCTURE - value) * edgeWeight(d);
          if (d <= 0) label[i] = s.label;
        }
        image[i] = Math.round(value + (noiseSd > 0 ? noiseSd * normal() : 0)) + 0;
      }
    }
  }
  return { image, label, dims: [...dims], spacing: [...spacing] };
}

const between = (random: () => number, [lo, hi]: readonly [number, number]) => lo + (hi - lo) * random();

/**
 * Two structures keep apart in-plane (with GAP), whatever their z ranges: each stands in its own
 * column, so no slice window ever holds two of them on top of each other.
 */
function apart(a: DiscStack & { r: number }, b: DiscStack & { r: number }): boolean {
  return Math.hypot(a.centre[0] - b.centre[0], a.centre[1] - b.centre[1]) >= a.r + b.r + GAP;
}

/** A phantom volume of PER_KIND spheres and PER_KIND cylinders, the same for the same seed. */
export function generateDepthPhantom(seed: number, options: DepthPhantomOptions = {}): Phantom {
  return renderDepthPhantom(drawDepthStructures(seed, options), seed, options);
}

/** The structures of phantom `seed`: radii, centres and z ranges drawn, placed apart inside the body. */
export function drawDepthStructures(seed: number, options: DepthPhantomOptions = {}): DiscStack[] {
  const dims = options.dims ?? DEPTH_PHANTOM_DIMS;
  const spacing = options.spacing ?? DEPTH_PHANTOM_SPACING;
  const random = rng(seed);
  const half = dims.map((d, k) => ((d - 1) * spacing[k]) / 2);
  const semi = [0.46 * dims[0] * spacing[0], 0.4 * dims[1] * spacing[1]];
  const draw = (kind: 1 | 2): DiscStack & { r: number } => {
    const r = between(random, kind === 1 ? SPHERE_RADIUS : CYLINDER_RADIUS);
    // A centre inside the body with GAP to spare, uniform over the ellipse.
    const angle = 2 * Math.PI * random();
    const reach = Math.sqrt(random());
    const centre: [number, number] = [
      Math.cos(angle) * reach * Math.max(0, semi[0] - r - GAP), Math.sin(angle) * reach * Math.max(0, semi[1] - r - GAP),
    ];
    if (kind === 1) return { ...sphere([centre[0], centre[1], between(random, [-half[2] + r, half[2] - r])], r), r };
    const length = between(random, CYLINDER_LENGTH);
    const z0 = between(random, [-half[2], half[2] - length]);
    return { ...cylinder(centre, r, z0, z0 + length), r };
  };
  const kinds = [...Array<2>(PER_KIND).fill(2), ...Array<1>(PER_KIND).fill(1)];
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const placed: (DiscStack & { r: number })[] = [];
    for (const kind of kinds) {
      for (let tries = 0; tries < 50; tries++) {
        const candidate = draw(kind);
        if (placed.every((p) => apart(p, candidate))) {
          placed.push(candidate);
          break;
        }
      }
    }
    if (placed.length === kinds.length) return placed;
  }
  throw new Error(`generateDepthPhantom (seed ${seed}, dims [${dims.join(', ')}]): the structures do not fit after ${ATTEMPTS} layouts`);
}

/** The 2-D pre-training task on these phantoms: how many discs a slice shows. */
export const DISC_COUNT_CLASSES = ['none', 'one disc', 'two discs', 'three or more'] as const;

/** A disc must cover at least this many pixels to count. */
const MIN_DISC_PIXELS = 4;

/** The number of 4-connected foreground regions of at least MIN_DISC_PIXELS in axial slice k, capped at 3. */
export function countDiscs(label: Float32Array, dims: readonly [number, number, number], k: number): number {
  const [X, Y] = dims;
  const plane = label.subarray(k * X * Y, (k + 1) * X * Y);
  // Face neighbours of a one-slice volume are the 4 in-plane neighbours.
  const { sizes } = connectedComponents([X, Y, 1], (i) => plane[i] !== 0, 6);
  const count = sizes.filter((size, id) => id > 0 && size >= MIN_DISC_PIXELS).length;
  return Math.min(count, DISC_COUNT_CLASSES.length - 1);
}

/**
 * Slices of these phantoms for pretrain2d, labelled by how many discs they show: a task a 2-D
 * model can learn (one slice is enough to count discs), which teaches it to find round bright
 * blobs of every size against the body, the features the segmenter then starts from. Which disc
 * is a sphere and which a cylinder it cannot learn from one slice, by design.
 */
export function discCountSource(options: DepthPhantomOptions = {}): SliceSource {
  return { classes: DISC_COUNT_CLASSES, generate: (seed) => generateDepthPhantom(seed, options), sliceClass: countDiscs };
}

/** These phantoms for writePhantomDataset (src/synthetic/phantom-node.ts). */
export function depthFamily(options: DepthPhantomOptions = {}): { generate: (seed: number) => Phantom; labels: readonly string[]; description: string } {
  return {
    generate: (seed) => generateDepthPhantom(seed, options),
    labels: DEPTH_LABELS,
    description: 'Synthetic phantoms that need depth (transseg-webgpu src/synthetic/depth-phantom.ts): spheres and z-aligned cylinders of one intensity in a body',
  };
}
