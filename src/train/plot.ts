// The training curves as an SVG: the training loss (top panel, linear axis fitted to the data) and
// the validation mean Dice (bottom panel, 0 to 1) against the optimiser step, with grid, ticks,
// numbers, a legend per panel and a title line. Vector graphics with real text: crisp at any size
// in a browser, and the same curves give the same bytes.

import { svgDocument, svgElement, svgPolylines } from '../io/svg.js';

export interface Curves {
  train: readonly { step: number; loss: number }[];
  validation: readonly { step: number; meanDice: number }[];
}

/** The loss curve (matplotlib's tab:blue) and the validation curve (tab:orange). */
export const TRAIN_COLOUR = '#1f77b4';
export const VALIDATION_COLOUR = '#ff7f0e';
const GRID = '#e1e1e1';
const TEXT = '#282828';

/** A plotting area in user units (y grows downwards). */
export interface Rect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** The picture's size and the plotting areas of the two panels (loss, then Dice). */
export const PLOT_LAYOUT = {
  width: 800,
  height: 600,
  panels: [
    { left: 80, top: 60, right: 770, bottom: 260 },
    { left: 80, top: 330, right: 770, bottom: 530 },
  ] as readonly Rect[],
};

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

export interface Axis {
  ticks: number[];
  decimals: number;
}

/** niceTicks as an axis. */
export function niceTicksAxis(lo: number, hi: number, target: number): Axis {
  const t = niceTicks(lo, hi, target);
  return { ticks: t.values, decimals: t.decimals };
}

/** Maps a data value on an axis spanning [ticks[0], ticks[last]] to a coordinate between a and b. */
export function toCoordinate(axis: Axis, value: number, a: number, b: number): number {
  const lo = axis.ticks[0];
  const hi = axis.ticks[axis.ticks.length - 1];
  return a + ((value - lo) / (hi - lo)) * (b - a);
}

const text = (x: number, y: number, content: string, anchor: 'start' | 'middle' | 'end' = 'start', extra = {}) =>
  svgElement('text', { x, y, 'text-anchor': anchor, fill: TEXT, ...extra }, [], content);

/** Grid lines, the frame, tick marks and numbers of one panel; `x` may be null (no x ticks). */
export function svgAxes(area: Rect, x: Axis | null, y: Axis): string[] {
  const out: string[] = [];
  for (const t of y.ticks) {
    const py = toCoordinate(y, t, area.bottom, area.top);
    out.push(svgElement('line', { x1: area.left, y1: py, x2: area.right, y2: py, stroke: GRID }));
    out.push(svgElement('line', { x1: area.left - 5, y1: py, x2: area.left, y2: py, stroke: '#000' }));
    out.push(text(area.left - 8, py + 4, t.toFixed(y.decimals), 'end'));
  }
  for (const t of x?.ticks ?? []) {
    const px = toCoordinate(x!, t, area.left, area.right);
    out.push(svgElement('line', { x1: px, y1: area.top, x2: px, y2: area.bottom, stroke: GRID }));
    out.push(svgElement('line', { x1: px, y1: area.bottom, x2: px, y2: area.bottom + 5, stroke: '#000' }));
    out.push(text(px, area.bottom + 19, t.toFixed(x!.decimals), 'middle'));
  }
  out.push(svgElement('rect', { x: area.left, y: area.top, width: area.right - area.left, height: area.bottom - area.top, fill: 'none', stroke: '#000' }));
  return out;
}

/** A coloured swatch and its name above the panel's left edge (text placed after the swatch, whatever the font's width). */
function legend(area: Rect, name: string, colour: string): string[] {
  const y = area.top - 10;
  return [
    svgElement('line', { x1: area.left, y1: y - 4, x2: area.left + 28, y2: y - 4, stroke: colour, 'stroke-width': 3 }),
    text(area.left + 36, y, name),
  ];
}

function titleLine(curves: Curves): string {
  const last = curves.train[curves.train.length - 1];
  const parts = [last ? `step ${last.step}  loss ${last.loss.toFixed(4)}` : 'no training steps logged'];
  const best = curves.validation.reduce<Curves['validation'][number] | null>(
    (b, v) => (Number.isFinite(v.meanDice) && (!b || v.meanDice > b.meanDice) ? v : b), null);
  if (best) parts.push(`best mean Dice ${best.meanDice.toFixed(4)} (step ${best.step})`);
  return parts.join('   ·   ');
}

/** The curves as an SVG document (PLOT_LAYOUT's size). */
export function curvesSvg(curves: Curves): string {
  const { width, height, panels: [lossArea, diceArea] } = PLOT_LAYOUT;
  const steps = [...curves.train.map((p) => p.step), ...curves.validation.map((p) => p.step)].filter(Number.isFinite);
  // Steps are whole numbers: a range of at least 5 keeps the ticks on integers.
  const x = niceTicksAxis(0, Math.max(5, ...steps), 6);
  const losses = curves.train.map((p) => p.loss).filter(Number.isFinite);
  const lossAxis = losses.length > 0 ? niceTicksAxis(Math.min(...losses), Math.max(...losses), 5) : niceTicksAxis(0, 1, 5);
  const diceAxis = { ticks: [0, 0.2, 0.4, 0.6, 0.8, 1], decimals: 1 };
  const at = (area: Rect, y: Axis, points: [number, number][]) => points.map(([s, v]): [number, number] =>
    [toCoordinate(x, s, area.left, area.right), Number.isFinite(v) ? toCoordinate(y, v, area.bottom, area.top) : NaN]);
  const validation = at(diceArea, diceAxis, curves.validation.map((p) => [p.step, p.meanDice]));
  return svgDocument(width, height, [
    text(lossArea.left, 22, titleLine(curves), 'start', { 'font-size': 15 }),
    ...svgAxes(lossArea, x, lossAxis),
    ...svgAxes(diceArea, x, diceAxis),
    ...legend(lossArea, 'training loss', TRAIN_COLOUR),
    ...legend(diceArea, 'validation mean Dice', VALIDATION_COLOUR),
    text((diceArea.left + diceArea.right) / 2, diceArea.bottom + 40, 'step', 'middle'),
    ...svgPolylines(at(lossArea, lossAxis, curves.train.map((p) => [p.step, p.loss])), TRAIN_COLOUR, 2),
    ...svgPolylines(validation, VALIDATION_COLOUR, 2),
    ...validation.filter(([, v]) => Number.isFinite(v)).map(([cx, cy]) => svgElement('circle', { cx, cy, r: 3.5, fill: VALIDATION_COLOUR })),
  ]);
}
