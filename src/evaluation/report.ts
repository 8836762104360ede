// The evaluation report: per-class Dice (the paper's global Dice and MONAI's per-case mean) and
// HD95, with their means, as a JSON-serialisable object and as a fixed-width table.

import { classIds, classMean, countNotNaN, monaiClassMeans, monaiMean } from './metrics.js';

/** The metrics of one case, one entry per class (from DiceAccumulator.add and classHausdorff95). */
export interface CaseMetrics {
  name: string;
  /** MONAI per-case Dice; NaN where the truth lacks the class. */
  dice: readonly number[];
  /** HD95 in mm; NaN for the background and where either mask is empty. */
  hd95: readonly number[];
}

export interface EvaluationInput {
  classNames: readonly string[];
  perCase: readonly CaseMetrics[];
  /** The paper's dataset-level Dice per class (DiceAccumulator.globalDice()). */
  global: { dice: readonly number[] };
}

/** A metric value; null stands for NaN (nothing to score), which JSON cannot hold. */
export type Score = number | null;

export interface ClassRow {
  name: string;
  globalDice: Score;
  /** Mean over the cases whose truth holds the class; `monaiDiceCases` counts them. */
  monaiDice: Score;
  monaiDiceCases: number;
  /** Mean over the cases where both masks are non-empty; `hd95Cases` counts them. */
  hd95: Score;
  hd95Cases: number;
}

export interface EvaluationReport {
  classes: ClassRow[];
  means: {
    /** TransSeg's val/mdice and DiceMetric(include_background=True, reduction='mean'). */
    all: { globalDice: Score; monaiDice: Score };
    /** val/mdice_nobg, DiceMetric(include_background=False) and HausdorffDistanceMetric's 'mean'. */
    foreground: { globalDice: Score; monaiDice: Score; hd95: Score };
  };
  cases: { name: string; dice: Score[]; hd95: Score[] }[];
}

/**
 * Per class: the global Dice, the MONAI Dice averaged over cases ignoring NaN ('mean_batch') and
 * the HD95 likewise. Means over classes: the global Dice by a plain mean (NaN if any class is
 * NaN, as TransSeg's `dices.mean()`), MONAI's by its 'mean' reduction (per case over its non-NaN
 * classes, then over cases).
 */
export function evaluationReport({ classNames, perCase, global }: EvaluationInput): EvaluationReport {
  const k = classNames.length;
  checkRow('global.dice', global.dice, k);
  perCase.forEach((c, i) => {
    checkRow(`perCase[${i}].dice`, c.dice, k);
    checkRow(`perCase[${i}].hd95`, c.hd95, k);
  });
  const dice = perCase.map((c) => c.dice);
  const hd95 = perCase.map((c) => c.hd95);
  const monaiDice = monaiClassMeans(dice, k);
  const monaiDiceCases = countNotNaN(dice, k);
  const hdMeans = monaiClassMeans(hd95, k);
  const hdCases = countNotNaN(hd95, k);
  const all = classIds(k, true);
  const foreground = classIds(k, false);
  return {
    classes: classNames.map((name, c) => ({
      name,
      globalDice: score(global.dice[c]),
      monaiDice: score(monaiDice[c]),
      monaiDiceCases: monaiDiceCases[c],
      hd95: score(hdMeans[c]),
      hd95Cases: hdCases[c],
    })),
    means: {
      all: { globalDice: score(classMean(global.dice, all)), monaiDice: score(monaiMean(dice, all)) },
      foreground: {
        globalDice: score(classMean(global.dice, foreground)),
        monaiDice: score(monaiMean(dice, foreground)),
        hd95: score(monaiMean(hd95, foreground)),
      },
    },
    cases: perCase.map((c) => ({ name: c.name, dice: c.dice.map(score), hd95: c.hd95.map(score) })),
  };
}

function checkRow(name: string, row: readonly number[], classes: number): void {
  if (row.length !== classes) {
    throw new Error(`evaluationReport: ${name} has ${row.length} entries for ${classes} class names`);
  }
  const bad = row.findIndex((v) => typeof v !== 'number' || v === Infinity || v === -Infinity);
  if (bad >= 0) throw new Error(`evaluationReport: ${name}[${bad}] is ${row[bad]}; expected a finite number or NaN`);
}

function score(v: number): Score {
  return Number.isNaN(v) ? null : v;
}

/** The report as a fixed-width table: Dice to 4 decimals, HD95 to 2, n/a for null. */
export function formatTable(report: EvaluationReport): string {
  const meanAll = 'mean, all classes';
  const meanFg = 'mean, foreground';
  const nameWidth = Math.max(meanAll.length, ...report.classes.map((c) => c.name.length));
  const dice = (v: Score) => (v === null ? 'n/a' : v.toFixed(4));
  const hd = (v: Score) => (v === null ? 'n/a' : v.toFixed(2));
  const line = (name: string, cells: string[]) =>
    [name.padEnd(nameWidth), ...cells.map((s, i) => s.padStart(i === 0 ? 12 : 18))].join('').trimEnd();
  const rows = [
    line('class', ['global Dice', 'MONAI Dice (n)', 'HD95 mm (n)']),
    ...report.classes.map((c, i) =>
      line(c.name, [
        dice(c.globalDice),
        `${dice(c.monaiDice)} (${c.monaiDiceCases})`,
        // The background has no HD95: MONAI's include_background=False.
        i === 0 ? '-' : `${hd(c.hd95)} (${c.hd95Cases})`,
      ])),
    line(meanAll, [dice(report.means.all.globalDice), dice(report.means.all.monaiDice), '']),
    line(meanFg, [dice(report.means.foreground.globalDice), dice(report.means.foreground.monaiDice), hd(report.means.foreground.hd95)]),
  ];
  const rule = '-'.repeat(Math.max(...rows.map((r) => r.length)));
  return [
    rows[0], rule, ...rows.slice(1, -2), rule, ...rows.slice(-2), '',
    'global Dice: 2I/(P+G) over all cases (TransSeg); n/a: class in no prediction and no truth.',
    'MONAI Dice: mean over the n cases whose truth has the class; HD95: mean over the n cases where',
    'prediction and truth both have it. Means: global = plain mean over classes (TransSeg val/mdice);',
    'MONAI = mean over classes per case, then over cases.',
  ].join('\n');
}
