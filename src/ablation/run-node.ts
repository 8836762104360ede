// Runs an ablation (Node): every chosen setting with every seed, each a normal training run
// (prepareRun + Trainer, as `transseg train`) in its own folder, then the statistics, the table
// and the plot. Seed k is the run's settings.seed: the decoder's (and, from scratch, the
// encoder's) initialisation, the sample order, augmentation and dropout. The data and the
// validation cases are the same for every run (a dataset without a `validation` list is split
// once, with splitSeed). Each run is validated once, after its last step, and scored on those
// cases: no checkpoint is chosen on the cases it is scored on.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Gpu } from '../gpu/gpu.js';
import { writeFileAtomically } from '../io/atomic-write.js';
import { resolveWeights } from '../checkpoint/hub-node.js';
import { readSafetensorsHeader } from '../io/safetensors-node.js';
import { readModelFileHeader } from '../model/model-file.js';
import { prepareRun, type RunOptions } from '../train/setup-node.js';
import type { Progress } from '../train/trainer.js';
import { ablationMarkdown } from './report.js';
import { ablationSvg } from './plot.js';
import { ABLATION_COMPARISONS, type AblationSetting } from './settings.js';
import { pairedDifference, summarise, type PairedDifference, type Summary } from './stats.js';

export interface AblationRun {
  setting: string;
  seed: number;
  /** The score: mean over foreground classes of the paper's global Dice on the validation cases. */
  score: number;
  /** Global Dice per class, background first. */
  dice: number[];
  trainSeconds: number;
  folder: string;
}

export interface AblationResult {
  dataset: string;
  weights: string;
  metric: string;
  classes: string[];
  validationCases: string[];
  seeds: number[];
  settings: (AblationSetting & { scores: number[]; summary: Summary; perClass: Summary[] })[];
  comparisons: ({ a: string; b: string } & PairedDifference)[];
  runs: AblationRun[];
}

export interface AblationOptions {
  /** The run options shared by every run; `out`, the seed and what a setting sets are replaced. */
  base: RunOptions;
  settings: readonly AblationSetting[];
  seeds: readonly number[];
  /** The ablation's folder: runs/<setting>-seed<k>/, ablation.json, ablation.md, ablation.svg. */
  out: string;
  /** Before each run: its index (0-based), the number of runs, its setting and seed. */
  onRun?: (index: number, total: number, setting: AblationSetting, seed: number) => void;
  onProgress?: (p: Progress) => void;
  log?: (line: string) => void;
}

export const ABLATION_METRIC = 'mean foreground Dice (the paper\'s global Dice over all validation slices, averaged over foreground classes)';

/** The 2-D checkpoint every setting starts from; an inflated encoder cannot serve all four. */
async function checkWeights(path: string | undefined, offline: boolean | undefined): Promise<string> {
  if (!path) throw new Error('ablation: --weights (a 2-D checkpoint) is required: three of the settings are pre-trained, and w/o T&D takes its architecture');
  const { path: local } = await resolveWeights(path, { offline }); // hf: references too, as train takes them
  if (readModelFileHeader((await readSafetensorsHeader(local)).metadata, path)) {
    throw new Error(`ablation: --weights ${path} is one of our model files; give the 2-D checkpoint it came from (the settings inflate it with centering, with inflation, and not at all)`);
  }
  return path;
}

export async function runAblation(gpu: Gpu, o: AblationOptions): Promise<AblationResult> {
  if (o.seeds.length === 0 || o.settings.length === 0) throw new Error('ablation: need at least one seed and one setting');
  const weights = await checkWeights(o.base.weights, o.base.offline);
  await mkdir(join(o.out, 'runs'), { recursive: true });
  const runs: AblationRun[] = [];
  let classes: string[] = [];
  let validationCases: string[] = [];
  const total = o.settings.length * o.seeds.length;
  // Seed-major order: the runs of one seed (a pair across settings) finish together.
  for (const seed of o.seeds) {
    for (const setting of o.settings) {
      o.onRun?.(runs.length, total, setting, seed);
      const folder = join(o.out, 'runs', `${setting.id}-seed${seed}`);
      const steps = o.base.settings.steps;
      const run = await prepareRun(gpu, {
        ...o.base, ...setting.options, out: folder, resume: false,
        splitSeed: o.base.splitSeed ?? o.base.settings.seed ?? o.seeds[0],
        settings: { ...o.base.settings, seed, validateEvery: steps },
      }, o.log);
      const started = performance.now();
      try {
        if (run.validation.length === 0) throw new Error(`ablation: ${o.base.dataset} leaves no validation cases to score the runs on`);
        await run.trainer.run(o.onProgress);
      } finally {
        run.trainer.dispose();
        run.model.dispose();
      }
      const final = run.trainer.bestValidation!; // validated once, at the last step
      classes = run.header.labels;
      validationCases = run.header.validationCases ?? [];
      const foreground = final.dice.slice(1);
      runs.push({
        setting: setting.id, seed, dice: final.dice, folder, trainSeconds: (performance.now() - started) / 1000,
        score: foreground.reduce((s, v) => s + v, 0) / foreground.length,
      });
    }
  }
  return summariseAblation(runs, o.settings, o.seeds, { dataset: o.base.dataset, weights, classes, validationCases });
}

/** The statistics of finished runs: per setting, and the paired comparisons whose settings both ran. */
export function summariseAblation(
  runs: readonly AblationRun[], settings: readonly AblationSetting[], seeds: readonly number[],
  about: Pick<AblationResult, 'dataset' | 'weights' | 'classes' | 'validationCases'>,
): AblationResult {
  const of = (id: string) => seeds.map((seed) => runs.find((r) => r.setting === id && r.seed === seed)!);
  const rows = settings.map((s) => {
    const mine = of(s.id);
    return {
      ...s,
      scores: mine.map((r) => r.score),
      summary: summarise(mine.map((r) => r.score)),
      perClass: mine[0].dice.map((_, c) => summarise(mine.map((r) => r.dice[c]))),
    };
  });
  const ran = new Set(settings.map((s) => s.id));
  const comparisons = ABLATION_COMPARISONS.filter(([a, b]) => ran.has(a) && ran.has(b)).map(([a, b]) => ({
    a, b, ...pairedDifference(of(a).map((r) => r.score), of(b).map((r) => r.score)),
  }));
  return { ...about, metric: ABLATION_METRIC, seeds: [...seeds], settings: rows, comparisons, runs: [...runs] };
}

/** ablation.json, ablation.md and ablation.svg in `out`; returns the markdown. */
export async function writeAblation(out: string, result: AblationResult): Promise<string> {
  const markdown = ablationMarkdown(result);
  await writeFileAtomically(join(out, 'ablation.json'), (f) => f.writeFile(`${JSON.stringify(result, null, 2)}\n`));
  await writeFileAtomically(join(out, 'ablation.md'), (f) => f.writeFile(markdown));
  await writeFileAtomically(join(out, 'ablation.svg'), (f) => f.writeFile(ablationSvg(result)));
  return markdown;
}
