// The three orthogonal views of a volume with its label overlay: the first channel in grey through
// a window (by default the volume's 1st–99th percentile, as the PNG overlays of src/infer/overlay.ts;
// the level and width sliders move it), each class blended in the overlays' colour at the chosen
// opacity (background left clear), a slider per view (slice numbers from 0, as `transseg predict
// --slices` counts them), and the legend with the class names from the model file. A canvas holds
// one pixel per voxel; CSS scales it to the voxels' true size in mm, so the image and its overlay
// keep the voxel spacing in every view.

import { infer } from '../src/index.js';
import { VIEW_NAMES, viewAxes, voxelSizes, type ViewAxes, type ViewName } from './orientation.js';
import type { ImageSummary } from './protocol.js';

const { classColour } = infer;

export interface ViewElements {
  canvas: HTMLCanvasElement;
  slider: HTMLInputElement;
  value: HTMLOutputElement;
}

export interface ViewerElements {
  views: Record<ViewName, ViewElements>;
  opacity: HTMLInputElement;
  level: HTMLInputElement;
  width: HTMLInputElement;
  legend: HTMLUListElement;
}

type Dims = [number, number, number];

/** The longer side of a view on screen, in CSS pixels. */
const VIEW_SIZE = 320;
/** Steps of the level and width sliders over the volume's range. */
const WINDOW_STEPS = 1000;

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
  private image: Float32Array = new Float32Array(0);
  private axes = {} as Record<ViewName, ViewAxes>;
  private labels: Float32Array | null = null;
  /** RGB 0..255 per class; class 0 is never drawn. */
  private colours: number[][] = [];

  constructor(private readonly ui: ViewerElements) {
    for (const view of VIEW_NAMES) ui.views[view].slider.addEventListener('input', () => this.draw(view));
    for (const control of [ui.opacity, ui.level, ui.width]) control.addEventListener('input', () => this.drawAll());
  }

  /** Shows a new volume, without labels, at its middle slices. */
  show({ dims, affine, firstChannel, window, range }: ImageSummary): void {
    this.dims = dims;
    this.image = firstChannel;
    this.setWindow(window, range);
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

  /** Level (centre) and width sliders over the volume's range, set to `window`. */
  private setWindow([lo, hi]: [number, number], [min, max]: [number, number]): void {
    const { level, width } = this.ui;
    const span = max > min ? max - min : 1;
    level.min = String(min);
    level.max = String(max);
    width.min = String(span / WINDOW_STEPS);
    width.max = String(span);
    level.step = width.step = String(span / WINDOW_STEPS);
    level.value = String((lo + hi) / 2);
    width.value = String(hi > lo ? hi - lo : span);
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
    const { width: columnsN, height } = canvas;
    const context = canvas.getContext('2d')!;
    const picture = context.createImageData(columnsN, height);
    const pixels = picture.data;
    const alpha = Number(this.ui.opacity.value);
    const width = Number(this.ui.width.value);
    const lo = Number(this.ui.level.value) - width / 2;
    const [X, Y] = this.dims;
    const voxel = [0, 0, 0];
    voxel[slice] = k;
    for (let row = 0; row < height; row++) {
      voxel[rows.axis] = rows.flip ? height - 1 - row : row;
      for (let col = 0; col < columnsN; col++) {
        voxel[columns.axis] = columns.flip ? columnsN - 1 - col : col;
        const i = voxel[0] + X * (voxel[1] + Y * voxel[2]);
        const v = this.image[i];
        const grey = Number.isFinite(v) ? 255 * Math.min(1, Math.max(0, (v - lo) / width)) : 0;
        const c = this.labels ? this.labels[i] : 0;
        const o = 4 * (row * columnsN + col);
        for (let j = 0; j < 3; j++) pixels[o + j] = c === 0 ? grey : (1 - alpha) * grey + alpha * this.colours[c][j];
        pixels[o + 3] = 255;
      }
    }
    context.putImageData(picture, 0, 0);
  }
}
