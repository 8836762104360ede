// Slice overlays: the grey windowing against a plain f64 reference, class colours blended at 50 %
// where a label is set and plain grey elsewhere, the radiological orientation for RAS, LPS and
// transposed storage, argument checks, and the choice of slices for `--slices auto`.
import { describe, expect, it } from 'vitest';
import type { Affine } from '../src/io/affine.js';
import { decodePng } from '../src/io/png.js';
import { classColour, mostForegroundSlices, overlayFigureSvg, overlayPng, overlayScale, radiologicalView, type SliceView } from '../src/infer/overlay.js';
import { reportError } from './helpers/report.js';

// ---- tolerances ----

// Output is 8-bit: ours rounds an f32 value, the reference an f64 one, which can fall on either
// side of a .5 step, so one level of 255 is allowed (and the measured maximum reported).
const LEVELS = 1;

// ---- references ----

/** numpy.percentile(values, p) with linear interpolation, in f64. */
function percentile(values: ArrayLike<number>, p: number): number {
  const sorted = Array.from(values).sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (rank - lo) * (sorted[hi] - sorted[lo]);
}

/** The expected RGB (0–255, before rounding) of voxel i. */
function expectedPixel(image: ArrayLike<number>, labels: ArrayLike<number>, i: number): number[] {
  const lo = percentile(image, 1);
  const hi = percentile(image, 99);
  const grey = Math.min(1, Math.max(0, (image[i] - lo) / (hi - lo)));
  const c = labels[i];
  return [0, 1, 2].map((k) => 255 * (c === 0 ? grey : 0.5 * grey + 0.5 * classColour(c)[k]));
}

/** The decoded overlay as 8-bit RGB rows. */
async function decode(png: Uint8Array): Promise<{ width: number; height: number; at: (col: number, row: number) => number[] }> {
  const image = await decodePng(png, 'overlay.png');
  expect(image.channels).toBe(3);
  const bytes = Uint8Array.from(image.data, (v) => Math.round(255 * v));
  return { width: image.width, height: image.height, at: (col, row) => [...bytes.subarray(3 * (row * image.width + col), 3 * (row * image.width + col) + 3)] };
}

const diagonal = (x: number, y: number, z: number): Affine => [x, 0, 0, 0, 0, y, 0, 0, 0, 0, z, 0, 0, 0, 0, 1];
const AS_STORED: SliceView = { transpose: false, flipColumns: false, flipRows: false };

describe('radiologicalView', () => {
  it('puts the patient\'s right on the left and anterior at the top', () => {
    expect(radiologicalView(diagonal(1.5, 1.5, 3))).toEqual({ transpose: false, flipColumns: true, flipRows: true }); // RAS
    expect(radiologicalView(diagonal(-1, -1, 1))).toEqual(AS_STORED); // LPS
    expect(radiologicalView(diagonal(-1, 1, 1))).toEqual({ transpose: false, flipColumns: false, flipRows: true }); // LAS
    // Voxel x along anterior, voxel y along the patient's right: columns follow y.
    expect(radiologicalView([0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])).toEqual({ transpose: true, flipColumns: true, flipRows: true });
    // Neither in-plane axis left–right (x → S, y → A, a sagittal acquisition): as stored, y up.
    expect(radiologicalView([0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1])).toEqual({ transpose: false, flipColumns: false, flipRows: true });
  });
});

describe('overlayPng', () => {
  const X = 7;
  const Y = 5;
  // An irregular image, so the 1st and 99th percentiles fall between samples.
  const image = Float32Array.from({ length: X * Y }, (_, i) => Math.fround(100 * Math.sin(1.7 * i) + 3 * i));
  const labels = Float32Array.from({ length: X * Y }, (_, i) => (i % 3 === 0 ? 0 : i % 4));

  it('is grey where there is no label and the class colour at 50 % where there is', async () => {
    const out = await decode(await overlayPng({ image, labels, size: [X, Y] }, 4, AS_STORED));
    expect([out.width, out.height]).toEqual([X, Y]);
    let worst = 0;
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++) {
        const i = x + X * y;
        const got = out.at(x, y);
        const want = expectedPixel(image, labels, i);
        got.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - Math.round(want[k])))));
        if (labels[i] === 0) expect(got[0] === got[1] && got[1] === got[2], `voxel ${i} grey`).toBe(true);
        else expect(Math.max(...got) - Math.min(...got), `voxel ${i} coloured`).toBeGreaterThan(60);
      }
    }
    reportError('overlayPng', '7×5 slice vs f64 percentile window (8-bit levels)', worst, worst / 255);
    expect(worst).toBeLessThanOrEqual(LEVELS);
  });

  it('orients RAS slices radiologically and transposes when asked', async () => {
    const single = new Float32Array(X * Y);
    single[0] = 1; // voxel (0, 0): the patient's left and posterior edge in RAS storage
    const ras = await decode(await overlayPng({ image, labels: single, size: [X, Y] }, 2, radiologicalView(diagonal(1, 1, 1))));
    const coloured = (o: Awaited<ReturnType<typeof decode>>, col: number, row: number) => {
      const [r, g, b] = o.at(col, row);
      return r > g + 60 && r > b + 60; // class 1 is red
    };
    expect(coloured(ras, X - 1, Y - 1)).toBe(true); // bottom right: patient's left, posterior
    expect(coloured(ras, 0, 0)).toBe(false);
    const t = await decode(await overlayPng({ image, labels: single, size: [X, Y] }, 2, { transpose: true, flipColumns: false, flipRows: false }));
    expect([t.width, t.height]).toEqual([Y, X]);
    single[0] = 0;
    single[1] = 1; // voxel (1, 0): row 1, column 0 when transposed
    const t2 = await decode(await overlayPng({ image, labels: single, size: [X, Y] }, 2, { transpose: true, flipColumns: false, flipRows: false }));
    expect(coloured(t2, 0, 1)).toBe(true);
    expect(coloured(t2, 1, 0)).toBe(false);
  });

  it('draws a flat slice black, and rejects bad arguments', async () => {
    const flat = await decode(await overlayPng({ image: new Float32Array(6).fill(7), labels: new Float32Array(6), size: [3, 2] }, 2, AS_STORED));
    expect(flat.at(2, 1)).toEqual([0, 0, 0]);
    await expect(overlayPng({ image, labels: labels.subarray(1), size: [X, Y] }, 4, AS_STORED)).rejects.toThrow(/labels 34 values; size \[7, 5\] needs 35/);
    await expect(overlayPng({ image, labels, size: [X, Y] }, 3, AS_STORED)).rejects.toThrow(/labels\[\d+\] is 3; class ids must be integers in 0..2/);
    await expect(overlayPng({ image, labels, size: [0, Y] }, 4, AS_STORED)).rejects.toThrow(/size must be two positive integers/);
  });
});

describe('readable overlays', () => {
  const X = 7;
  const Y = 5;
  const image = Float32Array.from({ length: X * Y }, (_, i) => 10 * i);
  const labels = Float32Array.from({ length: X * Y }, (_, i) => i % 3);

  it('upscales by whole pixels to at least 256 on the longer side, each voxel a flat square', async () => {
    expect([overlayScale(7, 5), overlayScale(32, 32), overlayScale(300, 20), overlayScale(256, 1)]).toEqual([37, 8, 1, 1]);
    const small = await decode(await overlayPng({ image, labels, size: [X, Y] }, 3, AS_STORED));
    const big = await decode(await overlayPng({ image, labels, size: [X, Y] }, 3, AS_STORED, 4));
    expect([big.width, big.height]).toEqual([4 * X, 4 * Y]);
    for (let row = 0; row < 4 * Y; row++) {
      for (let col = 0; col < 4 * X; col++) expect(big.at(col, row)).toEqual(small.at(Math.floor(col / 4), Math.floor(row / 4)));
    }
    await expect(overlayPng({ image, labels, size: [X, Y] }, 3, AS_STORED, 1.5)).rejects.toThrow(/scale must be an integer/);
  });

  it('wraps the PNG in an SVG figure with a title and a legend in the class colours', async () => {
    const png = await overlayPng({ image, labels, size: [X, Y] }, 3, AS_STORED, 2);
    const svg = overlayFigureSvg(png, { width: 14, height: 10 }, ['background', 'sphere', 'cyl<inder>'], 'case 1, slice 3');
    expect(svg).toContain(`href="data:image/png;base64,${Buffer.from(png).toString('base64')}"`);
    expect(svg).toContain('style="image-rendering: pixelated"');
    expect(svg).toMatch(/<rect [^>]*fill="#ff0000"[^>]*\/><text [^>]*>sphere<\/text>/); // class 1 red
    expect(svg).toMatch(/<rect [^>]*fill="#00ff00"[^>]*\/><text [^>]*>cyl&lt;inder&gt;<\/text>/); // class 2 green, escaped
    expect(svg).not.toContain('>background<');
    expect(svg).toContain('>case 1, slice 3<');
  });
});

describe('mostForegroundSlices', () => {
  it('picks the slices with the most foreground, ties nearest the middle, in order', () => {
    const dims: [number, number, number] = [2, 2, 7];
    const labels = new Uint8Array(28);
    const fill = (k: number, n: number) => labels.fill(1, 4 * k, 4 * k + n);
    fill(0, 4);
    fill(5, 3);
    fill(6, 3);
    fill(2, 1);
    expect(mostForegroundSlices(labels, dims)).toEqual([0, 5, 6]);
    expect(mostForegroundSlices(labels, dims, 4)).toEqual([0, 2, 5, 6]);
    // No foreground: the middle slices.
    expect(mostForegroundSlices(new Uint8Array(28), dims)).toEqual([2, 3, 4]);
    expect(mostForegroundSlices(new Uint8Array(4), [2, 2, 1])).toEqual([0]);
    expect(() => mostForegroundSlices(new Uint8Array(5), [2, 2, 1])).toThrow(/5 labels for dims \[2, 2, 1\]/);
  });
});
