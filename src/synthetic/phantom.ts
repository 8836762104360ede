// Synthetic CT-like phantoms for the demo and the tests: an elliptic-cylinder body with a bright
// "spine" column, and three structures placed inside it at random positions, sizes and
// orientations: a sphere (label 1), a capsule (label 2, a tube with round ends) and a torus
// (label 3). Every shape is an exact signed distance function, so the image gets a 1 mm
// partial-volume edge while the label is the sharp inside (distance ≤ 0).
//
// The intensities are chosen so that no voxel is classified by its intensity alone: the three
// structures have distinct mean values 45 HU apart (2.5 noise SDs: a short training run can tell
// them apart from a few voxels together), but a ±10% multiplicative bias field and Gaussian noise
// (σ 18 HU) make their ranges overlap, and the bone (label 0) is brighter than all
// of them. Values are whole Hounsfield units, mostly inside the window PHANTOM_CLIP (air lies
// below it), as real CT is: clip-scaling applies. The shapes are smooth in 3-D and a few slices
// thick, so neighbouring axial slices mostly agree and a window of slices carries context.
//
// Layout: NIfTI order, x fastest: voxel (i, j, k) is at i + X·(j + Y·k).

import { rng } from '../util/random.js';

export type Vec3 = [number, number, number];

export interface PhantomOptions {
  /** Voxels [X, Y, Z]; default [48, 48, 24]. */
  dims?: Vec3;
  /** Voxel size in mm [x, y, z]; default [1, 1, 2.5]. */
  spacing?: Vec3;
}

export interface Phantom {
  /** Hounsfield units (whole numbers), x fastest. */
  image: Float32Array;
  /** 0 background (air, body, bone), 1 sphere, 2 capsule, 3 torus; x fastest. */
  label: Float32Array;
  dims: Vec3;
  spacing: Vec3;
}

/** Class names by label value, as dataset.json declares them. */
export const PHANTOM_LABELS = ['background', 'sphere', 'capsule', 'torus'] as const;

/** The intensity window (HU) to clip-scale phantoms with: soft tissue to bone, air below it. */
export const PHANTOM_CLIP = { min: -100, max: 300 } as const;

/** Mean intensities (HU) before the bias field and noise. */
const AIR = -180;
const BODY = 40;
const BONE = 250;
/** Means of labels 1, 2, 3. */
const STRUCTURE_MEANS = [140, 95, 185];
/** Each mean moves by up to this much (HU) from case to case. */
const MEAN_JITTER = 4;
const NOISE_SD = 18;
/** The bias field multiplies the signal by 1 ± this at most. */
const BIAS_AMPLITUDE = 0.1;
/** Width (mm) of the partial-volume ramp across every boundary. */
const EDGE = 1;
/** Gap (mm) kept between structures, and between a structure and the body surface. */
const GAP = 1.5;
/** Positions tried per structure before the whole layout starts over, and layouts tried. */
const PLACEMENT_ATTEMPTS = 200;
const LAYOUT_ATTEMPTS = 100;

/** A structure: its label, mean intensity, signed distance (mm, local coordinates) and half-extents. */
interface Structure {
  label: number;
  mean: number;
  centre: Vec3;
  /** Half-extents of its axis-aligned bounding box around `centre`. */
  half: Vec3;
  distance: (x: number, y: number, z: number) => number;
}

/** The elliptic-cylinder body along z, slightly narrower towards both ends. */
interface Body {
  centre: [number, number];
  /** Semi-axes at the middle slice. */
  semi: [number, number];
  /** Half the z extent of the volume (mm): the taper is measured against it. */
  halfZ: number;
}

const TAPER = 0.1;

function semiAxesAt(body: Body, z: number): [number, number] {
  const t = Math.min(1, Math.abs(z) / body.halfZ);
  const f = 1 - TAPER * t * t;
  return [body.semi[0] * f, body.semi[1] * f];
}

function checkOptions(options: PhantomOptions): { dims: Vec3; spacing: Vec3 } {
  const dims = options.dims ?? [48, 48, 24];
  const spacing = options.spacing ?? [1, 1, 2.5];
  if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`generatePhantom: options.dims must be three positive integers, got [${dims.join(', ')}]`);
  }
  if (spacing.length !== 3 || spacing.some((s) => !(s > 0) || !Number.isFinite(s))) {
    throw new Error(`generatePhantom: options.spacing must be three positive numbers (mm), got [${spacing.join(', ')}]`);
  }
  return { dims: [...dims], spacing: [...spacing] };
}

/** murmur3's 32-bit finaliser: a bijective mix of the bits. */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The collections of phantoms the project draws; each owns the seeds ending in its 2 bits. */
export const PHANTOM_STREAMS = { dataset: 0, pretrain: 1, 'pretrain-heldout': 2 } as const;
export type PhantomStream = keyof typeof PHANTOM_STREAMS;

/**
 * The seed of phantom `index` of the collection `stream` seeded `seed`. The low two bits name
 * the stream, so the pre-training volumes can never repeat a dataset case, whatever the seeds.
 */
export function phantomSeed(stream: PhantomStream, seed: number, index: number): number {
  if (!Number.isInteger(index) || index < 0) throw new Error(`phantomSeed: index must be an integer >= 0, got ${index}`);
  const h = mix32(mix32(seed >>> 0) ^ Math.imul(index + 1, 0x9e3779b1));
  return ((h & ~3) | PHANTOM_STREAMS[stream]) >>> 0;
}

/** A unit vector with z component `z` and a uniformly random azimuth. */
function direction(z: number, random: () => number): Vec3 {
  const phi = 2 * Math.PI * random();
  const r = Math.sqrt(1 - z * z);
  return [r * Math.cos(phi), r * Math.sin(phi), z];
}

const between = (random: () => number, lo: number, hi: number) => lo + (hi - lo) * random();
const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

/** Draws the shape (size, orientation) of structure `label`, sized against `s` mm, centred at 0. */
function drawShape(label: number, s: number, random: () => number): Omit<Structure, 'mean' | 'centre'> {
  if (label === 1) {
    const r = between(random, 0.32, 0.45) * s;
    return { label, half: [r, r, r], distance: (x, y, z) => Math.hypot(x, y, z) - r };
  }
  if (label === 2) {
    // A tube tilted at most ~46° from z, so it runs through several slices.
    const h = between(random, 0.35, 0.55) * s;
    const r = between(random, 0.2, 0.26) * s;
    const axis = direction(between(random, 0.7, 1) * (random() < 0.5 ? -1 : 1), random);
    return {
      label, half: axis.map((e) => h * Math.abs(e) + r) as Vec3,
      distance: (x, y, z) => {
        const t = Math.min(h, Math.max(-h, x * axis[0] + y * axis[1] + z * axis[2]));
        return Math.hypot(x - t * axis[0], y - t * axis[1], z - t * axis[2]) - r;
      },
    };
  }
  // A ring standing up (normal within ~24° of the axial plane), so it crosses several slices.
  const R = between(random, 0.34, 0.44) * s;
  const r = between(random, 0.16, 0.2) * s;
  const normal = direction(between(random, -0.4, 0.4), random);
  return {
    label, half: normal.map((n) => R * Math.sqrt(1 - n * n) + r) as Vec3,
    distance: (x, y, z) => {
      const axial = dot([x, y, z], normal);
      const radial = Math.sqrt(Math.max(0, x * x + y * y + z * z - axial * axial));
      return Math.hypot(radial - R, axial) - r;
    },
  };
}

type Box = Pick<Structure, 'centre' | 'half'>;

const boxesApart = (a: Box, b: Box) =>
  [0, 1, 2].some((k) => Math.abs(a.centre[k] - b.centre[k]) >= a.half[k] + b.half[k] + GAP);

/** Whether the box lies inside the body (with GAP to spare) on every slice it spans. */
function insideBody(body: Body, centre: Vec3, half: Vec3): boolean {
  if (Math.abs(centre[2]) + half[2] > body.halfZ - GAP) return false;
  const [a, b] = semiAxesAt(body, Math.abs(centre[2]) + half[2]);
  const dx = Math.abs(centre[0] - body.centre[0]) + half[0];
  const dy = Math.abs(centre[1] - body.centre[1]) + half[1];
  return (dx / (a - GAP)) ** 2 + (dy / (b - GAP)) ** 2 <= 1 && a > GAP && b > GAP;
}

/** Rejection sampling of shape and position until the structure fits among the others; null if it does not. */
function placeStructure(label: number, s: number, body: Body, obstacles: Box[], random: () => number): Omit<Structure, 'mean'> | null {
  for (let attempt = 0; attempt < PLACEMENT_ATTEMPTS; attempt++) {
    const shape = drawShape(label, s, random);
    const centre: Vec3 = [
      body.centre[0] + between(random, -1, 1) * body.semi[0],
      body.centre[1] + between(random, -1, 1) * body.semi[1],
      between(random, -1, 1) * body.halfZ,
    ];
    if (insideBody(body, centre, shape.half) && obstacles.every((o) => boxesApart(o, { centre, half: shape.half }))) {
      return { ...shape, centre };
    }
  }
  return null;
}

/** The three structures, largest first, none touching another or the spine; whole layouts are redrawn on failure. */
function placeStructures(s: number, body: Body, spine: Box, random: () => number): Omit<Structure, 'mean'>[] | null {
  for (let layout = 0; layout < LAYOUT_ATTEMPTS; layout++) {
    const placed: Omit<Structure, 'mean'>[] = [];
    for (const label of [2, 3, 1]) {
      const structure = placeStructure(label, s, body, [spine, ...placed], random);
      if (!structure) break;
      placed.push(structure);
    }
    if (placed.length === 3) return placed;
  }
  return null;
}

/** A smooth field in [−1, 1]: three plane cosine waves with wavelengths of 1.5 to 3 fields of view. */
function biasField(fov: number, random: () => number): (x: number, y: number, z: number) => number {
  const waves = Array.from({ length: 3 }, () => {
    const k = direction(between(random, -1, 1), random).map((c) => (c * 2 * Math.PI) / (between(random, 1.5, 3) * fov)) as Vec3;
    return { k, phase: 2 * Math.PI * random(), weight: between(random, 0.5, 1) };
  });
  const total = waves.reduce((s, w) => s + w.weight, 0);
  return (x, y, z) => waves.reduce((s, w) => s + w.weight * Math.cos(w.k[0] * x + w.k[1] * y + w.k[2] * z + w.phase), 0) / total;
}

/** Partial-volume weight of a point at signed distance d (mm) from a boundary: 1 inside, 0 outside. */
const edgeWeight = (d: number) => Math.min(1, Math.max(0, 0.5 - d / EDGE));

/**
 * A phantom volume, the same for the same seed and options. Coordinates are mm from the centre
 * of the volume; the field of view fixes the body size, and the structures scale with the body.
 */
export function generatePhantom(seed: number, options: PhantomOptions = {}): Phantom {
  const { dims, spacing } = checkOptions(options);
  const [X, Y, Z] = dims;
  const fov = dims.map((d, k) => d * spacing[k]) as Vec3;
  const random = rng(seed);

  const jitter = () => between(random, -MEAN_JITTER, MEAN_JITTER);
  const body: Body = {
    centre: [between(random, -0.03, 0.03) * fov[0], between(random, -0.03, 0.03) * fov[1]],
    semi: [0.44 * fov[0] * between(random, 0.93, 1.03), 0.36 * fov[1] * between(random, 0.93, 1.03)],
    halfZ: ((Z - 1) * spacing[2]) / 2,
  };
  const s = Math.min(body.semi[0], body.semi[1], 0.62 * body.halfZ);
  // The spine: a bright column along z at the back (−y is posterior in RAS).
  const spine = { x: body.centre[0] + between(random, -0.05, 0.05) * body.semi[0], y: body.centre[1] - 0.72 * body.semi[1], radius: 0.17 * s };
  const spineBox: Box = { centre: [spine.x, spine.y, 0], half: [spine.radius, spine.radius, Infinity] };
  const placed = placeStructures(s, body, spineBox, random);
  if (!placed) {
    throw new Error(`generatePhantom (seed ${seed}, dims [${dims.join(', ')}], spacing [${spacing.join(', ')}] mm): ` +
      `the three structures do not fit inside the body after ${LAYOUT_ATTEMPTS} layouts: the field of view is too small`);
  }
  const structures: Structure[] = placed.map((p) => ({ ...p, mean: STRUCTURE_MEANS[p.label - 1] + jitter() }));
  const bodyMean = BODY + jitter();
  const boneMean = BONE + jitter();
  const bias = biasField(Math.max(...fov), random);

  const image = new Float32Array(X * Y * Z);
  const label = new Float32Array(X * Y * Z);
  const origin = dims.map((d, k) => ((d - 1) * spacing[k]) / 2);
  let spareNormal: number | null = null;
  const normal = () => { // Box–Muller, both values of each pair used
    if (spareNormal !== null) {
      const v = spareNormal;
      spareNormal = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const theta = 2 * Math.PI * random();
    spareNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  };

  for (let k = 0, i = 0; k < Z; k++) {
    const z = k * spacing[2] - origin[2];
    const [a, b] = semiAxesAt(body, z);
    for (let j = 0; j < Y; j++) {
      const y = j * spacing[1] - origin[1];
      for (let n = 0; n < X; n++, i++) {
        const x = n * spacing[0] - origin[0];
        const rho = Math.hypot((x - body.centre[0]) / a, (y - body.centre[1]) / b);
        let value = AIR + (bodyMean - AIR) * edgeWeight((rho - 1) * Math.min(a, b));
        value += (boneMean - value) * edgeWeight(Math.hypot(x - spine.x, y - spine.y) - spine.radius);
        for (const st of structures) {
          const [dx, dy, dz] = [x - st.centre[0], y - st.centre[1], z - st.centre[2]];
          if (Math.abs(dx) > st.half[0] + EDGE || Math.abs(dy) > st.half[1] + EDGE || Math.abs(dz) > st.half[2] + EDGE) continue;
          const d = st.distance(dx, dy, dz);
          value += (st.mean - value) * edgeWeight(d);
          if (d <= 0) label[i] = st.label;
        }
        // + 0 turns a rounded −0 into 0, the value an integer file gives back.
        image[i] = Math.round(value * (1 + BIAS_AMPLITUDE * bias(x, y, z)) + NOISE_SD * normal()) + 0;
      }
    }
  }
  return { image, label, dims, spacing };
}
