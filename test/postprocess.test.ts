// Post-processing on hand-made volumes whose answers are known by construction: two blobs and a
// speck, touching only by an edge or a corner, a per-class case, and a mask.

import { describe, expect, it } from 'vitest';
import { connectedComponents, neighbourOffsets, postProcess } from '../src/infer/postprocess.js';

type Dims = [number, number, number];

/** A zero volume [Z, Y, X] with dims [X, Y, Z] and a setter by (x, y, z). */
function volume(dims: Dims): { data: Float32Array; set: (x: number, y: number, z: number, v: number) => void; at: (x: number, y: number, z: number) => number } {
  const [X, Y, Z] = dims;
  const data = new Float32Array(X * Y * Z);
  const index = (x: number, y: number, z: number) => (z * Y + y) * X + x;
  return { data, set: (x, y, z, v) => (data[index(x, y, z)] = v), at: (x, y, z) => data[index(x, y, z)] };
}

/** Fills the box [x0, x1) × [y0, y1) × [z0, z1) with v. */
function box(v: ReturnType<typeof volume>, [x0, x1]: number[], [y0, y1]: number[], [z0, z1]: number[], value: number): void {
  for (let z = z0; z < z1; z++) for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) v.set(x, y, z, value);
}

const count = (data: Float32Array, value: number) => data.filter((v) => v === value).length;

describe('connectivity', () => {
  it('6, 18 and 26 neighbours: faces; faces and edges; faces, edges and corners', () => {
    expect(neighbourOffsets(6)).toHaveLength(6);
    expect(neighbourOffsets(18)).toHaveLength(18);
    expect(neighbourOffsets(26)).toHaveLength(26);
    expect(neighbourOffsets(6).every(([x, y, z]) => Math.abs(x) + Math.abs(y) + Math.abs(z) === 1)).toBe(true);
    expect(() => neighbourOffsets(8 as never)).toThrow(/6, 18 or 26/);
  });

  it('voxels touching by a face, an edge, a corner: joined only from 6, 18, 26 on', () => {
    const dims: Dims = [4, 4, 4];
    const v = volume(dims);
    v.set(0, 0, 0, 1);
    v.set(1, 0, 0, 1); // face neighbour of (0,0,0)
    v.set(2, 1, 0, 1); // edge neighbour of (1,0,0)
    v.set(3, 2, 1, 1); // corner neighbour of (2,1,0)
    const components = (c: 6 | 18 | 26) => connectedComponents(dims, (i) => v.data[i] !== 0, c).sizes.slice(1);
    expect(components(6)).toEqual([2, 1, 1]);
    expect(components(18)).toEqual([3, 1]);
    expect(components(26)).toEqual([4]);
  });
});

describe('postProcess', () => {
  const dims: Dims = [10, 8, 6];
  /** A 4×4×4 blob (64 voxels), a 2×2×2 blob (8) and a single voxel, all class 1, far apart. */
  function threeIslands() {
    const v = volume(dims);
    box(v, [0, 4], [0, 4], [0, 4], 1);
    box(v, [7, 9], [5, 7], [3, 5], 1);
    v.set(9, 0, 5, 1);
    return v;
  }

  it('keeps the largest foreground component', () => {
    const v = threeIslands();
    postProcess(v.data, dims, { largestComponent: 'foreground' });
    expect(count(v.data, 1)).toBe(64);
    expect(v.at(0, 0, 0)).toBe(1);
    expect(v.at(7, 5, 3)).toBe(0);
  });

  it('removes islands below N voxels and keeps those of N or more', () => {
    const v = threeIslands();
    postProcess(v.data, dims, { minIslandVoxels: 8 });
    expect(count(v.data, 1)).toBe(64 + 8);
    expect(v.at(9, 0, 5)).toBe(0);
    const w = threeIslands();
    postProcess(w.data, dims, { minIslandVoxels: 9 });
    expect(count(w.data, 1)).toBe(64);
  });

  it('connectivity decides what an island is: a corner-touching voxel survives at 26, not at 6', () => {
    const make = () => {
      const v = volume(dims);
      box(v, [0, 3], [0, 3], [0, 3], 1);
      v.set(3, 3, 3, 1); // touches the cube's corner (2,2,2) only
      return v;
    };
    const at26 = make();
    postProcess(at26.data, dims, { largestComponent: 'foreground', connectivity: 26 });
    expect(at26.at(3, 3, 3)).toBe(1);
    const at6 = make();
    postProcess(at6.data, dims, { largestComponent: 'foreground', connectivity: 6 });
    expect(at6.at(3, 3, 3)).toBe(0);
    expect(count(at6.data, 1)).toBe(27);
  });

  it('per class: the largest component of each class; the whole foreground: classes kept inside it', () => {
    const make = () => {
      const v = volume(dims);
      box(v, [0, 3], [0, 3], [0, 3], 1); // class 1, 27 voxels
      box(v, [3, 5], [0, 3], [0, 3], 2); // class 2, 18 voxels, touching class 1
      box(v, [8, 10], [4, 8], [1, 6], 2); // class 2, 40 voxels, apart: the largest of class 2, not of the foreground
      v.set(9, 0, 0, 1); // class 1, 1 voxel, apart
      return v;
    };
    const classes = make();
    postProcess(classes.data, dims, { largestComponent: 'classes' });
    expect([count(classes.data, 1), count(classes.data, 2)]).toEqual([27, 40]);
    expect(classes.at(4, 0, 0)).toBe(0); // the touching class-2 block is not class 2's largest
    const foreground = make();
    postProcess(foreground.data, dims, { largestComponent: 'foreground' });
    expect([count(foreground.data, 1), count(foreground.data, 2)]).toEqual([27, 18]); // the touching pair is one component
    expect(foreground.at(4, 0, 0)).toBe(2);
  });

  it('a mask: labels outside it become background, before islands are counted', () => {
    const v = threeIslands();
    const mask = new Uint8Array(v.data.length).fill(1);
    for (let z = 0; z < 2; z++) for (let y = 0; y < 8; y++) for (let x = 0; x < 10; x++) mask[(z * 8 + y) * 10 + x] = 0; // z < 2 outside
    postProcess(v.data, dims, { maskForeground: true, minIslandVoxels: 20 }, mask);
    expect(count(v.data, 1)).toBe(32); // the big blob's z = 2, 3 half (32 ≥ 20); the others are gone
    expect(v.at(0, 0, 1)).toBe(0);
    expect(() => postProcess(v.data, dims, { maskForeground: true })).toThrow(/needs a mask/);
  });

  it('refuses bad settings, naming the field', () => {
    const v = threeIslands();
    expect(() => postProcess(v.data, dims, { minIslandVoxels: 0 })).toThrow(/minIslandVoxels must be an integer ≥ 1/);
    expect(() => postProcess(v.data, dims, { largestComponent: 'all' as never })).toThrow(/largestComponent must be 'classes' or 'foreground'/);
    expect(() => postProcess(v.data.subarray(1), dims, {})).toThrow(/dims \[10, 8, 6\] need 480/);
  });
});
