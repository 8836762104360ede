// The ablation as an SVG: one column per setting, a dot per seed, the seeds joined across the
// settings by thin lines (the pairing the differences use), and each setting's mean ± sd as a
// black bar with whiskers.

import { svgDocument, svgElement, svgPolylines } from '../io/svg.js';
import { niceTicksAxis, svgAxes, toCoordinate, type Rect } from '../train/plot.js';
import type { AblationResult } from './run-node.js';

/** Seed k's colour (matplotlib's tab10, in order). */
const SEED_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function ablationSvg(r: AblationResult): string {
  const width = Math.max(520, 150 * r.settings.length + 120) + 120; // the legend in the last 120
  const height = 460;
  const area: Rect = { left: 80, top: 50, right: width - 140, bottom: height - 90 };
  const legendX = area.right + 16;
  const spread = (s: AblationResult['settings'][number]) => [s.summary.mean - (s.summary.sd ?? 0), s.summary.mean + (s.summary.sd ?? 0)];
  const all = r.settings.flatMap((s) => [...s.scores, ...spread(s)].map((v) => 100 * v));
  const y = niceTicksAxis(Math.min(...all), Math.max(...all), 5);
  const column = (i: number) => area.left + ((i + 0.5) * (area.right - area.left)) / r.settings.length;
  const at = (v: number) => toCoordinate(y, 100 * v, area.bottom, area.top);
  const body: string[] = [
    svgElement('text', { x: area.left, y: 28, 'font-size': 15 }, [], `Ablation: mean foreground Dice (%) on ${r.validationCases.length} validation case(s), ${r.seeds.length} seed(s)`),
    ...svgAxes(area, null, y),
  ];
  r.settings.forEach((s, i) => {
    const lines = s.name.replace(/ \(/, '\n(').split('\n');
    lines.forEach((line, k) => body.push(svgElement('text', { x: column(i), y: area.bottom + 22 + 16 * k, 'text-anchor': 'middle' }, [], line)));
  });
  r.seeds.forEach((seed, k) => {
    const colour = SEED_COLOURS[k % SEED_COLOURS.length];
    const points = r.settings.map((s, i): [number, number] => [column(i) + 6 * (k - (r.seeds.length - 1) / 2), at(s.scores[k])]);
    body.push(...svgPolylines(points, colour, 1, { 'stroke-opacity': 0.45 }));
    for (const [cx, cy] of points) body.push(svgElement('circle', { cx, cy, r: 4.5, fill: colour }));
    body.push(svgElement('text', { x: legendX, y: area.top + 18 + 16 * k, fill: colour }, [], `● seed ${seed}`));
  });
  r.settings.forEach((s, i) => {
    const x = column(i) + 26;
    const { mean, sd } = s.summary;
    if (sd !== null) {
      body.push(svgElement('line', { x1: x, y1: at(mean - sd), x2: x, y2: at(mean + sd), stroke: '#000', 'stroke-width': 1.5 }));
      for (const v of [mean - sd, mean + sd]) body.push(svgElement('line', { x1: x - 5, y1: at(v), x2: x + 5, y2: at(v), stroke: '#000', 'stroke-width': 1.5 }));
    }
    body.push(svgElement('line', { x1: x - 10, y1: at(mean), x2: x + 10, y2: at(mean), stroke: '#000', 'stroke-width': 3 }));
  });
  body.push(svgElement('text', { x: legendX, y: area.top + 18 + 16 * r.seeds.length }, [], '▬ mean ± sd'));
  return svgDocument(width, height, body);
}
