// The training curves as a PNG: the training loss (top panel, linear axis fitted to the data) and
// the validation mean Dice (bottom panel, 0 to 1) against the optimiser step, with axes, ticks,
// numbers, a legend per panel and a title line. Everything is drawn here, text included (a 5×7
// bitmap font), so the output depends on nothing but the numbers: the same curves give the same
// bytes.

import { encodePng, type Image } from '../io/png.js';

export interface Curves {
  train: readonly { step: number; loss: number }[];
  validation: readonly { step: number; meanDice: number }[];
}

// ---------------------------------------------------------------------------------------------
// The font

/**
 * 5×7 glyphs (after the HD44780 character ROM): 7 rows top first, two hex digits per row, bit 4
 * the leftmost pixel. Text is drawn in lower case.
 */
const GLYPHS: Readonly<Record<string, string>> = {
  '0': '0e11131519110e', '1': '040c040404040e', '2': '0e11010204081f', '3': '1f02040201110e',
  '4': '02060a121f0202', '5': '1f101e0101110e', '6': '0608101e11110e', '7': '1f010204080808',
  '8': '0e11110e11110e', '9': '0e11110f01020c',
  a: '00000e010f110f', b: '1010161911111e', c: '00000e1010110e', d: '01010d1311110f',
  e: '00000e111f100e', f: '0609081c080808', g: '000f11110f010e', h: '10101619111111',
  i: '04000c0404040e', j: '0200060202120c', k: '10101214181412', l: '0c04040404040e',
  m: '00001a15151111', n: '00001619111111', o: '00000e1111110e', p: '00001e111e1010',
  q: '00000d130f0101', r: '00001619101010', s: '00000e100e011e', t: '08081c08080906',
  u: '0000111111130d', v: '00001111110a04', w: '0000111115150a', x: '0000110a040a11',
  y: '000011110f010e', z: '00001f0204081f',
  '.': '00000000000c0c', '-': '0000001f000000', ':': '000c0c000c0c00', ' ': '00000000000000',
  '(': '02040808080402', ')': '08040202020408', ',': '000000000c0408', '/': '00010204081000',
  '+': '0004041f040400', '=': '00001f001f0000',
};

const GLYPH_W = 5;
const GLYPH_H = 7;
const TEXT_SCALE = 2; // every text is drawn at 2× (10×14 pixels a glyph)
const ADVANCE = (GLYPH_W + 1) * TEXT_SCALE;
const TEXT_HEIGHT = GLYPH_H * TEXT_SCALE;

/** The characters the font has. */
export const FONT_CHARACTERS = Object.keys(GLYPHS).join('');

function glyphRows(ch: string): number[] {
  const hex = GLYPHS[ch.toLowerCase()];
  if (hex === undefined) throw new Error(`plotCurves: the bitmap font has no glyph for ${JSON.stringify(ch)}`);
  return Array.from({ length: GLYPH_H }, (_, r) => parseInt(hex.slice(2 * r, 2 * r + 2), 16));
}

const textWidth = (text: string): number => text.length * ADVANCE - TEXT_SCALE;

// ---------------------------------------------------------------------------------------------
// Drawing

type Colour = readonly [number, number, number];

const WHITE: Colour = [255, 255, 255];
const BLACK: Colour = [0, 0, 0];
const GRID: Colour = [225, 225, 225];
const TEXT: Colour = [40, 40, 40];
/** The loss curve (matplotlib's tab:blue) and the validation curve (tab:orange). */
export const TRAIN_COLOUR: Colour = [31, 119, 180];
export const VALIDATION_COLOUR: Colour = [255, 127, 14];

/** An RGB raster, 8-bit values, row-major; drawing outside it is clipped. */
class Canvas {
  readonly pixels: Uint8Array;

  constructor(readonly width: number, readonly height: number) {
    this.pixels = new Uint8Array(width * height * 3);
    this.rect(0, 0, width, height, WHITE);
  }

  set(x: number, y: number, colour: Colour): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.pixels.set(colour, 3 * (y * this.width + x));
  }

  rect(x: number, y: number, w: number, h: number, colour: Colour): void {
    for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) this.set(i, j, colour);
  }

  /** A 2-pixel-wide line from (x0, y0) to (x1, y1) (Bresenham), inside `clip` only. */
  line(x0: number, y0: number, x1: number, y1: number, colour: Colour, clip: Rect): void {
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let error = dx + dy;
    for (let x = x0, y = y0; ; ) {
      for (const [ox, oy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
        if (inside(clip, x + ox, y + oy)) this.set(x + ox, y + oy, colour);
      }
      if (x === x1 && y === y1) break;
      const e2 = 2 * error;
      if (e2 >= dy) { error += dy; x += sx; }
      if (e2 <= dx) { error += dx; y += sy; }
    }
  }

  /** Text with its top-left corner at (x, y). */
  text(x: number, y: number, text: string, colour: Colour = TEXT): void {
    [...text].forEach((ch, k) => {
      glyphRows(ch).forEach((bits, r) => {
        for (let c = 0; c < GLYPH_W; c++) {
          if (bits & (1 << (GLYPH_W - 1 - c))) this.rect(x + k * ADVANCE + c * TEXT_SCALE, y + r * TEXT_SCALE, TEXT_SCALE, TEXT_SCALE, colour);
        }
      });
    });
  }

  toImage(): Image {
    return { width: this.width, height: this.height, channels: 3, data: Float32Array.from(this.pixels, (v) => v / 255) };
  }
}

/** Pixel bounds, `right` and `bottom` included. */
export interface Rect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

const inside = (r: Rect, x: number, y: number) => x >= r.left && x <= r.right && y >= r.top && y <= r.bottom;

/** The picture's size and the plotting areas of the two panels (loss, then Dice). */
export const PLOT_LAYOUT = {
  width: 800,
  height: 600,
  panels: [
    { left: 96, top: 68, right: 760, bottom: 268 },
    { left: 96, top: 336, right: 760, bottom: 536 },
  ] as readonly Rect[],
};

// ---------------------------------------------------------------------------------------------
// Axes

/**
 * Round tick values covering [lo, hi]: about `target` steps of 1, 2 or 5 × 10^k, the first at
 * or below lo and the last at or above hi, and the decimals that print them exactly.
 */
export function niceTicks(lo: number, hi: number, target = 5): { values: number[]; decimals: number } {
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi >= lo)) throw new Error(`niceTicks: need finite lo <= hi, got ${lo}, ${hi}`);
  if (hi === lo) {
    const pad = Math.abs(lo) / 10 || 1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  const raw = (hi - lo) / target;
  const exponent = Math.floor(Math.log10(raw));
  const multiplier = [1, 2, 5, 10].find((m) => m * 10 ** exponent >= raw * (1 - 1e-12))!;
  const step = multiplier * 10 ** exponent;
  const decimals = Math.max(0, -(exponent + (multiplier === 10 ? 1 : 0)));
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const values = Array.from({ length: last - first + 1 }, (_, i) => Number(((first + i) * step).toFixed(decimals)));
  return { values, decimals };
}

interface Axis {
  ticks: number[];
  decimals: number;
}

/** Maps a data value on an axis spanning [ticks[0], ticks[last]] to a pixel between a and b. */
function toPixel(axis: Axis, value: number, a: number, b: number): number {
  const lo = axis.ticks[0];
  const hi = axis.ticks[axis.ticks.length - 1];
  return Math.round(a + ((value - lo) / (hi - lo)) * (b - a));
}

/** Grid lines, the frame, tick marks and numbers of one panel. */
function drawAxes(canvas: Canvas, area: Rect, x: Axis, y: Axis): void {
  for (const t of y.ticks) {
    const py = toPixel(y, t, area.bottom, area.top);
    canvas.rect(area.left, py, area.right - area.left + 1, 1, GRID);
    canvas.rect(area.left - 5, py, 5, 1, BLACK);
    const label = t.toFixed(y.decimals);
    canvas.text(area.left - 9 - textWidth(label), py - TEXT_HEIGHT / 2, label);
  }
  for (const t of x.ticks) {
    const px = toPixel(x, t, area.left, area.right);
    canvas.rect(px, area.top, 1, area.bottom - area.top + 1, GRID);
    canvas.rect(px, area.bottom + 1, 1, 5, BLACK);
    const label = t.toFixed(x.decimals);
    canvas.text(px - Math.floor(textWidth(label) / 2), area.bottom + 9, label);
  }
  canvas.rect(area.left, area.top, 1, area.bottom - area.top + 1, BLACK);
  canvas.rect(area.left, area.bottom, area.right - area.left + 1, 1, BLACK);
  canvas.rect(area.right, area.top, 1, area.bottom - area.top + 1, BLACK);
  canvas.rect(area.left, area.top, area.right - area.left + 1, 1, BLACK);
}

/** A curve through the finite points, in order; a non-finite value breaks it. */
function drawCurve(canvas: Canvas, area: Rect, x: Axis, y: Axis, points: [number, number][], colour: Colour, markers: boolean): void {
  let previous: [number, number] | null = null;
  for (const [sx, sy] of points) {
    if (!Number.isFinite(sx) || !Number.isFinite(sy)) {
      previous = null;
      continue;
    }
    const p: [number, number] = [toPixel(x, sx, area.left, area.right), toPixel(y, sy, area.bottom, area.top)];
    canvas.line(...(previous ?? p), ...p, colour, area);
    if (markers) canvas.rect(p[0] - 2, p[1] - 2, 6, 6, colour);
    previous = p;
  }
}

/** A coloured swatch and its name, right-aligned above the panel. */
function drawLegend(canvas: Canvas, area: Rect, name: string, colour: Colour): void {
  const x = area.right - textWidth(name);
  const y = area.top - TEXT_HEIGHT - 10;
  canvas.rect(x - 32, y + TEXT_HEIGHT / 2 - 1, 24, 3, colour);
  canvas.text(x, y, name);
}

function titleLine(curves: Curves): string {
  const last = curves.train[curves.train.length - 1];
  const parts = [last ? `step ${last.step}  loss ${last.loss.toFixed(4)}` : 'no training steps logged'];
  const best = curves.validation.reduce<Curves['validation'][number] | null>(
    (b, v) => (Number.isFinite(v.meanDice) && (!b || v.meanDice > b.meanDice) ? v : b), null);
  if (best) parts.push(`best mean dice ${best.meanDice.toFixed(4)} (step ${best.step})`);
  return parts.join('   ');
}

// ---------------------------------------------------------------------------------------------

/** The RGB picture of the curves (see PLOT_LAYOUT). */
function renderCurves(curves: Curves): Image {
  const { width, height, panels: [lossArea, diceArea] } = PLOT_LAYOUT;
  const canvas = new Canvas(width, height);
  const steps = [...curves.train.map((p) => p.step), ...curves.validation.map((p) => p.step)].filter(Number.isFinite);
  // Steps are whole numbers: a range of at least 5 keeps the ticks on integers.
  const xTicks = niceTicks(0, Math.max(5, ...steps), 6);
  const x = { ticks: xTicks.values, decimals: xTicks.decimals };
  const losses = curves.train.map((p) => p.loss).filter(Number.isFinite);
  const lossTicks = losses.length > 0 ? niceTicks(Math.min(...losses), Math.max(...losses)) : niceTicks(0, 1);
  const lossAxis = { ticks: lossTicks.values, decimals: lossTicks.decimals };
  const diceAxis = { ticks: [0, 0.2, 0.4, 0.6, 0.8, 1], decimals: 1 };

  canvas.text(lossArea.left, 12, titleLine(curves));
  drawAxes(canvas, lossArea, x, lossAxis);
  drawAxes(canvas, diceArea, x, diceAxis);
  drawLegend(canvas, lossArea, 'training loss', TRAIN_COLOUR);
  drawLegend(canvas, diceArea, 'validation mean dice', VALIDATION_COLOUR);
  canvas.text(diceArea.right - textWidth('step'), diceArea.bottom + 33, 'step');
  drawCurve(canvas, lossArea, x, lossAxis, curves.train.map((p) => [p.step, p.loss]), TRAIN_COLOUR, false);
  drawCurve(canvas, diceArea, x, diceAxis, curves.validation.map((p) => [p.step, p.meanDice]), VALIDATION_COLOUR, true);
  return canvas.toImage();
}

/** The curves as PNG bytes (8-bit RGB, PLOT_LAYOUT's size). */
export function plotCurves(curves: Curves): Promise<Uint8Array> {
  return encodePng(renderCurves(curves));
}
