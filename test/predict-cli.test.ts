// `transseg predict` end to end with a tiny random segmenter saved as a model file: labels and
// probabilities in the input's exact geometry and equal to predictVolume's, overlays, the folder,
// multi-modal and dataset.json inputs, and errors that leave no output behind.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predict } from '../src/cli/predict.js';
import type { IntensityReference } from '../src/data/intensity-reference.js';
import { loadCaseFile } from '../src/data/load-node.js';
import type { NiftiVolume } from '../src/io/nifti.js';
import { readNiftiFile, writeNiftiFile } from '../src/io/nifti-node.js';
import { decodePng } from '../src/io/png.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../src/io/safetensors-node.js';
import { mostForegroundSlices } from '../src/infer/overlay.js';
import { predictVolume } from '../src/infer/predict.js';
import type { VitConfig } from '../src/model/config.js';
import { readWeights } from '../src/model/load-weights.js';
import { modelFileMetadata, type SegmenterFileHeader } from '../src/model/model-file.js';
import { segmenterFileContents, segmenterFromFile } from '../src/checkpoint/segmenter-file.js';
import { Segmenter } from '../src/model/segmenter.js';
import { testGpu } from './helpers/gpu.js';
import { reportError } from './helpers/report.js';
import { captureStderr } from './helpers/stderr.js';
import { obliqueHeader } from './helpers/oblique.js';

// ---- tolerances ----

// Probabilities are a softmax computed in f64 and stored as f32, then resized bilinearly with
// weights summing to 1 (in f32): each voxel's K = 3 values sum to 1 within a few f32 ulps.
const SUM_TOL = 1e-5;

// ---- fixtures ----

const dir = mkdtempSync(join(tmpdir(), 'transseg-predict-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const path = (...parts: string[]) => join(dir, ...parts);

/** A tiny encoder: E 16, one block, patch 4 on 8×8, windows of 3 slices. */
const tinyConfig = (inChannels: number): VitConfig => ({
  embedDim: 16, depth: 1, heads: 2, mlpHidden: 32, patchSize: 4, imageSize: [8, 8], inChannels, depthSlices: 3,
  eps: 1e-6, qkvBias: true, layerScale: false, positionEmbedding: true, relativePositionBias: false, prefixTokens: 1,
  finalNorm: 'none', head: { kind: 'none' }, normalization: { mean: [0], std: [1] },
});

const CLASSES = ['background', 'organ', 'tumour'];

/** Builds a random segmenter and saves it as a model file; returns its header. */
async function writeModel(file: string, modalities: string[], intensityReference?: IntensityReference): Promise<SegmenterFileHeader> {
  const gpu = await testGpu();
  const header: SegmenterFileHeader = {
    kind: 'segmenter', encoder: tinyConfig(modalities.length), segmenter: { classes: CLASSES.length, decoder: 'convtrans', channels: 4 },
    labels: CLASSES, modalities, preprocessing: { intensity: { kind: 'clip', aMin: -100, aMax: 300 }, ...(intensityReference ? { intensityReference } : {}) },
    provenance: { test: true },
  };
  const model = new Segmenter(gpu, 11 + modalities.length, header.encoder, header.segmenter);
  const weights = await readWeights(model);
  model.dispose();
  const { tensors, metadata } = segmenterFileContents(header, weights);
  await writeSafetensorsFile(file, tensors, metadata);
  return header;
}

const oblique = (dims: number[]) => obliqueHeader(dims, [0.9, 1.1, 2.5], 16);

/** A smooth CT-like volume in [-150, 350] (beyond the clip range on both sides). */
function volumeData(voxels: number, seed: number): Float32Array {
  return Float32Array.from({ length: voxels }, (_, i) => 100 + 250 * Math.sin(0.37 * i + seed) * Math.cos(0.11 * i * seed));
}

async function writeImage(file: string, dims: number[], seed: number): Promise<Float32Array> {
  const data = volumeData(dims.reduce((a, b) => a * b, 1), seed);
  await writeNiftiFile(file, { dims, data }, oblique(dims), { datatype: 'float32' });
  return data;
}

/** Everything that places a volume in the world. */
function expectSameGeometry(out: NiftiVolume, input: NiftiVolume): void {
  expect(out.dims.slice(0, 3)).toEqual(input.dims.slice(0, 3));
  expect(out.affine).toEqual(input.affine);
  expect(out.pixdim.slice(0, 3)).toEqual(input.pixdim.slice(0, 3));
  expect([out.qformCode, out.sformCode]).toEqual([input.qformCode, input.sformCode]);
  const h = (v: NiftiVolume) => ({ pixdim0: v.header.pixdim[0], quatern: v.header.quatern, qoffset: v.header.qoffset, srow: v.header.srow, units: v.header.xyztUnits, dimInfo: v.header.dimInfo });
  expect(h(out)).toEqual(h(input));
}

/** predictVolume on the file's model and the case's files, in this process. */
async function reference(modelFile: string, image: string[]): Promise<{ labels: Float32Array; probabilities: Float32Array }> {
  const gpu = await testGpu();
  const { model, header } = segmenterFromFile(gpu, await readSafetensorsFile(modelFile), modelFile);
  try {
    const volume = await loadCaseFile({ image });
    const p = await predictVolume(model, volume, { intensity: header.preprocessing.intensity, probabilities: true });
    return { labels: p.labels, probabilities: p.probabilities! };
  } finally {
    model.dispose();
  }
}

const DIMS = [7, 5, 4]; // not a multiple of the model's 8×8, and 4 slices: batches of 3 leave 1
const MODEL1 = path('ct.safetensors');
const MODEL2 = path('brain.safetensors');
const IMAGE = path('in', 'case.nii.gz');

beforeAll(async () => {
  mkdirSync(path('in'));
  await writeModel(MODEL1, ['CT']);
  await writeModel(MODEL2, ['FLAIR', 'T1c']);
  await writeImage(IMAGE, DIMS, 1);
});

/** Files under a folder (none when it does not exist). */
const filesIn = (folder: string) => (existsSync(folder) ? readdirSync(folder).sort() : []);

describe('transseg predict', () => {
  it('one file: labels and probabilities in the input geometry, equal to predictVolume', async () => {
    const out = path('single', 'case_seg.nii.gz');
    const probs = path('single', 'case_prob.nii');
    mkdirSync(path('single'));
    const summary = await predict(['--model', MODEL1, '--input', IMAGE, '--output', out, '--probabilities', probs, '--batch-size', '3', '--overlay', path('single', 'overlays')]);
    expect(summary).toMatch(/^predicted 1 case \(4 slices\) in [\d.]+ s: labels \(uint8\) in .*case_seg\.nii\.gz, probabilities in .*case_prob\.nii, 3 overlays in /);

    const input = await readNiftiFile(IMAGE);
    const labels = await readNiftiFile(out);
    expect(labels.datatype).toBe('uint8');
    expect(labels.dims).toEqual(DIMS);
    expectSameGeometry(labels, input);
    const want = await reference(MODEL1, [IMAGE]);
    expect([...labels.data]).toEqual([...want.labels]);
    expect(new Set(labels.data).size).toBeGreaterThan(1); // the random model does not predict one class everywhere
    expect([...labels.data].every((v) => Number.isInteger(v) && v >= 0 && v < CLASSES.length)).toBe(true);

    const p = await readNiftiFile(probs);
    expect(p.datatype).toBe('float32');
    expect(p.dims).toEqual([...DIMS, CLASSES.length]);
    expectSameGeometry(p, input);
    expect([...p.data]).toEqual([...want.probabilities]);
    const n = labels.data.length;
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const values = CLASSES.map((_, c) => p.data[c * n + i]);
      worst = Math.max(worst, Math.abs(values.reduce((a, b) => a + b, 0) - 1));
      expect(labels.data[i], `voxel ${i}: the label is the most probable class`).toBe(values.indexOf(Math.max(...values)));
    }
    reportError('predict CLI', 'probabilities sum to 1 per voxel (7×5×4, K 3)', worst, worst);
    expect(worst).toBeLessThanOrEqual(SUM_TOL);

    const auto = mostForegroundSlices(labels.data, [7, 5, 4]);
    expect(filesIn(path('single', 'overlays'))).toEqual(auto.flatMap((k) => [`case_slice${k}.png`, `case_slice${k}.svg`]).sort());
    // 7×5 voxels drawn as 37×37-pixel squares: the longer side reaches 256 (7 · 37 = 259).
    const png = await decodePng(readFileSync(path('single', 'overlays', `case_slice${auto[0]}.png`)), 'overlay');
    expect(png.width * png.height).toBe(35 * 37 * 37);
    const figure = readFileSync(path('single', 'overlays', `case_slice${auto[0]}.svg`), 'utf8');
    expect(figure).toContain('image-rendering: pixelated');
    expect(figure).toMatch(/<text [^>]*>legend<\/text>/);
  });

  it('warns, naming the case and channel, when a scan\'s intensities are unlike the training scans\' (and still predicts)', async () => {
    // The image's voxels clip-scale to a median of about 0.5; one model saw 0.9–0.99, the other 0–1.
    mkdirSync(path('warn'));
    const far = path('far.safetensors');
    const near = path('near.safetensors');
    await writeModel(far, ['CT'], { p1: [0.9], median: [0.95], p99: [0.99] });
    await writeModel(near, ['CT'], { p1: [0], median: [0.5], p99: [1] });
    const run = async (model: string, out: string) => {
      const { value: summary, lines } = await captureStderr(() => predict(['--model', model, '--input', IMAGE, '--output', path('warn', out)]));
      return { summary, warnings: lines.filter((l) => l.startsWith('warning: ')) };
    };
    const warned = await run(far, 'far.nii.gz');
    expect(warned.warnings).toEqual([
      expect.stringMatching(/^warning: case: CT has a median of 0\.\d+ inside the scan after --intensity clip:-100,300, outside the training scans' 1–99 % range \(0\.9 to 0\.99, median 0\.95\): its intensities are not on the scale the model was trained on/),
    ]);
    expect(warned.summary).toMatch(/; 1 case with intensities unlike the training scans' \(warnings above\)$/);
    expect(existsSync(path('warn', 'far.nii.gz'))).toBe(true);
    const quiet = await run(near, 'near.nii.gz');
    expect(quiet.warnings).toEqual([]);
    expect(quiet.summary).not.toMatch(/warnings above/);
  });

  it('--slices picks the overlay slices', async () => {
    const out = path('slices', 'case.nii.gz');
    mkdirSync(path('slices'));
    await predict(['--model', MODEL1, '--input', IMAGE, '--output', out, '--overlay', path('slices', 'png'), '--slices', '3,0']);
    expect(filesIn(path('slices', 'png'))).toEqual(['case_slice0.png', 'case_slice0.svg', 'case_slice3.png', 'case_slice3.svg']);
  });

  it('a folder of cases and a dataset.json test list, into output folders', async () => {
    const folder = path('cases');
    mkdirSync(folder);
    await writeImage(join(folder, 'a.nii.gz'), DIMS, 2);
    await writeImage(join(folder, 'b.nii'), [6, 9, 2], 3);
    writeFileSync(join(folder, 'notes.txt'), 'not a volume');
    const summary = await predict(['--model', MODEL1, '--input', folder, '--output', path('out-folder')]);
    expect(summary).toMatch(/^predicted 2 cases \(6 slices\)/);
    expect(filesIn(path('out-folder'))).toEqual(['a.nii.gz', 'b.nii.gz']);
    const b = await readNiftiFile(path('out-folder', 'b.nii.gz'));
    expectSameGeometry(b, await readNiftiFile(join(folder, 'b.nii')));
    expect([...b.data]).toEqual([...(await reference(MODEL1, [join(folder, 'b.nii')])).labels]);

    // A case that fails while writing (its output name is taken by a folder) stops the run; the
    // cases before it stay, complete, and the error lists them.
    mkdirSync(path('out-partial', 'b.nii.gz'), { recursive: true });
    await expect(predict(['--model', MODEL1, '--input', folder, '--output', path('out-partial')]))
      .rejects.toThrow(/case b \(.*b\.nii\) failed: .*\nthe 1 file\(s\) written before it are complete and kept:\n  .*out-partial\/a\.nii\.gz$/);
    expect([...(await readNiftiFile(path('out-partial', 'a.nii.gz'))).data]).toEqual([...(await readNiftiFile(path('out-folder', 'a.nii.gz'))).data]);

    const json = path('cases', 'dataset.json');
    writeFileSync(json, JSON.stringify({
      name: 'tiny', modality: { 0: 'CT' }, labels: { 0: 'background', 1: 'organ', 2: 'tumour' }, training: [],
      test: ['./a.nii.gz', { image: './b.nii' }],
    }));
    await predict(['--model', MODEL1, '--input', json, '--output', path('out-dataset')]);
    expect(filesIn(path('out-dataset'))).toEqual(['a.nii.gz', 'b.nii.gz']);
    for (const f of ['a.nii.gz', 'b.nii.gz']) {
      expect([...(await readNiftiFile(path('out-dataset', f))).data]).toEqual([...(await readNiftiFile(path('out-folder', f))).data]);
    }
  });

  it('multi-modal input: a comma list, a 4-D file and nnU-Net channel files agree', async () => {
    const folder = path('mm');
    mkdirSync(folder);
    const flair = await writeImage(join(folder, 'p_0000.nii.gz'), DIMS, 4);
    const t1c = await writeImage(join(folder, 'p_0001.nii.gz'), DIMS, 5);
    const both = new Float32Array([...flair, ...t1c]);
    await writeNiftiFile(join(folder, 'q.nii.gz'), { dims: [...DIMS, 2], data: both }, oblique([...DIMS, 2]), { datatype: 'float32' });

    const list = `${join(folder, 'p_0000.nii.gz')},${join(folder, 'p_0001.nii.gz')}`;
    await predict(['--model', MODEL2, '--input', list, '--output', path('mm-list.nii.gz')]);
    await predict(['--model', MODEL2, '--input', folder, '--output', path('mm-out')]);
    expect(filesIn(path('mm-out'))).toEqual(['p.nii.gz', 'q.nii.gz']);
    const fromList = await readNiftiFile(path('mm-list.nii.gz'));
    expect([...fromList.data]).toEqual([...(await reference(MODEL2, list.split(','))).labels]);
    for (const f of ['p.nii.gz', 'q.nii.gz']) {
      const out = await readNiftiFile(path('mm-out', f));
      expect(out.dims).toEqual(DIMS); // a 4-D input still gives 3-D labels
      expect([...out.data]).toEqual([...fromList.data]);
    }
  });

  it('a folder of patient folders (BRATS-style): one case per folder, files matched to the modalities; a comma list is named by its output', async () => {
    const root = path('patients');
    for (const [id, seed] of [['pat1', 8], ['pat2', 9]] as const) {
      mkdirSync(join(root, id), { recursive: true });
      await writeImage(join(root, id, 'T1c_subtrMeanDivStd.nii.gz'), DIMS, seed + 10); // listed before FLAIR: the order comes from the patterns
      await writeImage(join(root, id, 'Flair_subtrMeanDivStd.nii.gz'), DIMS, seed);
      await writeImage(join(root, id, 'OTMultiClass.nii.gz'), DIMS, 0); // matches no modality: ignored
    }
    const summary = await predict(['--model', MODEL2, '--input', root, '--output', path('patients-out'), '--overlay', path('patients-png')]);
    expect(summary).toMatch(/^predicted 2 cases/);
    expect(filesIn(path('patients-out'))).toEqual(['pat1.nii.gz', 'pat2.nii.gz']);
    expect(filesIn(path('patients-png')).every((f) => /^pat[12]_slice\d+\.(png|svg)$/.test(f))).toBe(true);
    const files = [join(root, 'pat1', 'Flair_subtrMeanDivStd.nii.gz'), join(root, 'pat1', 'T1c_subtrMeanDivStd.nii.gz')];
    expect([...(await readNiftiFile(path('patients-out', 'pat1.nii.gz'))).data]).toEqual([...(await reference(MODEL2, files)).labels]);

    // A folder of links to patient folders (a dataset put together with ln -s) reads the same.
    mkdirSync(path('linked'));
    symlinkSync(join(root, 'pat2'), path('linked', 'pat2'));
    await predict(['--model', MODEL2, '--input', path('linked'), '--output', path('linked-out')]);
    expect(filesIn(path('linked-out'))).toEqual(['pat2.nii.gz']);
    expect([...(await readNiftiFile(path('linked-out', 'pat2.nii.gz'))).data]).toEqual([...(await readNiftiFile(path('patients-out', 'pat2.nii.gz'))).data]);

    // One patient folder: the same case, named by its folder (its label file matches no modality).
    await predict(['--model', MODEL2, '--input', join(root, 'pat1'), '--output', path('one-patient')]);
    expect(filesIn(path('one-patient'))).toEqual(['pat1.nii.gz']);
    expect([...(await readNiftiFile(path('one-patient', 'pat1.nii.gz'))).data]).toEqual([...(await readNiftiFile(path('patients-out', 'pat1.nii.gz'))).data]);
    await expect(predict(['--model', MODEL2, '--input', join(root, 'pat1'), '--output', path('never3'), '--modalities', 'flair,'])).rejects.toThrow(/--modalities flair,: an empty pattern/);

    // The same case as a comma list: named by the output file, not by 'Flair_subtrMeanDivStd'.
    await predict(['--model', MODEL2, '--input', files.join(','), '--output', path('pat1-list.nii.gz'), '--overlay', path('list-png')]);
    expect(filesIn(path('list-png')).length).toBeGreaterThan(0);
    expect(filesIn(path('list-png')).every((f) => f.startsWith('pat1-list_slice'))).toBe(true);

    // --modalities overrides the model's names; a pattern that matches two files is refused.
    await expect(predict(['--model', MODEL2, '--input', root, '--output', path('never2'), '--modalities', 'subtr,t1c'])).rejects.toThrow(/pat1: 2 files match 'subtr' \(.*\); give a pattern that picks one/);
    await expect(predict(['--model', MODEL2, '--input', root, '--output', path('never2'), '--modalities', 'flair,t2'])).rejects.toThrow(/2 case folders without a match:\n  - .*pat1: no NIfTI file name contains 't2'/);
  });

  it('refuses bad input before writing anything, naming the file and the problem', async () => {
    const out = path('never', 'x.nii.gz');
    mkdirSync(path('never'));
    const four = path('mm', 'q.nii.gz'); // 2 channels
    await expect(predict(['--model', MODEL1, '--input', four, '--output', out])).rejects.toThrow(/nothing was written:\n  - .*q\.nii\.gz: 2 channels, but the model takes 1 \(CT\)$/);
    await expect(predict(['--model', MODEL2, '--input', IMAGE, '--output', out])).rejects.toThrow(/case\.nii\.gz: 1 channel, but the model takes 2 \(FLAIR, T1c, in this order\)/);
    await expect(predict(['--model', MODEL1, '--input', path('nowhere.nii.gz'), '--output', out])).rejects.toThrow(/--input .*nowhere\.nii\.gz does not exist/);
    await expect(predict(['--model', MODEL2, '--input', `${IMAGE},${path('gone.nii.gz')}`, '--output', out])).rejects.toThrow(/gone\.nii\.gz: cannot read \(ENOENT\)/);
    await expect(predict(['--model', MODEL1, '--input', IMAGE, '--output', out, '--slices', '4', '--overlay', path('never', 'png')])).rejects.toThrow(/case\.nii\.gz: --slices 4 outside its 4 slices \(0\.\.3\)/);
    await expect(predict(['--model', MODEL1, '--input', IMAGE, '--output', out, '--slices', '1,x', '--overlay', path('never', 'png')])).rejects.toThrow(/--slices must be 'auto' or slice numbers/);
    await expect(predict(['--model', MODEL1, '--input', IMAGE, '--output', path('never', 'x.png')])).rejects.toThrow(/--output .*x\.png: the name must end in \.nii or \.nii\.gz/);
    await expect(predict(['--model', MODEL1, '--input', path('cases'), '--output', path('never', 'x.nii.gz')])).rejects.toThrow(/--output .*x\.nii\.gz: the input is a folder or a dataset\.json, so this names a folder/);
    await expect(predict(['--model', MODEL1, '--input', IMAGE, '--output', path('no-such-folder', 'x.nii.gz')])).rejects.toThrow(/the folder .*no-such-folder does not exist/);
    await expect(predict(['--model', MODEL1, '--input', IMAGE, '--output', IMAGE])).rejects.toThrow(/would overwrite an input file/);
    await expect(predict(['--model', MODEL1, '--input', IMAGE, '--output', out, '--probabilities', out])).rejects.toThrow(/--output and --probabilities are both/);
    await expect(predict(['--model', MODEL1, '--input', IMAGE])).rejects.toThrow(/predict: --output is required/);

    // One bad case in a folder stops the run before any case is written.
    const mixed = path('mixed');
    mkdirSync(mixed);
    await writeImage(join(mixed, 'good.nii.gz'), DIMS, 6);
    await writeNiftiFile(join(mixed, 'bad.nii.gz'), { dims: [...DIMS, 2], data: new Float32Array(280) }, oblique([...DIMS, 2]), { datatype: 'float32' });
    await expect(predict(['--model', MODEL1, '--input', mixed, '--output', path('never', 'folder')])).rejects.toThrow(/1 problem with the input; nothing was written:\n  - .*bad\.nii\.gz: 2 channels/);
    // nnU-Net channel files must be numbered without gaps.
    const gap = path('gap');
    mkdirSync(gap);
    await writeImage(join(gap, 'g_0001.nii.gz'), DIMS, 7);
    await expect(predict(['--model', MODEL1, '--input', gap, '--output', path('never', 'folder')])).rejects.toThrow(/case g has channel files 0001; they must be numbered from 0000/);
    expect(filesIn(path('never'))).toEqual([]);
  });

  it('refuses model files that are not segmenters', async () => {
    const out = path('never2.nii.gz');
    const encoder = path('encoder.safetensors');
    await writeSafetensorsFile(encoder, [['x', { shape: [1], data: new Float32Array(1) }]], modelFileMetadata({ kind: 'encoder', encoder: tinyConfig(1), provenance: {} }));
    await expect(predict(['--model', encoder, '--input', IMAGE, '--output', out])).rejects.toThrow(/--model .*encoder\.safetensors: not a trained segmenter .*found a 'encoder' file/);
    const foreign = path('foreign.safetensors');
    await writeSafetensorsFile(foreign, [['x', { shape: [1], data: new Float32Array(1) }]]);
    await expect(predict(['--model', foreign, '--input', IMAGE, '--output', out])).rejects.toThrow(/foreign\.safetensors: not a trained segmenter .*a foreign checkpoint/);
    await expect(predict(['--model', path('missing.safetensors'), '--input', IMAGE, '--output', out])).rejects.toThrow(/cannot read --model .*missing\.safetensors \(ENOENT\)/);
    expect(existsSync(out)).toBe(false);
  });
});
