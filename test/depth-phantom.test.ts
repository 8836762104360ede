// The demo's phantoms need depth: one axial slice cannot tell a sphere from a cylinder (for every
// slice of one there is a slice of the other with the same picture), while a 5-slice window can
// (a rule that sees only the window's slices classifies every slice of every structure
// correctly). Checked on noiseless renders of the structures the generator draws, one structure
// at a time, so each slice's picture belongs to exactly one structure.
import { describe, expect, it } from 'vitest';
import {
  countDiscs, cylinder, CYLINDER_RADIUS, DEPTH_LABELS, DEPTH_PHANTOM_DIMS, DEPTH_PHANTOM_SPACING, drawDepthStructures,
  generateDepthPhantom, renderDepthPhantom, sphere, SPHERE_RADIUS, type DiscStack,
} from '../src/synthetic/depth-phantom.js';

const [X, Y, Z] = DEPTH_PHANTOM_DIMS;
const PLANE = X * Y;
const sliceZ = (k: number) => (k - (Z - 1) / 2) * DEPTH_PHANTOM_SPACING[2];
const noiseless = (structures: DiscStack[]) => renderDepthPhantom(structures, 0, { noiseSd: 0 });
const empty = noiseless([]);

/** Per slice: the structure's intensity above the empty body (0: not in this slice). */
function masses(image: Float32Array): number[] {
  return Array.from({ length: Z }, (_, k) => {
    let m = 0;
    for (let i = k * PLANE; i < (k + 1) * PLANE; i++) m += image[i] - empty.image[i];
    return m;
  });
}

/** Largest absolute difference between slice k of a and slice k2 of b. */
function sliceDifference(a: Float32Array, k: number, b: Float32Array, k2: number): number {
  let worst = 0;
  for (let i = 0; i < PLANE; i++) worst = Math.max(worst, Math.abs(a[k * PLANE + i] - b[k2 * PLANE + i]));
  return worst;
}

const SEEDS = Array.from({ length: 12 }, (_, s) => 1000 + 37 * s);
const structures = SEEDS.flatMap((seed) => drawDepthStructures(seed));

describe('depth phantoms', () => {
  it('draw two spheres and two cylinders per volume, reproducibly, with labels matching the classes', () => {
    for (const seed of SEEDS.slice(0, 3)) {
      const drawn = drawDepthStructures(seed);
      expect(drawn.map((s) => s.label).sort()).toEqual([1, 1, 2, 2]);
      const p = generateDepthPhantom(seed);
      expect(p.image).toEqual(generateDepthPhantom(seed).image);
      expect(new Set(p.label)).toEqual(new Set([0, 1, 2]));
    }
    expect(DEPTH_LABELS).toEqual(['background', 'sphere', 'cylinder']);
  });

  it('cannot be told apart from one axial slice: every slice has a twin of the other class', () => {
    // A sphere slice of radius ρ (in the cylinders' range) is the slice of a cylinder of radius ρ;
    // a cylinder slice of radius r is the slice of a sphere of radius R (in the spheres' range)
    // cut at height √(R² − r²) from its centre. Twins are equal to 1 HU (float rounding of ρ at
    // integer HU); the noise the demo adds is 15 HU.
    let sphereVoxels = 0;
    let twinnedSphereVoxels = 0;
    for (const s of structures) {
      const own = noiseless([s]);
      for (let k = 0; k < Z; k++) {
        const rho = s.radiusAt(sliceZ(k));
        if (rho === 0) continue;
        const voxels = own.label.subarray(k * PLANE, (k + 1) * PLANE).filter((v) => v > 0).length;
        let twin: DiscStack | null;
        if (s.label === 1) {
          sphereVoxels += voxels;
          twin = rho >= CYLINDER_RADIUS[0] && rho <= CYLINDER_RADIUS[1] ? cylinder(s.centre, rho, sliceZ(0), sliceZ(Z - 1)) : null;
          if (twin) twinnedSphereVoxels += voxels;
        } else {
          const R = Math.max(rho, SPHERE_RADIUS[0]);
          twin = sphere([s.centre[0], s.centre[1], sliceZ(k) + Math.sqrt(R * R - rho * rho)], R);
        }
        if (!twin) continue;
        const other = noiseless([twin]);
        expect(sliceDifference(own.image, k, other.image, k), `slice ${k} of a ${DEPTH_LABELS[s.label]}`).toBeLessThanOrEqual(1);
        const mask = (l: Float32Array) => Array.from(l.subarray(k * PLANE, (k + 1) * PLANE), (v) => v > 0);
        const [a, b] = [mask(own.label), mask(other.label)];
        expect(a.filter((v, i) => v !== b[i]).length, `slice ${k}: foreground masks`).toBeLessThanOrEqual(2); // ρ rounding at pixel centres
      }
    }
    // Most of the spheres' voxels lie in slices a cylinder could have made (the rest are the
    // smallest discs near the poles and the largest at the equator).
    expect(twinnedSphereVoxels / sphereVoxels).toBeGreaterThan(0.6);
  });

  it('can be told apart from a 5-slice window: a cylinder\'s disc stays the same, a sphere\'s does not', () => {
    // The rule sees only the 5 slices k−2..k+2 of the picture: "cylinder" when every slice that
    // shows the structure shows the same amount of it, "sphere" otherwise.
    let judged = 0;
    for (const s of structures) {
      const m = masses(noiseless([s]).image);
      for (let k = 0; k < Z; k++) {
        if (m[k] === 0) continue;
        const window = m.slice(Math.max(0, k - 2), k + 3).filter((v) => v !== 0);
        const verdict = window.every((v) => Math.abs(v - window[0]) <= 1e-6 * window[0]) ? 2 : 1;
        expect(verdict, `slice ${k} of a ${DEPTH_LABELS[s.label]} (window masses ${window.map((v) => v.toFixed(0)).join(', ')})`).toBe(s.label);
        judged++;
      }
    }
    expect(judged).toBeGreaterThan(200);
  });

  it('count the discs of a slice for the 2-D pre-training', () => {
    const label = new Float32Array(4 * 4 * 2);
    label.set([1, 1, 0, 2, 1, 1, 0, 2, 0, 0, 0, 2, 2, 2, 0, 2], 0); // slice 0: a 4-pixel blob, a 4-pixel bar, a 2-pixel bar (too small)
    expect(countDiscs(label, [4, 4, 2], 0)).toBe(2);
    expect(countDiscs(label, [4, 4, 2], 1)).toBe(0);
  });
});
