// The training-curve plot (an SVG): tick choice, and the document's structure — each curve in its
// own panel and colour going the way the data goes, broken at non-finite values, axes, legends
// and text present and escaped, and the same bytes for the same curves.
import { describe, expect, it } from 'vitest';
import { escapeXml, svgNumber } from '../src/io/svg.js';
import { curvesSvg, niceTicks, PLOT_LAYOUT, TRAIN_COLOUR, VALIDATION_COLOUR, type Curves } from '../src/train/plot.js';

/** The points of every polyline stroked in `colour`, one array per polyline. */
function polylines(svg: string, colour: string): [number, number][][] {
  return [...svg.matchAll(/<polyline ([^>]*)\/>/g)]
    .filter((m) => m[1].includes(`stroke="${colour}"`))
    .map((m) => /points="([^"]*)"/.exec(m[1])![1].split(' ').map((p) => p.split(',').map(Number) as [number, number]));
}

const texts = (svg: string) => [...svg.matchAll(/<text [^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

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

describe('the SVG writer', () => {
  it('escapes text and prints numbers to 0.01 without -0', () => {
    expect(escapeXml('a < b & "c" > d')).toBe('a &lt; b &amp; &quot;c&quot; &gt; d');
    expect([svgNumber(1 / 3), svgNumber(-0.001), svgNumber(12), svgNumber(2.005)]).toEqual(['0.33', '0', '12', '2.01']);
  });
});

describe('curvesSvg', () => {
  it('draws each curve in its own panel, the way the numbers go', () => {
    const svg = curvesSvg(falling);
    expect(svg).toMatch(new RegExp(`^<svg [^>]*width="${PLOT_LAYOUT.width}" height="${PLOT_LAYOUT.height}"`));
    const [loss] = polylines(svg, TRAIN_COLOUR);
    const [dice] = polylines(svg, VALIDATION_COLOUR);
    expect(loss).toHaveLength(49);
    expect(dice).toHaveLength(5);
    const within = (a: typeof lossArea, [x, y]: [number, number]) => x >= a.left && x <= a.right && y >= a.top && y <= a.bottom;
    expect(loss.every((p) => within(lossArea, p))).toBe(true);
    expect(dice.every((p) => within(diceArea, p))).toBe(true);
    // Falling loss: each point at or below the previous one on the axis, i.e. lower y is higher.
    for (let i = 1; i < loss.length; i++) expect(loss[i][1]).toBeGreaterThanOrEqual(loss[i - 1][1]);
    // Rising Dice from 0.2 to 0.8 on a 0–1 axis: the ends sit at 20 % and 80 % of the height.
    const height = diceArea.bottom - diceArea.top;
    expect(dice[0][1]).toBeCloseTo(diceArea.bottom - 0.2 * height, 1);
    expect(dice[4][1]).toBeCloseTo(diceArea.bottom - 0.8 * height, 1);
    // Both curves end at step 490, on one x axis.
    expect(loss[48][0]).toBe(dice[4][0]);
  });

  it('draws axes, legends and a title', () => {
    const svg = curvesSvg(falling);
    const words = texts(svg);
    expect(words).toContain('training loss');
    expect(words).toContain('validation mean Dice');
    expect(words).toContain('step');
    // 1.5·e^(−48/15) + 0.1 = 0.1611
    expect(words[0]).toBe('step 490  loss 0.1611   ·   best mean Dice 0.8000 (step 490)');
    for (const tick of ['0.0', '0.2', '1.0', '0', '100', '500']) expect(words).toContain(tick);
    expect(svg.match(/<rect [^>]*fill="none" stroke="#000"/g)).toHaveLength(2); // the two panel frames
  });

  it('breaks a curve at non-finite values', () => {
    const train = [{ step: 100, loss: 1 }, { step: 200, loss: NaN }, { step: 300, loss: 0.5 }, { step: 400, loss: Infinity }];
    const svg = curvesSvg({ train, validation: [] });
    // Two isolated points: two dots, no line joining them.
    expect(polylines(svg, TRAIN_COLOUR)).toEqual([]);
    expect(svg.match(new RegExp(`<circle [^>]*fill="${TRAIN_COLOUR}"`, 'g'))).toHaveLength(2);
  });

  it('gives the same bytes for the same curves, and copes with no data', () => {
    expect(curvesSvg(falling)).toBe(curvesSvg(falling));
    const empty = curvesSvg({ train: [], validation: [] });
    expect(polylines(empty, TRAIN_COLOUR)).toEqual([]);
    expect(texts(empty)[0]).toBe('no training steps logged');
  });
});
