// `transseg evaluate`: hand-computed Dice and HD95 for shifted predictions, perfect predictions,
// the report file's fields, splits, --remap, spacing units, the model mode against predict +
// --predictions, and errors that write no report.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate, spacingMm, type EvaluateReportFile } from '../src/cli/evaluate.js';
import { predict } from '../src/cli/predict.js';
import { splitCases } from '../src/data/dataset.js';
import type { IntensityReference } from '../src/data/intensity-reference.js';
import type { NiftiHeader } from '../src/io/nifti.js';
import { writeNiftiFile } from '../src/io/nifti-node.js';
import { writeSafetensorsFile } from '../src/io/safetensors-node.js';
import type { VitConfig } from '../src/model/config.js';
import { readWeights } from '../src/model/load-weights.js';
import type { SegmenterFileHeader } from '../src/model/model-file.js';
import { segmenterFileContents } from '../src/checkpoint/segmenter-file.js';
import { Segmenter } from '../src/model/segmenter.js';
import { testGpu } from './helpers/gpu.js';
import { reportError } from './helpers/report.js';
import { captureStderr } from './helpers/stderr.js';

// ---- tolerances ----

// The expected values are ratios of small integers (and one 0.5 mm distance); the metrics form
// them with a division or two in f64: within a couple of ulps.
const RATIO = 1e-15;

// ---- fixtures ----

const dir = mkdtempSync(join(tmpdir(), 'transseg-evaluate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const path = (...parts: string[]) => join(dir, ...parts);

const DIMS = [6, 6, 3];
const SPACING = [0.5, 2, 3];
const at = (x: number, y: number, z: number) => x + DIMS[0] * (y + DIMS[1] * z);

/** An axis-aligned header, voxel sizes `spacing` in the unit `xyztUnits` (2 = mm). */
function header(spacing: number[], xyztUnits = 2, dims = DIMS): NiftiHeader {
  return {
    format: 'nifti1', pair: false, littleEndian: true, dim: [3, ...dims, 1, 1, 1, 1], pixdim: [1, ...spacing, 1, 1, 1, 1],
    datatypeCode: 2, voxOffset: 352, sclSlope: 1, sclInter: 0, dimInfo: 0, intentCode: 0, intentName: '', xyztUnits,
    qformCode: 0, sformCode: 1, quatern: [0, 0, 0], qoffset: [0, 0, 0],
    srow: [spacing[0], 0, 0, 0, 0, spacing[1], 0, 0, 0, 0, spacing[2], 0], description: '',
  };
}

/** A label volume with `value` in the box [x0, x1] × [y0, y1] × {z}. */
function box(x0: number, x1: number, y0: number, y1: number, z: number, value = 1): Float32Array {
  const out = new Float32Array(DIMS[0] * DIMS[1] * DIMS[2]);
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) out[at(x, y, z)] = value;
  return out;
}

const writeLabels = (file: string, data: Float32Array) => writeNiftiFile(file, { dims: DIMS, data }, header(SPACING), { datatype: 'uint8' });

// Case A: organ 3×2 voxels; its prediction is shifted by one voxel (0.5 mm) along x.
// Case B: organ 2×2 voxels, predicted exactly. No case has a tumour.
const TRUTH = { A: box(1, 3, 1, 2, 1), B: box(0, 1, 0, 1, 2) };
const SHIFTED = { A: box(2, 4, 1, 2, 1), B: TRUTH.B };
const LABELS = { 0: 'background', 1: 'organ', 2: 'tumour' };

function datasetJson(extra: object): string {
  return JSON.stringify({ name: 'boxes', modality: { 0: 'CT' }, labels: LABELS, ...extra });
}

const pair = (id: string) => ({ image: `./images/${id}.nii.gz`, label: `./labels/${id}.nii.gz` });

beforeAll(async () => {
  for (const folder of ['images', 'labels', 'shifted', 'perfect']) mkdirSync(path(folder));
  for (const id of ['A', 'B'] as const) {
    const image = Float32Array.from(TRUTH[id], (v, i) => 200 * v + 30 * Math.sin(i));
    await writeNiftiFile(path('images', `${id}.nii.gz`), { dims: DIMS, data: image }, header(SPACING), { datatype: 'float32' });
    await writeLabels(path('labels', `${id}.nii.gz`), TRUTH[id]);
    await writeLabels(path('shifted', `${id}.nii.gz`), SHIFTED[id]);
    await writeLabels(path('perfect', `${id}.nii`), TRUTH[id]);
  }
  // A training list the validation cases are not part of, as `transseg train` leaves it.
  writeFileSync(path('dataset.json'), datasetJson({ training: [{ ...pair('A'), id: 'T' }], validation: [pair('A'), pair('B')] }));
});

function expectRatio(actual: number | null, expected: number, check: string): void {
  expect(actual, check).not.toBeNull();
  const error = Math.abs(actual! - expected);
  reportError('evaluate CLI', check, error, error / Math.abs(expected || 1));
  expect(error, check).toBeLessThanOrEqual(RATIO * Math.abs(expected || 1));
}

const readReport = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as EvaluateReportFile;

describe('transseg evaluate --predictions', () => {
  it('scores a known shift: global and per-case Dice, HD95 in mm', async () => {
    const report = path('shifted.json');
    const out = await evaluate(['--dataset', path('dataset.json'), '--predictions', path('shifted'), '--report', report]);
    expect(out).toMatch(/^class\s+global Dice\s+MONAI Dice \(n\)\s+HD95 mm \(n\)/);
    expect(out).toMatch(/organ\s+0\.8000\s+0\.8333 \(2\)\s+0\.25 \(2\)/);
    expect(out).toMatch(/tumour\s+n\/a\s+n\/a \(0\)\s+n\/a \(0\)/);
    expect(out).toMatch(/report written to .*shifted\.json$/);

    const r = readReport(report);
    expect(Object.keys(r)).toEqual(['dataset', 'split', 'model', 'predictions', 'remap', 'classes', 'means', 'cases']);
    expect([r.split, r.model, r.predictions, r.remap]).toEqual(['validation', null, path('shifted'), {}]);
    expect(r.classes.map((c) => c.name)).toEqual(['background', 'organ', 'tumour']);
    const [bg, organ, tumour] = r.classes;
    // Organ: I = 4 + 4, P = 6 + 4, G = 6 + 4. Case A: 2·4 / 12; case B: 1.
    expectRatio(organ.globalDice, 16 / 20, 'organ global Dice 16/20');
    expectRatio(organ.monaiDice, (2 / 3 + 1) / 2, 'organ MONAI Dice (2/3 + 1)/2');
    // Case A: every voxel is on the surface; the shifted column is 0.5 mm from the other mask.
    expectRatio(organ.hd95, 0.25, 'organ HD95 (0.5 + 0)/2 mm');
    expect([organ.monaiDiceCases, organ.hd95Cases]).toEqual([2, 2]);
    // Background: case A has 108 − 8 voxels outside both masks, case B 104.
    expectRatio(bg.globalDice, (2 * (100 + 104)) / (102 + 102 + 104 + 104), 'background global Dice 408/412');
    expectRatio(bg.monaiDice, (200 / 204 + 1) / 2, 'background MONAI Dice (200/204 + 1)/2');
    expect(bg.hd95).toBeNull();
    expect(tumour).toEqual({ name: 'tumour', globalDice: null, monaiDice: null, monaiDiceCases: 0, hd95: null, hd95Cases: 0 });
    expect(r.means.all.globalDice).toBeNull(); // TransSeg's plain mean: one NaN class makes it NaN
    expectRatio(r.means.foreground.monaiDice, 5 / 6, 'foreground MONAI mean 5/6');
    expectRatio(r.means.foreground.hd95, 0.25, 'foreground HD95 mean');
    expect(r.cases.map((c) => [c.name, c.spacing])).toEqual([['A', SPACING], ['B', SPACING]]);
    expect(r.cases[0].hd95).toEqual([null, 0.5, null]);
    expect(r.cases[1].dice).toEqual([1, 1, null]);
  });

  it('scores a dataset.json that lists the same cases in training and validation (a model trained on all)', async () => {
    writeFileSync(path('all.json'), datasetJson({ training: [pair('A'), pair('B')].map((p, k) => ({ ...p, id: 'AB'[k] })), validation: [{ ...pair('A'), id: 'A' }, { ...pair('B'), id: 'B' }] }));
    await evaluate(['--dataset', path('all.json'), '--predictions', path('perfect'), '--report', path('all-report.json')]);
    expect(readReport(path('all-report.json')).cases.map((c) => [c.name, c.dice[1]])).toEqual([['A', 1], ['B', 1]]);
    await evaluate(['--dataset', path('all.json'), '--predictions', path('perfect'), '--split', 'training', '--report', path('all-train.json')]);
    expect(readReport(path('all-train.json')).cases.map((c) => c.name)).toEqual(['A', 'B']);
  });

  it('gives Dice 1 and HD95 0 for predictions equal to the labels (.nii files found too)', async () => {
    const r = await evaluate(['--dataset', path('dataset.json'), '--predictions', path('perfect'), '--report', path('perfect.json')]);
    expect(r).toMatch(/organ\s+1\.0000\s+1\.0000 \(2\)\s+0\.00 \(2\)/);
    const { classes, means } = readReport(path('perfect.json'));
    expect(classes.slice(0, 2).map((c) => [c.globalDice, c.monaiDice])).toEqual([[1, 1], [1, 1]]);
    expect(classes[1].hd95).toBe(0);
    expect(means.foreground).toEqual({ globalDice: null, monaiDice: 1, hd95: 0 });
  });

  it('a seeded split without a validation list: the one `transseg train` makes', async () => {
    mkdirSync(path('split-preds'));
    const ids = ['c0', 'c1', 'c2', 'c3', 'c4'];
    for (const id of ids) await writeLabels(path('split-preds', `${id}.nii.gz`), TRUTH.A);
    writeFileSync(path('split.json'), datasetJson({ training: ids.map((id) => ({ ...pair('A'), id })) }));
    const names = async (split: string) => {
      await evaluate(['--dataset', path('split.json'), '--predictions', path('split-preds'), '--split', split, '--val-fraction', '0.4', '--seed', '7', '--report', path(`${split}.json`)]);
      return readReport(path(`${split}.json`)).cases.map((c) => c.name);
    };
    const [validation, training] = [await names('validation'), await names('training')];
    const expected = splitCases(ids, { fraction: 0.4, seed: 7 });
    expect(validation).toEqual(expected.validation);
    expect(training).toEqual(expected.train);
    expect([...validation, ...training].sort()).toEqual(ids);
  });

  it('--remap merges label values into classes, as in training', async () => {
    mkdirSync(path('remap'));
    const truth = box(1, 3, 1, 2, 1);
    truth.set(box(0, 1, 4, 5, 2, 2).map((v, i) => v || truth[i]));
    await writeLabels(path('remap', 'label.nii.gz'), truth);
    await writeLabels(path('remap', 'R.nii.gz'), truth.map((v) => Math.min(v, 1)));
    writeFileSync(path('remap', 'dataset.json'), datasetJson({ training: [], validation: [{ image: './label.nii.gz', label: './label.nii.gz', id: 'R' }] }));
    const merged = await evaluate(['--dataset', path('remap', 'dataset.json'), '--predictions', path('remap'), '--remap', '2:1']);
    expect(merged).toMatch(/organ \+ tumour\s+1\.0000\s+1\.0000 \(1\)\s+0\.00 \(1\)/);
    const plain = await evaluate(['--dataset', path('remap', 'dataset.json'), '--predictions', path('remap')]);
    expect(plain).toMatch(/tumour\s+0\.0000\s+0\.0000 \(1\)/);
    await expect(evaluate(['--dataset', path('remap', 'dataset.json'), '--predictions', path('remap'), '--remap', '2=1'])).rejects.toThrow(/--remap takes FROM:TO pairs/);
  });

  it('fails clearly, and writes no report', async () => {
    const report = path('never.json');
    const run = (...flags: string[]) => evaluate(['--dataset', path('dataset.json'), '--report', report, ...flags]);
    await expect(run('--predictions', path('shifted'), '--split', 'training')).rejects.toThrow(/--predictions .*shifted has no <id>\.nii\.gz or <id>\.nii for 1 of the 1 training cases: T$/);
    await expect(run()).rejects.toThrow(/give either --model M\.safetensors .* or --predictions DIR/);
    await expect(run('--predictions', path('shifted'), '--model', 'm.safetensors')).rejects.toThrow(/give either/);
    await expect(run('--predictions', path('shifted'), '--split', 'test')).rejects.toThrow(/--split must be 'validation' or 'training', got 'test'/);
    await expect(evaluate(['--dataset', path('missing.json'), '--predictions', path('shifted')])).rejects.toThrow(/^evaluate: cannot read the dataset file .*missing\.json: it does not exist \(or its folder does not\) \(ENOENT\)$/);

    mkdirSync(path('bad'));
    await writeLabels(path('bad', 'A.nii.gz'), box(0, 0, 0, 0, 0, 5));
    await writeNiftiFile(path('bad', 'B.nii.gz'), { dims: [6, 6, 2], data: new Float32Array(72) }, header(SPACING, 2, [6, 6, 2]), { datatype: 'uint8' });
    await expect(run('--predictions', path('bad'))).rejects.toThrow(/case A \(prediction: .*bad\/A\.nii\.gz; label: .*labels\/A\.nii\.gz\): DiceAccumulator\.add: prediction has label 5/);
    await writeLabels(path('bad', 'A.nii.gz'), TRUTH.A);
    await expect(run('--predictions', path('bad'))).rejects.toThrow(/bad\/B\.nii\.gz: grid 6×6×2, but the label .*labels\/B\.nii\.gz has 6×6×3/);
    expect(existsSync(report)).toBe(false);
  });
});

describe('spacingMm', () => {
  it('reads pixdim in the header\'s spatial unit and returns millimetres', () => {
    expect(spacingMm(header([0.5, 2, 3]))).toEqual([0.5, 2, 3]);
    expect(spacingMm(header([0.001, 0.002, 0.003], 1))).toEqual([1, 2, 3]); // metres
    expect(spacingMm(header([500, 1000, 2000], 3))).toEqual([0.5, 1, 2]); // micrometres
    expect(spacingMm(header([0.7, 0.7, 5], 0))).toEqual([0.7, 0.7, 5]); // unset: taken as mm
    expect(spacingMm(header([-0.7, 0.7, 5], 2 | 8))).toEqual([0.7, 0.7, 5]); // the time unit bits are ignored
  });
});

describe('transseg evaluate --model', () => {
  /** A tiny random segmenter for one CT channel and `labels` (the three classes by default). */
  async function writeModel(file: string, recorded: Pick<SegmenterFileHeader, 'validationCases'> & { remap?: Record<number, number>; intensityReference?: IntensityReference } = {}, labels = Object.values(LABELS)): Promise<void> {
    const config: VitConfig = {
      embedDim: 16, depth: 1, heads: 2, mlpHidden: 32, patchSize: 4, imageSize: [8, 8], inChannels: 1, depthSlices: 3,
      eps: 1e-6, qkvBias: true, layerScale: false, positionEmbedding: true, relativePositionBias: false, prefixTokens: 1,
      finalNorm: 'none', head: { kind: 'none' }, normalization: { mean: [0], std: [1] },
    };
    const segmenter = { classes: labels.length, decoder: 'convtrans', channels: 4 } as const;
    const model = new Segmenter(await testGpu(), 5, config, segmenter);
    const header: SegmenterFileHeader = {
      kind: 'segmenter', encoder: config, segmenter, labels, modalities: ['CT'],
      preprocessing: {
        intensity: { kind: 'clip', aMin: -50, aMax: 250 },
        ...(recorded.remap ? { remap: recorded.remap } : {}),
        ...(recorded.intensityReference ? { intensityReference: recorded.intensityReference } : {}),
      },
      ...(recorded.validationCases ? { validationCases: recorded.validationCases } : {}), provenance: {},
    };
    const { tensors, metadata } = segmenterFileContents(header, await readWeights(model));
    model.dispose();
    await writeSafetensorsFile(file, tensors, metadata);
  }

  it('scores what `transseg predict` writes for the same cases', async () => {
    const model = path('model.safetensors');
    await writeModel(model);
    await evaluate(['--dataset', path('dataset.json'), '--model', model, '--batch-size', '2', '--report', path('model.json')]);
    await predict(['--model', model, '--input', path('images'), '--output', path('predicted')]);
    await evaluate(['--dataset', path('dataset.json'), '--predictions', path('predicted'), '--report', path('files.json')]);
    const fromModel = readReport(path('model.json'));
    const fromFiles = readReport(path('files.json'));
    expect(fromModel.model).toBe(model);
    expect({ ...fromModel, model: null, predictions: null }).toEqual({ ...fromFiles, model: null, predictions: null });
    await expect(evaluate(['--dataset', path('dataset.json'), '--model', model, '--remap', '2:1']))
      .rejects.toThrow(/the model .*model\.safetensors has 3 classes \(background, organ, tumour\); .*dataset\.json declares 2 \(background, organ \+ tumour\) after --remap/);
  });

  it('warns once per case and channel when a scan\'s intensities are unlike the training scans\', and still scores it', async () => {
    // Both images clip-scale to a median near 0.17 (background 30·sin around 0, the organ near 200):
    // one model saw medians of 0.95 (0.9 to 0.99), the other 0.5 (0 to 1).
    const far = path('far.safetensors');
    const near = path('near.safetensors');
    await writeModel(far, { intensityReference: { p1: [0.9], median: [0.95], p99: [0.99] } });
    await writeModel(near, { intensityReference: { p1: [0], median: [0.5], p99: [1] } });
    const run = async (model: string, report: string) => {
      const { lines } = await captureStderr(() => evaluate(['--dataset', path('dataset.json'), '--model', model, '--report', path(report)]));
      return lines.filter((l) => l.startsWith('warning: '));
    };
    const warned = await run(far, 'far.json');
    expect(warned).toEqual(['A', 'B'].map((id) => expect.stringMatching(new RegExp(
      `^warning: ${id}: CT has a median of 0\\.\\d+ inside the scan after --intensity clip:-50,250, outside the training scans' 1–99 % range \\(0\\.9 to 0\\.99, median 0\\.95\\)`,
    ))));
    expect(readReport(path('far.json')).cases.map((c) => c.name)).toEqual(['A', 'B']);
    expect(await run(near, 'near.json')).toEqual([]);
  });

  it('uses the label remap and the validation cases the model file records', async () => {
    const ids = ['c0', 'c1', 'c2', 'c3', 'c4'];
    writeFileSync(path('recorded.json'), datasetJson({ training: ids.map((id) => ({ ...pair('A'), id })) }));
    const model = path('recorded.safetensors');
    await writeModel(model, { remap: { 2: 1 }, validationCases: ['c3', 'c1'] }, ['background', 'organ + tumour']);
    await evaluate(['--dataset', path('recorded.json'), '--model', model, '--report', path('recorded-report.json')]);
    const report = readReport(path('recorded-report.json'));
    expect(report.remap).toEqual({ 2: 1 });
    expect(report.classes.map((c) => c.name)).toEqual(['background', 'organ + tumour']);
    expect(report.cases.map((c) => c.name)).toEqual(['c1', 'c3']); // in dataset order
    // An explicit seeded split overrides the recorded one.
    await evaluate(['--dataset', path('recorded.json'), '--model', model, '--val-fraction', '0.4', '--seed', '7', '--report', path('seeded-report.json')]);
    expect(readReport(path('seeded-report.json')).cases.map((c) => c.name)).toEqual(splitCases(ids, { fraction: 0.4, seed: 7 }).validation);
    // A recorded case the dataset lacks: the model came from another dataset.
    await writeModel(path('foreign.safetensors'), { remap: { 2: 1 }, validationCases: ['elsewhere'] }, ['background', 'organ + tumour']);
    await expect(evaluate(['--dataset', path('recorded.json'), '--model', path('foreign.safetensors')]))
      .rejects.toThrow(/foreign\.safetensors was validated on cases this dataset's training list lacks \(elsewhere\)/);
  });
});
