// The training-curve plot: tick choice, the bitmap font, and the PNG's structure — its size, each
// curve in its own panel and colour going the way the data goes, broken at non-finite values,
// axes and text drawn, and the same bytes for the same curves.
import { describe, expect, it } from 'vitest';
import { decodePng } from '../src/io/png.js';
import { FONT_CHARACTERS, niceTicks, plotCurves, PLOT_LAYOUT, TRAIN_COLOUR, VALIDATION_COLOUR, type Curves, type Rect } from '../src/train/plot.js';

/** The decoded picture as 8-bit RGB. */
async function pixels(curves: Curves): Promise<{ width: number; height: number; at: (x: number, y: number) => number[] }> {
  const image = await decodePng(await plotCurves(curves), 'curves.png');
  expect(image.channels).toBe(3);
  const bytes = Uint8Array.from(image.data, (v) => Math.round(255 * v));
  return { width: image.width, height: image.height, at: (x, y) => [...bytes.subarray(3 * (y * image.width + x), 3 * (y * image.width + x) + 3)] };
}

/** Pixels of `colour` inside `area`, as [x, y]. */
function find(p: Awaited<ReturnType<typeof pixels>>, area: Rect, colour: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let y = area.top; y <= area.bottom; y++) {
    for (let x = area.left; x <= area.right; x++) if (p.at(x, y).every((v, k) => v === colour[k])) out.push([x, y]);
  }
  return out;
}

/** Mean row of the found pixels in the leftmost and rightmost columns that have any. */
function endRows(found: [number, number][]): { left: number; right: number } {
  const xs = found.map(([x]) => x);
  const rowsAt = (x: number) => found.filter(([fx]) => fx === x).map(([, y]) => y);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return { left: mean(rowsAt(Math.min(...xs))), right: mean(rowsAt(Math.max(...xs))) };
}

const whole: Rect = { left: 0, top: 0, right: PLOT_LAYOUT.width - 1, bottom: PLOT_LAYOUT.height - 1 };
const [lossArea, diceArea] = PLOT_LAYOUT.panels;

const falling: Curves = {
  train: Array.from({ length: 49 }, (_, i) => ({ step: 10 * (i + 1), loss: 1.5 * Math.exp(-i / 15) + 0.1 })),
  validation: [90, 190, 290, 390, 490].map((step, i) => ({ step, meanDice: 0.2 + 0.15 * i })),
};

describe('niceTicks', () => {
  it('covers the range with steps of 1, 2 or 5 × 10^k and prints them exactly', () => {
    expect(niceTicks(0, 1200, 6)).toEqual({ values: [0, 200, 400, 600, 800, 1000, 1200], decimals: 0 });
    expect(niceTicks(0.2, 1.5)).toEqual({ values: [0, 0.5, 1, 1.5], decimals: 1 });
    expect(niceTicks(0.0123, 0.0456)).toEqual({ values: [0.01, 0.02, 0.03, 0.04, 0.05], decimals: 2 });
    expect(niceTicks(0, 5, 6)).toEqual({ values: [0, 1, 2, 3, 4, 5], decimals: 0 });
    expect(niceTicks(-3, 7)).toEqual({ values: [-4, -2, 0, 2, 4, 6, 8], decimals: 0 });
    // A flat range is widened by 10 % of the value.
    expect(niceTicks(2, 2)).toEqual({ values: [1.8, 1.9, 2, 2.1, 2.2], decimals: 1 });
    expect(() => niceTicks(1, 0)).toThrow(/need finite lo <= hi/);
  });
});

describe('the bitmap font', () => {
  it('has digits, a–z and the punctuation the plot prints', () => {
    for (const ch of '0123456789abcdefghijklmnopqrstuvwxyz.-: ():,') expect(FONT_CHARACTERS).toContain(ch);
  });
});

describe('plotCurves', () => {
  it('draws each curve in its own panel, the way the numbers go', async () => {
    const p = await pixels(falling);
    expect([p.width, p.height]).toEqual([PLOT_LAYOUT.width, PLOT_LAYOUT.height]);

    const loss = find(p, lossArea, TRAIN_COLOUR);
    const dice = find(p, diceArea, VALIDATION_COLOUR);
    expect(loss.length).toBeGreaterThan(200);
    expect(dice.length).toBeGreaterThan(100);
    expect(find(p, diceArea, TRAIN_COLOUR)).toEqual([]);
    expect(find(p, lossArea, VALIDATION_COLOUR)).toEqual([]);
    // Falling loss: its left end is lower on the axis, i.e. higher up the picture.
    const l = endRows(loss);
    expect(l.left).toBeLessThan(l.right - 100);
    // Rising Dice from 0.2 to 0.8 on a 0–1 axis: the ends sit at 20 % and 80 % of the height.
    const d = endRows(dice);
    const height = diceArea.bottom - diceArea.top;
    expect(Math.abs(d.left - (diceArea.bottom - 0.2 * height))).toBeLessThanOrEqual(3);
    expect(Math.abs(d.right - (diceArea.bottom - 0.8 * height))).toBeLessThanOrEqual(3);
    // Both curves end at step 490, on one x axis: the 2-pixel line ends 1 pixel right of the
    // point, the 6-pixel marker 3 pixels right of it.
    expect(Math.max(...loss.map(([x]) => x))).toBe(Math.max(...dice.map(([x]) => x)) - 2);
  });

  it('draws axes, legends and text', async () => {
    const p = await pixels(falling);
    for (const a of PLOT_LAYOUT.panels) {
      expect(p.at(a.left, a.bottom)).toEqual([0, 0, 0]);
      expect(p.at(a.right, a.top)).toEqual([0, 0, 0]);
    }
    // Legend swatches sit above each panel, in the curve's colour.
    expect(find(p, { ...whole, top: lossArea.top - 30, bottom: lossArea.top - 1 }, TRAIN_COLOUR).length).toBeGreaterThan(0);
    expect(find(p, { ...whole, top: diceArea.top - 30, bottom: diceArea.top - 1 }, VALIDATION_COLOUR).length).toBeGreaterThan(0);
    // Text: the title line and the y-axis numbers left of each panel.
    const dark = (area: Rect) => find(p, area, [40, 40, 40]).length;
    expect(dark({ left: 0, top: 0, right: PLOT_LAYOUT.width - 1, bottom: 30 })).toBeGreaterThan(100);
    for (const a of PLOT_LAYOUT.panels) expect(dark({ left: 0, top: a.top - 8, right: a.left - 6, bottom: a.bottom + 8 })).toBeGreaterThan(100);
  });

  it('breaks a curve at non-finite values', async () => {
    const train = [{ step: 100, loss: 1 }, { step: 200, loss: NaN }, { step: 300, loss: 0.5 }, { step: 400, loss: Infinity }];
    const p = await pixels({ train, validation: [] });
    const loss = find(p, lossArea, TRAIN_COLOUR);
    const xs = [...new Set(loss.map(([x]) => x))].sort((a, b) => a - b);
    // Two separate 2×2 dots, nothing between them.
    expect(xs.length).toBe(4);
    expect(xs[2] - xs[1]).toBeGreaterThan(100);
  });

  it('gives the same bytes for the same curves, and copes with no data', async () => {
    expect(await plotCurves(falling)).toEqual(await plotCurves(falling));
    const empty = await pixels({ train: [], validation: [] });
    expect(find(empty, whole, TRAIN_COLOUR).length).toBeGreaterThan(0); // the legend only
    expect(find(empty, lossArea, TRAIN_COLOUR)).toEqual([]);
  });
});
