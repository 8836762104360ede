// PNG overlays of a label map on an image slice, for a quick look at a prediction: the image in
// grey, windowed to its 1st–99th percentile, each class in a fixed colour at 50 % opacity, the
// background left clear; upscaled by whole pixels (nearest neighbour, so voxels stay sharp
// squares) to a size a person can read, and an SVG figure around it with a legend of the classes.
//
// Orientation: an axial slice is shown as radiologists read it, as if seen from the patient's
// feet: the patient's right on the image's left, anterior at the top. Which way the voxel axes
// point comes from the affine (axisCodes). For RAS-stored data (x → Right, y → Anterior) x runs
// right-to-left across the columns and y bottom-to-top up the rows; for LPS-stored data (as ITK
// writes many MSD files) x runs left-to-right and y top-to-bottom, unflipped. A slice whose axes
// are not left–right and anterior–posterior (a sagittal or coronal acquisition) is drawn with x
// across the columns and y up the rows.

import type { Affine } from '../io/affine.js';
import { axisCodes } from '../io/affine.js';
import { encodePng } from '../io/png.js';
import { quantile } from '../evaluation/metrics.js';
import { svgDocument, svgElement } from '../io/svg.js';

/** One axial slice: voxel (x, y) at x + X·y in both arrays (NIfTI order). */
export interface LabelledSlice {
  /** One image channel. */
  image: ArrayLike<number>;
  /** Class ids. */
  labels: ArrayLike<number>;
  /** [X, Y]. */
  size: readonly [number, number];
}

/** How the slice's voxel axes map onto the picture. */
export interface SliceView {
  /** Columns follow voxel y and rows voxel x (otherwise columns x, rows y). */
  transpose: boolean;
  /** Column 0 is the column axis's last voxel. */
  flipColumns: boolean;
  /** Row 0 (the top) is the row axis's last voxel. */
  flipRows: boolean;
}

/** The radiological view of an axial slice of a volume with this voxel-to-RAS affine (see above). */
export function radiologicalView(affine: Affine): SliceView {
  const [x, y] = axisCodes(affine);
  const leftRight = (c: string) => c === 'L' || c === 'R';
  const frontBack = (c: string) => c === 'A' || c === 'P';
  if (leftRight(x) && frontBack(y)) return { transpose: false, flipColumns: x === 'R', flipRows: y === 'A' };
  if (frontBack(x) && leftRight(y)) return { transpose: true, flipColumns: y === 'R', flipRows: x === 'A' };
  return { transpose: false, flipColumns: false, flipRows: true };
}

/** Class c ≥ 1 is drawn in PALETTE[(c − 1) mod 10]: saturated colours, none of them grey. */
const PALETTE: readonly (readonly [number, number, number])[] = [
  [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255],
  [255, 0, 255], [255, 128, 0], [128, 0, 255], [0, 128, 255], [255, 0, 128],
];

const ALPHA = 0.5;

/** The colour of class `c` (≥ 1) in [0, 1] RGB. */
export function classColour(c: number): [number, number, number] {
  const [r, g, b] = PALETTE[(c - 1) % PALETTE.length];
  return [r / 255, g / 255, b / 255];
}

/** Image values mapped linearly from [1st, 99th percentile] to [0, 1], clamped; non-finite → 0. */
function windowed(image: ArrayLike<number>): Float32Array {
  const finite = Float64Array.from(image).filter(Number.isFinite);
  const lo = quantile(finite, 0.01);
  const hi = quantile(finite, 0.99);
  const out = new Float32Array(image.length);
  if (!(hi > lo)) return out; // a flat (or empty) slice: black
  for (let i = 0; i < out.length; i++) {
    const v = image[i];
    out[i] = Number.isFinite(v) ? Math.min(1, Math.max(0, (v - lo) / (hi - lo))) : 0;
  }
  return out;
}

/** Overlays are upscaled until their longer side reaches this many pixels. */
export const OVERLAY_MIN_SIZE = 256;

/** The whole-pixel factor that brings the longer side of a width×height slice to at least `minSize`. */
export function overlayScale(width: number, height: number, minSize = OVERLAY_MIN_SIZE): number {
  return Math.max(1, Math.ceil(minSize / Math.max(width, height)));
}

/**
 * An RGB PNG of the slice with its labels blended in, oriented by `view`; every voxel drawn as a
 * `scale`×`scale` square (nearest neighbour).
 */
export async function overlayPng(slice: LabelledSlice, classes: number, view: SliceView, scale = 1): Promise<Uint8Array> {
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`overlayPng: scale must be an integer >= 1, got ${scale}`);
  const [X, Y] = slice.size;
  if (!Number.isInteger(X) || !Number.isInteger(Y) || X < 1 || Y < 1) {
    throw new Error(`overlayPng: size must be two positive integers [X, Y], got [${slice.size.join(', ')}]`);
  }
  if (slice.image.length !== X * Y || slice.labels.length !== X * Y) {
    throw new Error(`overlayPng: image has ${slice.image.length} and labels ${slice.labels.length} values; size [${X}, ${Y}] needs ${X * Y}`);
  }
  const grey = windowed(slice.image);
  const [width, height] = view.transpose ? [Y, X] : [X, Y];
  const data = new Float32Array(width * height * 3);
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      const a = view.flipColumns ? width - 1 - col : col;
      const b = view.flipRows ? height - 1 - row : row;
      const i = view.transpose ? b + X * a : a + X * b;
      const c = slice.labels[i];
      if (!Number.isInteger(c) || c < 0 || c >= classes) {
        throw new Error(`overlayPng: labels[${i}] is ${c}; class ids must be integers in 0..${classes - 1}`);
      }
      const o = 3 * (row * width + col);
      const colour = c === 0 ? null : classColour(c);
      for (let k = 0; k < 3; k++) data[o + k] = colour ? (1 - ALPHA) * grey[i] + ALPHA * colour[k] : grey[i];
    }
  }
  return encodePng(scale === 1 ? { width, height, channels: 3, data } : upscale(data, width, height, scale));
}

/** Nearest-neighbour upscaling of an RGB raster by a whole factor. */
function upscale(data: Float32Array, width: number, height: number, scale: number) {
  const W = width * scale;
  const out = new Float32Array(W * height * scale * 3);
  for (let row = 0; row < height * scale; row++) {
    for (let col = 0; col < W; col++) {
      const from = 3 * (Math.floor(row / scale) * width + Math.floor(col / scale));
      out.set(data.subarray(from, from + 3), 3 * (row * W + col));
    }
  }
  return { width: W, height: height * scale, channels: 3 as const, data: out };
}

/** Base64 with btoa (Node and browsers alike), in chunks that fit String.fromCharCode's arguments. */
function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

const hex = (c: number) => Math.round(255 * c).toString(16).padStart(2, '0');

/**
 * An SVG figure: the overlay PNG (embedded, drawn pixelated so a zoomed browser keeps the voxels
 * square), a title above it, and a legend beside it naming each class in its colour.
 */
export function overlayFigureSvg(png: Uint8Array, size: { width: number; height: number }, classNames: readonly string[], title: string): string {
  const legendX = size.width + 24;
  const rows = classNames.slice(1).map((name, k) => {
    const [r, g, b] = classColour(k + 1);
    const y = 80 + 24 * k;
    return [
      svgElement('rect', { x: legendX, y: y - 12, width: 16, height: 16, fill: `#${hex(r)}${hex(g)}${hex(b)}`, 'fill-opacity': ALPHA, stroke: '#000' }),
      svgElement('text', { x: legendX + 24, y: y + 1 }, [], name),
    ].join('');
  });
  const longest = Math.max(10, ...classNames.map((n) => n.length));
  // Widths are estimates (about 8 units a character at 13–14 px); the title gets its own row.
  const width = Math.max(legendX + 32 + 8 * longest, 8 * title.length);
  const height = Math.max(size.height + 40, 80 + 24 * classNames.length);
  return svgDocument(width, height, [
    svgElement('text', { x: 0, y: 20, 'font-size': 14 }, [], title),
    svgElement('image', {
      x: 0, y: 32, width: size.width, height: size.height, style: 'image-rendering: pixelated',
      href: `data:image/png;base64,${base64(png)}`,
    }),
    svgElement('text', { x: legendX, y: 52, 'font-weight': 'bold' }, [], 'legend'),
    ...rows,
  ]);
}

/**
 * The `count` axial slices with the most foreground (non-zero labels) of a [Z, Y, X] label
 * volume, in increasing order. Ties go to the slice nearer the middle, so a volume without
 * foreground gives its middle slices.
 */
export function mostForegroundSlices(labels: ArrayLike<number>, dims: readonly [number, number, number], count = 3): number[] {
  const [X, Y, Z] = dims;
  if (labels.length !== X * Y * Z) {
    throw new Error(`mostForegroundSlices: ${labels.length} labels for dims [${dims.join(', ')}]`);
  }
  const plane = X * Y;
  const foreground = Array.from({ length: Z }, (_, k) => {
    let n = 0;
    for (let i = k * plane; i < (k + 1) * plane; i++) if (labels[i] !== 0) n++;
    return n;
  });
  const middle = (Z - 1) / 2;
  const ranked = foreground.map((n, k) => ({ n, k }))
    .sort((a, b) => b.n - a.n || Math.abs(a.k - middle) - Math.abs(b.k - middle) || a.k - b.k);
  return ranked.slice(0, count).map((s) => s.k).sort((a, b) => a - b);
}
