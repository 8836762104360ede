// `transseg evaluate --dataset dataset.json --model M` (or `--predictions DIR`): scores a model, or
// prediction files made earlier, on the labelled cases of one split of a dataset. Per class: the
// paper's global Dice (one 2I/(P+G) over all slices of all cases), MONAI's Dice averaged over
// cases, and HD95 in millimetres (src/evaluation/metrics.ts); printed as a table, and written as JSON
// with --report. See docs/cli.md.
//
// Spacing for HD95: pixdim[1..3] of each case's label file (nibabel's get_zooms, the `pixdim` that
// MONAI pipelines pass as `spacing`), converted to mm by the header's spatial unit (m, µm; an
// unset unit is taken as mm). For an oblique sform whose columns disagree with pixdim, pixdim wins.

import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { defineCommand, parseFlags } from './flag-table.js';
import { parseRemap, positiveInteger, required } from './flags.js';
import { remapLabels, remapLabelValues, splitCases, type Dataset, type DatasetCase, type LabelRemap } from '../data/dataset.js';
import { readDatasetFile } from '../data/load-node.js';
import { loadCase } from '../data/volume.js';
import { Gpu } from '../gpu/gpu.js';
import { writeFileAtomically } from '../io/atomic-write.js';
import type { NiftiHeader } from '../io/nifti.js';
import { readNiftiFile } from '../io/nifti-node.js';
import { predictVolume } from '../infer/predict.js';
import { inputWarnings, modelPredictOptions } from '../infer/predict-file.js';
import type { LoadedSegmenter } from '../checkpoint/segmenter-file.js';
import { classHausdorff95, DiceAccumulator, type LabelVolume, type Vec3 } from '../evaluation/metrics.js';
import { evaluationReport, formatTable, type CaseMetrics, type EvaluationReport } from '../evaluation/report.js';
import { checkOutputFile, loadSegmenterFile } from './predict.js';
import { ProgressLine } from './progress.js';

/** The JSON written by --report: where the numbers come from, then the evaluation report. */
export interface EvaluateReportFile extends Omit<EvaluationReport, 'cases'> {
  dataset: string;
  split: 'validation' | 'training';
  /** The model file scored, or null with --predictions. */
  model: string | null;
  /** The prediction folder scored, or null with --model. */
  predictions: string | null;
  remap: LabelRemap;
  /** Per case: its id, MONAI Dice and HD95 per class (null: nothing to score) and the spacing used (mm). */
  cases: (EvaluationReport['cases'][number] & { spacing: number[] })[];
}

/** Millimetres per unit of NIfTI's xyzt_units spatial code (bits 0–2); 0 (unset) is read as mm. */
const MM_PER_UNIT: Record<number, number> = { 0: 1, 1: 1000, 2: 1, 3: 0.001 };

/** The voxel size in mm (see the top of the file). */
export function spacingMm(header: NiftiHeader): Vec3 {
  const perUnit = MM_PER_UNIT[header.xyztUnits & 7] ?? 1;
  const [x, y, z] = [1, 2, 3].map((k) => Math.abs(header.pixdim[k]) * perUnit);
  return [x, y, z];
}

/**
 * The split `transseg train` used: the dataset's `validation` list; else the validation cases the
 * model file records; else (or with --val-fraction/--seed given) a seeded split of `training`.
 */
function splitOf(dataset: Dataset, split: 'validation' | 'training', recorded: string[] | undefined, seeded: { fraction: number; seed: number } | null, modelPath: string | undefined): DatasetCase[] {
  let parts: { train: DatasetCase[]; validation: DatasetCase[] };
  if (dataset.validation?.length) parts = { train: dataset.training, validation: dataset.validation };
  else if (recorded && !seeded) {
    const ids = new Set(dataset.training.map((c) => c.id));
    const unknown = recorded.filter((id) => !ids.has(id));
    if (unknown.length > 0) {
      throw new Error(`evaluate: the model ${modelPath} was validated on cases this dataset's training list lacks (${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}); was it trained on another dataset? Give --val-fraction and --seed to split this one`);
    }
    const chosen = new Set(recorded);
    parts = { train: dataset.training.filter((c) => !chosen.has(c.id)), validation: dataset.training.filter((c) => chosen.has(c.id)) };
  } else parts = splitCases(dataset.training, seeded ?? { fraction: 0.2, seed: 1234 });
  return split === 'validation' ? parts.validation : parts.train;
}

/** The prediction file of a case: <id>.nii.gz, else <id>.nii, in the folder. */
async function findPrediction(folder: string, id: string): Promise<string | null> {
  for (const name of [`${id}.nii.gz`, `${id}.nii`]) {
    const path = join(folder, name);
    if (await access(path).then(() => true, () => false)) return path;
  }
  return null;
}

/** A case's prediction, its truth and the truth's header. */
interface ScoredCase {
  prediction: LabelVolume;
  truth: LabelVolume;
  dims: Vec3;
  labelHeader: NiftiHeader;
}

/** Runs the model on a case (image read, windows predicted, back on the label's grid). */
async function predictCase(loaded: LoadedSegmenter, entry: DatasetCase, remap: LabelRemap, batchSize: number, raw: boolean, onProgress: (done: number, total: number) => void): Promise<ScoredCase> {
  const headers = new Map<string, NiftiHeader>();
  const volume = await loadCase(entry, async (path) => {
    const v = await readNiftiFile(path);
    headers.set(path, v.header);
    return v;
  }, { remap });
  const recorded = modelPredictOptions(loaded.header);
  for (const line of inputWarnings(loaded.header, volume)) process.stderr.write(`warning: ${line}\n`);
  const options = raw ? { ...recorded, flips: undefined, postprocess: undefined } : recorded;
  const { labels } = await predictVolume(loaded.model, volume, { ...options, batchSize, onProgress });
  return { prediction: labels, truth: volume.label!, dims: volume.dims, labelHeader: headers.get(entry.label)! };
}

/** Reads a prediction file and the case's label; they must share a 3-D grid. */
async function readPredictionCase(path: string, entry: DatasetCase, remap: LabelRemap): Promise<ScoredCase> {
  const [prediction, truth] = [await readNiftiFile(path), await readNiftiFile(entry.label)];
  for (const [file, v] of [[path, prediction], [entry.label, truth]] as const) {
    if (v.dims.slice(3).some((d) => d !== 1)) throw new Error(`${file}: a label map must be 3-D, got dims ${v.dims.join('×')}`);
  }
  if ([0, 1, 2].some((k) => prediction.dims[k] !== truth.dims[k])) {
    throw new Error(`${path}: grid ${prediction.dims.slice(0, 3).join('×')}, but the label ${entry.label} has ${truth.dims.slice(0, 3).join('×')}`);
  }
  const dims: Vec3 = [truth.dims[0], truth.dims[1], truth.dims[2]];
  return { prediction: prediction.data, truth: remapLabelValues(truth.data, remap), dims, labelHeader: truth.header };
}

export const EVALUATE_COMMAND = defineCommand({
  name: 'evaluate',
  summary: 'Dice and HD95 (mm) per class on a labelled split',
  description: 'Global and per-case Dice and HD95 (mm) per class on a labelled split of a dataset, from a model or from prediction files made earlier.',
  synopsis: '--dataset dataset.json (--model M | --predictions DIR) [options]',
  flags: [
    { name: 'dataset', value: 'FILE', help: 'the dataset.json' },
    { name: 'model', value: 'FILE', help: 'a model file: predict each case (as transseg predict does), then score' },
    { name: 'predictions', value: 'DIR', help: "score the files DIR/<case id>.nii.gz (or .nii), on the labels' grids, without a model" },
    { name: 'split', value: 'NAME', default: 'validation', help: "validation or training: the dataset's validation list and training, or, without a validation list, the seeded split of training that train makes" },
    { name: 'val-fraction', value: 'F', shownDefault: "the model's split", help: 'with either this or --seed, a seeded split of training (0.2 and 1234 as in train) instead of the validation cases the model file records' },
    { name: 'seed', value: 'N', shownDefault: "the model's split", help: 'the seed of that split' },
    { name: 'remap', value: 'FROM:TO,...', shownDefault: "the model's", help: 'label merges such as 1:1,2:1,3:1; with --model, the remap recorded in the model file unless given' },
    { name: 'batch-size', value: 'N', default: '8', help: 'windows per forward pass (with --model)' },
    { name: 'report', value: 'FILE', shownDefault: 'none', help: 'the JSON report to write' },
    { name: 'raw', help: "score the model without the test-time flips and post-processing its file records (--model only)" },
  ],
});

export async function evaluate(argv: string[]): Promise<string> {
  const { values } = parseFlags(EVALUATE_COMMAND, argv);
  const datasetPath = required(values.dataset, 'dataset', 'evaluate');
  if ((values.model === undefined) === (values.predictions === undefined)) {
    throw new Error('evaluate: give either --model M.safetensors (predict, then score) or --predictions DIR (score existing files)');
  }
  const split = values.split;
  if (split !== 'validation' && split !== 'training') throw new Error(`evaluate: --split must be 'validation' or 'training', got '${split}'`);
  // An explicit --val-fraction or --seed asks for a seeded split (defaults 0.2 and 1234, as train's).
  const seeded = values['val-fraction'] !== undefined || values.seed !== undefined
    ? { fraction: Number(values['val-fraction'] ?? '0.2'), seed: Number(values.seed ?? '1234') } : null;
  if (seeded && !(seeded.fraction > 0 && seeded.fraction < 1)) throw new Error(`evaluate: --val-fraction must be in (0, 1), got '${values['val-fraction']}'`);
  if (seeded && !(Number.isInteger(seeded.seed) && seeded.seed >= 0)) throw new Error(`evaluate: --seed must be an integer >= 0, got '${values.seed}'`);
  const batchSize = positiveInteger(values['batch-size'], 'batch-size', 'evaluate');
  const flagRemap = values.remap ? parseRemap(values.remap, 'evaluate') : undefined;
  if (values.raw && values.model === undefined) throw new Error('evaluate: --raw (no flips, no post-processing) applies to --model');
  if (values.report !== undefined) await checkOutputFile(values.report, 'report', 'evaluate');

  const dataset = await readDatasetFile(datasetPath).catch((e: Error) => { throw new Error(`evaluate: ${e.message}`); });
  const gpu = values.model !== undefined ? await Gpu.create() : null;
  try {
    const loaded = gpu ? await loadSegmenterFile(gpu, values.model!, 'evaluate') : null;
    try {
      // The model file records the label remap and the validation cases of its training run.
      const remap = flagRemap ?? loaded?.header.preprocessing.remap ?? {};
      const classNames = Object.values(remapLabels(dataset.labels, remap));
      const cases = splitOf(dataset, split, loaded?.header.validationCases, seeded, values.model);
      if (cases.length === 0) throw new Error(`evaluate: ${datasetPath} has no ${split} cases`);

      const predictionFiles = new Map<string, string>();
      if (values.predictions !== undefined) {
        const missing: string[] = [];
        for (const c of cases) {
          const path = await findPrediction(values.predictions, c.id);
          if (path) predictionFiles.set(c.id, path);
          else missing.push(c.id);
        }
        if (missing.length > 0) {
          throw new Error(`evaluate: --predictions ${values.predictions} has no <id>.nii.gz or <id>.nii for ${missing.length} of the ${cases.length} ${split} cases: ${missing.join(', ')}`);
        }
      }
      if (loaded && loaded.model.classes !== classNames.length) {
        throw new Error(`evaluate: the model ${values.model} has ${loaded.model.classes} classes (${loaded.header.labels.join(', ')}); ${datasetPath} declares ${classNames.length} (${classNames.join(', ')})${flagRemap ? ' after --remap' : Object.keys(remap).length ? ' after the model\'s recorded remap' : '; was it trained with --remap?'}`);
      }
      const dice = new DiceAccumulator(classNames.length);
      const perCase: CaseMetrics[] = [];
      const spacings: number[][] = [];
      for (const [i, c] of cases.entries()) {
        const progress = new ProgressLine(`evaluate ${c.id} (${i + 1}/${cases.length})`);
        const scored = loaded
          ? await predictCase(loaded, c, remap, batchSize, Boolean(values.raw), (done, total) => progress.update(done, total, 'slices'))
          : await readPredictionCase(predictionFiles.get(c.id)!, c, remap);
        const spacing = spacingMm(scored.labelHeader);
        try {
          const caseDice = dice.add(scored.prediction, scored.truth);
          perCase.push({ name: c.id, dice: caseDice, hd95: classHausdorff95(scored.prediction, scored.truth, classNames.length, scored.dims, spacing) });
        } catch (e) {
          const prediction = predictionFiles.get(c.id) ?? `the prediction of ${values.model}`;
          throw new Error(`evaluate: case ${c.id} (prediction: ${prediction}; label: ${c.label}): ${(e as Error).message}`);
        }
        spacings.push([...spacing]);
        if (!loaded) progress.update(1, 1, 'scored');
      }
      const report = evaluationReport({ classNames, perCase, global: { dice: dice.globalDice() } });
      const table = formatTable(report);
      if (values.report === undefined) return table;
      const file: EvaluateReportFile = {
        dataset: datasetPath,
        split,
        model: values.model ?? null,
        predictions: values.predictions ?? null,
        remap,
        classes: report.classes,
        means: report.means,
        cases: report.cases.map((c, k) => ({ ...c, spacing: spacings[k] })),
      };
      await writeFileAtomically(values.report, (f) => f.writeFile(`${JSON.stringify(file, null, 2)}\n`));
      return `${table}\n\nreport written to ${values.report}`;
    } finally {
      loaded?.model.dispose();
    }
  } finally {
    gpu?.destroy();
  }
}
