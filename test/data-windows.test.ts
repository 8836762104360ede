// D-slice windows: clamped slice indices (method.md §1), the [C, D, H = X, W = Y] layout, the centre
// label, and placeSlice writing predictions back.
import { describe, expect, it } from 'vitest';
import { extractWindow, placeSlice, windowSlices } from '../src/data/windows.js';

describe('windowSlices', () => {
  it('clamps at the edges: hand-computed for Z = 7, k = 0, 1, Z−2, Z−1, D = 1, 3, 5', () => {
    const Z = 7;
    const expected: Record<number, Record<number, number[]>> = {
      1: { 0: [0], 1: [1], 3: [3], 5: [5], 6: [6] },
      3: { 0: [0, 0, 1], 1: [0, 1, 2], 3: [2, 3, 4], 5: [4, 5, 6], 6: [5, 6, 6] },
      5: { 0: [0, 0, 0, 1, 2], 1: [0, 0, 1, 2, 3], 3: [1, 2, 3, 4, 5], 5: [3, 4, 5, 6, 6], 6: [4, 5, 6, 6, 6] },
    };
    for (const [D, byK] of Object.entries(expected)) {
      for (const [k, slices] of Object.entries(byK)) expect(windowSlices(Number(k), Z, Number(D)), `D ${D}, k ${k}`).toEqual(slices);
    }
  });

  it('matches method §1 for D = 5 at every k, and handles Z = 1 and D > Z', () => {
    for (const Z of [1, 2, 4, 9]) {
      for (let k = 0; k < Z; k++) {
        expect(windowSlices(k, Z, 5)).toEqual([Math.max(k - 2, 0), Math.max(k - 1, 0), k, Math.min(k + 1, Z - 1), Math.min(k + 2, Z - 1)]);
      }
    }
    expect(windowSlices(0, 1, 7)).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('refuses even or non-positive depths and slices outside the volume', () => {
    expect(() => windowSlices(0, 5, 4)).toThrow('windowSlices: depth must be an odd integer ≥ 1, got 4');
    expect(() => windowSlices(0, 5, 0)).toThrow(/odd integer/);
    expect(() => windowSlices(5, 5, 3)).toThrow('windowSlices: slice 5 is outside 0..4');
  });
});

describe('extractWindow and placeSlice', () => {
  // Voxel (c, x, y, z) holds 1000c + 100z + 10y + x, stored x fastest as NIfTI ([C, Z, Y, X] C order).
  const [X, Y, Z, C] = [4, 3, 6, 2];
  const code = (c: number, x: number, y: number, z: number) => 1000 * c + 100 * z + 10 * y + x;
  const image = new Float32Array(C * Z * Y * X);
  const label = new Float32Array(Z * Y * X);
  for (let c = 0; c < C; c++) {
    for (let z = 0; z < Z; z++) {
      for (let y = 0; y < Y; y++) {
        for (let x = 0; x < X; x++) {
          image[((c * Z + z) * Y + y) * X + x] = code(c, x, y, z);
          if (c === 0) label[(z * Y + y) * X + x] = code(0, x, y, z);
        }
      }
    }
  }
  const volume = { image, label, dims: [X, Y, Z] as [number, number, number], channels: C };

  it('holds window[c, d, h, w] = voxel (c, x = h, y = w, z = slice d), and the centre label [X, Y]', () => {
    for (const D of [1, 3, 5]) {
      for (const k of [0, 1, Z - 2, Z - 1]) {
        const { window, label: centre } = extractWindow(volume, k, D);
        expect([window.channels, window.depth, window.height, window.width]).toEqual([C, D, X, Y]);
        const slices = windowSlices(k, Z, D);
        const expected: number[] = [];
        for (let c = 0; c < C; c++) for (const z of slices) for (let h = 0; h < X; h++) for (let w = 0; w < Y; w++) expected.push(code(c, h, w, z));
        expect([...window.data], `D ${D}, k ${k}`).toEqual(expected);
        const expectedLabel: number[] = [];
        for (let h = 0; h < X; h++) for (let w = 0; w < Y; w++) expectedLabel.push(code(0, h, w, k));
        expect([...centre!]).toEqual(expectedLabel);
      }
    }
    expect(extractWindow({ ...volume, label: undefined }, 2, 3).label).toBeUndefined();
  });

  it('placeSlice puts every centre label back where it came from', () => {
    const rebuilt = new Float32Array(label.length);
    for (let k = 0; k < Z; k++) placeSlice(rebuilt, volume.dims, k, extractWindow(volume, k, 3).label!);
    expect([...rebuilt]).toEqual([...label]);
    const u8 = new Uint8Array(X * Y * Z);
    placeSlice(u8, volume.dims, 1, Array.from({ length: X * Y }, (_, i) => i));
    expect(u8[1 * X * Y + 2 * X + 3]).toBe(3 * Y + 2); // slice element (h = x = 3, w = y = 2)
    expect(() => placeSlice(u8, volume.dims, 6, new Uint8Array(X * Y))).toThrow('placeSlice: slice 6 is outside 0..5');
    expect(() => placeSlice(u8, volume.dims, 0, new Uint8Array(5))).toThrow(/\[H = 4, W = 3\] slice needs 12/);
  });
});
