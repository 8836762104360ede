// The three orthogonal views of a volume with its label overlay: the first channel in grey,
// windowed to the volume's 1st–99th percentile as the PNG overlays are (src/infer/overlay.ts),
// each class blended in the overlays' colour at the chosen opacity (background left clear), a
// slider per view (slice numbers from 0, as `transseg predict --slices` counts them), and the
// legend with the class names from the model file. A canvas holds one pixel per voxel; CSS
// scales it to the voxels' true aspect ratio.

import { evaluation, infer } from '../src/index.js';
import { VIEW_NAMES, viewAxes, voxelSizes, type ViewAxes, type ViewName } from './orientation.js';
import type { ImageCase } from './volume.js';

const { classColour } = infer;
const { quantile } = evaluation;

export interface ViewElements {
  canvas: HTMLCanvasElement;
  slider: HTMLInputElement;
  value: HTMLOutputElement;
}

export interface ViewerElements {
  views: Record<ViewName, ViewElements>;
  opacity: HTMLInputElement;
  legend: HTMLUListElement;
}

type Dims = [number, number, number];

/** The longer side of a view on screen, in CSS pixels. */
const VIEW_SIZE = 320;
/** Voxels sampled (evenly strided) for the grey window: stable percentiles at any volume size. */
const WINDOW_SAMPLES = 200_000;

/** Channel 0 of `image` as grey levels 0..255, linear from its 1st to its 99th percentile. */
function greyLevels(image: Float32Array, voxels: number): Uint8Array {
  const step = Math.max(1, Math.floor(voxels / WINDOW_SAMPLES));
  const sample: number[] = [];
  for (let i = 0; i < voxels; i += step) if (Number.isFinite(image[i])) sample.push(image[i]);
  const lo = quantile(sample, 0.01);
  const hi = quantile(sample, 0.99);
  const grey = new Uint8Array(voxels);
  if (!(hi > lo)) return grey; // a flat volume: black
  for (let i = 0; i < voxels; i++) {
    const v = image[i];
    grey[i] = Number.isFinite(v) ? Math.round(255 * Math.min(1, Math.max(0, (v - lo) / (hi - lo)))) : 0;
  }
  return grey;
}

/** The mean position of the labelled (non-zero) voxels, rounded; null when there are none. */
function foregroundCentre(labels: Float32Array, [X, Y, Z]: Dims): number[] | null {
  const sum = [0, 0, 0];
  let n = 0;
  for (let z = 0, i = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++, i++) {
        if (labels[i] === 0) continue;
        sum[0] += x;
        sum[1] += y;
        sum[2] += z;
        n++;
      }
    }
  }
  return n === 0 ? null : sum.map((s) => Math.round(s / n));
}

export class Viewer {
  private dims: Dims = [1, 1, 1];
  private grey: Uint8Array = new Uint8Array(0);
  private axes = {} as Record<ViewName, ViewAxes>;
  private labels: Float32Array | null = null;
  /** RGB 0..255 per class; class 0 is never drawn. */
  private colours: number[][] = [];

  constructor(private readonly ui: ViewerElements) {
    for (const view of VIEW_NAMES) ui.views[view].slider.addEventListener('input', () => this.draw(view));
    ui.opacity.addEventListener('input', () => this.drawAll());
  }

  /** Shows a new volume, without labels, at its middle slices. */
  show({ volume, affine }: ImageCase): void {
    this.dims = volume.dims;
    const [X, Y, Z] = volume.dims;
    this.grey = greyLevels(volume.image, X * Y * Z);
    this.labels = null;
    this.ui.legend.replaceChildren();
    const mm = voxelSizes(affine);
    for (const view of VIEW_NAMES) {
      const axes = viewAxes(affine, view);
      this.axes[view] = axes;
      const { canvas, slider } = this.ui.views[view];
      canvas.width = this.dims[axes.columns.axis];
      canvas.height = this.dims[axes.rows.axis];
      const width = canvas.width * mm[axes.columns.axis];
      const height = canvas.height * mm[axes.rows.axis];
      const scale = VIEW_SIZE / Math.max(width, height);
      canvas.style.width = `${Math.round(width * scale)}px`;
      canvas.style.height = `${Math.round(height * scale)}px`;
      slider.max = String(this.dims[axes.slice] - 1);
    }
    this.moveTo(this.dims.map((d) => Math.floor(d / 2)));
  }

  /** Overlays a label map of the volume shown, centres the views on it and fills the legend. */
  setLabels(labels: Float32Array, classNames: readonly string[]): void {
    this.labels = labels;
    this.colours = classNames.map((_, c) => (c === 0 ? [0, 0, 0] : classColour(c).map((v) => Math.round(255 * v))));
    this.ui.legend.replaceChildren(...classNames.map((name, c) => {
      const swatch = document.createElement('span');
      swatch.className = c === 0 ? 'swatch clear' : 'swatch';
      if (c > 0) swatch.style.backgroundColor = `rgb(${this.colours[c].join(', ')})`;
      const item = document.createElement('li');
      item.append(swatch, `${c} ${name}`);
      return item;
    }));
    const centre = foregroundCentre(labels, this.dims);
    if (centre) this.moveTo(centre);
    else this.drawAll();
  }

  private moveTo(voxel: number[]): void {
    for (const view of VIEW_NAMES) this.ui.views[view].slider.value = String(voxel[this.axes[view].slice]);
    this.drawAll();
  }

  private drawAll(): void {
    for (const view of VIEW_NAMES) this.draw(view);
  }

  private draw(view: ViewName): void {
    const { canvas, slider, value } = this.ui.views[view];
    const { slice, columns, rows } = this.axes[view];
    const k = Number(slider.value);
    value.textContent = `${k} / ${this.dims[slice] - 1}`;
    const { width, height } = canvas;
    const context = canvas.getContext('2d')!;
    const picture = context.createImageData(width, height);
    const pixels = picture.data;
    const alpha = Number(this.ui.opacity.value);
    const [X, Y] = this.dims;
    const voxel = [0, 0, 0];
    voxel[slice] = k;
    for (let row = 0; row < height; row++) {
      voxel[rows.axis] = rows.flip ? height - 1 - row : row;
      for (let col = 0; col < width; col++) {
        voxel[columns.axis] = columns.flip ? width - 1 - col : col;
        const i = voxel[0] + X * (voxel[1] + Y * voxel[2]);
        const grey = this.grey[i];
        const c = this.labels ? this.labels[i] : 0;
        const o = 4 * (row * width + col);
        for (let j = 0; j < 3; j++) pixels[o + j] = c === 0 ? grey : (1 - alpha) * grey + alpha * this.colours[c][j];
        pixels[o + 3] = 255;
      }
    }
    context.putImageData(picture, 0, 0);
  }
}
