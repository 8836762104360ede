// dataset.json parsing, the seeded split, label remapping, validation of every file (all problems in
// one report) and loading a case, on small volumes written into a temp folder.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DatasetValidationError, parseDatasetJson, remapLabels, remapLabelValues, splitCases, trainingSplit, validateDataset,
  type Dataset,
} from '../src/data/dataset.js';
import { loadCase } from '../src/data/volume.js';
import { openDataset, readDatasetFile } from '../src/data/load-node.js';
import type { NiftiHeader } from '../src/io/nifti.js';
import { readNiftiFile, writeNiftiFile } from '../src/io/nifti-node.js';

const dir = mkdtempSync(join(tmpdir(), 'transseg-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A 1 mm grid of [X, Y, Z] at the origin, moved by `shift` mm along x (to make affines differ). */
function gridHeader(dims: readonly number[], shift = 0): NiftiHeader {
  return {
    format: 'nifti1', pair: false, littleEndian: true,
    dim: [3, dims[0], dims[1], dims[2], 1, 1, 1, 1], pixdim: [1, 1, 1, 1, 1, 1, 1, 1],
    datatypeCode: 16, voxOffset: 352, sclSlope: 1, sclInter: 0, dimInfo: 0, intentCode: 0, intentName: '', xyztUnits: 10,
    qformCode: 0, sformCode: 1, quatern: [0, 0, 0], qoffset: [0, 0, 0],
    srow: [1, 0, 0, shift, 0, 1, 0, 0, 0, 0, 1, 0],
    description: '',
  };
}

/** Writes `data` (x fastest over dims [X, Y, Z] or [X, Y, Z, C]) to dir/name; returns the path. */
async function writeVolume(
  name: string, dims: number[], data: ArrayLike<number>, options: { datatype?: 'uint8' | 'float32'; shift?: number } = {},
): Promise<string> {
  const path = join(dir, name);
  await writeNiftiFile(path, { dims, data }, gridHeader(dims, options.shift), { datatype: options.datatype ?? 'float32' });
  return path;
}

const ramp = (n: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => (i + 1) * scale);

const MSD_JSON = {
  name: 'Prostate', description: 'x', tensorImageSize: '4D',
  modality: { 0: 'T2', 1: 'ADC' },
  labels: { 0: 'background', 1: 'PZ', 2: 'TZ' },
  numTraining: 2, numTest: 1,
  training: [
    { image: './imagesTr/prostate_00.nii.gz', label: './labelsTr/prostate_00.nii.gz' },
    { image: './imagesTr/prostate_01.nii.gz', label: './labelsTr/prostate_01.nii.gz' },
  ],
  test: ['./imagesTs/prostate_03.nii.gz'],
};

describe('parseDatasetJson', () => {
  it('reads an MSD dataset.json (4-D images), resolving paths against its folder', () => {
    const d = parseDatasetJson(JSON.stringify(MSD_JSON), '/data/Task05_Prostate/dataset.json');
    expect(d.name).toBe('Prostate');
    expect(d.labels).toEqual({ 0: 'background', 1: 'PZ', 2: 'TZ' });
    expect(d.modality).toEqual({ 0: 'T2', 1: 'ADC' });
    expect(d.training).toEqual([
      { id: 'prostate_00', image: ['/data/Task05_Prostate/imagesTr/prostate_00.nii.gz'], label: '/data/Task05_Prostate/labelsTr/prostate_00.nii.gz' },
      { id: 'prostate_01', image: ['/data/Task05_Prostate/imagesTr/prostate_01.nii.gz'], label: '/data/Task05_Prostate/labelsTr/prostate_01.nii.gz' },
    ]);
    expect(d.validation).toBeUndefined();
    expect(d.test).toEqual([['/data/Task05_Prostate/imagesTs/prostate_03.nii.gz']]);
  });

  it('reads per-modality image lists, a validation list, ids, and test entries in every form', () => {
    const json = {
      modality: { 0: 'FLAIR', 1: 'T1c' }, labels: { 0: 'background', 1: 'tumour' },
      training: [{ id: 'p5', image: ['p5/flair.nii.gz', '../other/p5_t1c.nii'], label: 'p5/seg.nii.gz' }],
      validation: [{ image: ['./p6/flair.nii.gz', 'p6/t1c.nii.gz'], label: '/abs/p6/seg.nii.gz' }],
      test: ['t/a.nii.gz', ['t/b0.nii', 't/b1.nii'], { image: 't/c.nii.gz' }],
    };
    const d = parseDatasetJson(JSON.stringify(json), 'sets/brats/dataset.json');
    expect(d.name).toBe('');
    expect(d.training).toEqual([{ id: 'p5', image: ['sets/brats/p5/flair.nii.gz', 'sets/other/p5_t1c.nii'], label: 'sets/brats/p5/seg.nii.gz' }]);
    expect(d.validation).toEqual([{ id: 'flair', image: ['sets/brats/p6/flair.nii.gz', 'sets/brats/p6/t1c.nii.gz'], label: '/abs/p6/seg.nii.gz' }]);
    expect(d.test).toEqual([['sets/brats/t/a.nii.gz'], ['sets/brats/t/b0.nii', 'sets/brats/t/b1.nii'], ['sets/brats/t/c.nii.gz']]);
    // A json in the current folder keeps paths relative; '..' past it stays.
    expect(parseDatasetJson(JSON.stringify({ ...json, validation: undefined }), 'dataset.json').training[0].image).toEqual(['p5/flair.nii.gz', '../other/p5_t1c.nii']);
  });

  it('names the field of the first structural problem', () => {
    const bad = (json: unknown, message: RegExp) => expect(() => parseDatasetJson(typeof json === 'string' ? json : JSON.stringify(json), '/d/dataset.json')).toThrow(message);
    bad('{"name": ', /\/d\/dataset.json: not valid JSON/);
    bad([1], /must be a JSON object/);
    bad({ ...MSD_JSON, training: undefined }, /"training" must be a list/);
    bad({ ...MSD_JSON, training: [{ image: './a.nii.gz' }] }, /training\[0\]\.label must be a path/);
    bad({ ...MSD_JSON, training: [{ image: [], label: 'l.nii' }] }, /training\[0\]\.image must be a path or a non-empty list/);
    bad({ ...MSD_JSON, modality: { 0: 'T2', 2: 'ADC' } }, /"modality" keys are channel indices and must be 0\.\.1, got 0, 2/);
    bad({ ...MSD_JSON, labels: {} }, /"labels" must be a non-empty object/);
    bad({ ...MSD_JSON, labels: { a: 'x' } }, /"labels": every key must be a non-negative integer/);
    bad({ ...MSD_JSON, training: [{ image: 'a/x.nii', label: 'l1.nii' }, { image: 'b/x.nii.gz', label: 'l2.nii' }] },
      /two cases have the id "x" \(\/d\/a\/x.nii and \/d\/b\/x.nii.gz\)/);    bad({ ...MSD_JSON, validation: [{ id: 'v', image: 'a.nii', label: 'l1.nii' }, { id: 'v', image: 'b.nii', label: 'l2.nii' }] }, /two cases have the id "v"/);
  });

  it('accepts the same case in training and in validation (each list scores on its own)', () => {
    const both = { ...MSD_JSON, training: [{ id: 'p1', image: 'a.nii', label: 'l.nii' }], validation: [{ id: 'p1', image: 'a.nii', label: 'l.nii' }] };
    const dataset = parseDatasetJson(JSON.stringify(both), '/d/dataset.json');
    expect([dataset.training[0].id, dataset.validation![0].id]).toEqual(['p1', 'p1']);
  });
});

describe('splitCases', () => {
  const cases = Array.from({ length: 23 }, (_, i) => `case${i}`);

  it('is seeded, disjoint, complete, order-preserving and sized round(fraction·n)', () => {
    const a = splitCases(cases, { seed: 7 });
    expect(splitCases(cases, { seed: 7 })).toEqual(a);
    expect(a.validation).toHaveLength(5); // round(0.2 · 23)
    expect(a.train).toHaveLength(18);
    expect([...a.train, ...a.validation].sort()).toEqual([...cases].sort());
    expect(a.train.filter((c) => a.validation.includes(c))).toEqual([]);
    for (const part of [a.train, a.validation]) expect(part).toEqual(cases.filter((c) => part.includes(c)));
    expect(splitCases(cases, { seed: 8 }).validation).not.toEqual(a.validation);
    expect(splitCases(cases, { seed: 7, fraction: 0.5 }).validation).toHaveLength(12);
  });

  it('keeps at least one case on each side, and refuses what cannot be split', () => {
    expect(splitCases(['a', 'b'], { seed: 1, fraction: 0.01 }).validation).toHaveLength(1);
    expect(splitCases(['a', 'b', 'c'], { seed: 1, fraction: 0.99 }).train).toHaveLength(1);
    expect(() => splitCases(['a'], { seed: 1 })).toThrow(/at least 2 cases/);
    expect(() => splitCases(cases, { seed: 1, fraction: 1 })).toThrow(/fraction must be in \(0, 1\)/);
  });

  it('trainingSplit uses the dataset validation list when there is one', () => {
    const d = parseDatasetJson(JSON.stringify(MSD_JSON), '/d/dataset.json');
    expect(trainingSplit(d, { seed: 3 })).toEqual(splitCases(d.training, { seed: 3 }));
    const withValidation: Dataset = { ...d, validation: [d.training[1]], training: [d.training[0]] };
    expect(trainingSplit(withValidation, { seed: 3 })).toEqual({ train: [d.training[0]], validation: [d.training[1]] });
  });
});

describe('label remapping', () => {
  const brats = { 0: 'background', 1: 'necrosis', 2: 'edema', 3: 'non-enhancing', 4: 'enhancing' };

  it('names the classes after remapping and checks them', () => {
    expect(remapLabels(brats)).toEqual(brats);
    expect(remapLabels(brats, { 1: 1, 2: 1, 3: 1, 4: 1 })).toEqual({ 0: 'background', 1: 'necrosis + edema + non-enhancing + enhancing' });
    expect(remapLabels(brats, { 2: 0, 3: 2, 4: 2 })).toEqual({ 0: 'background + edema', 1: 'necrosis', 2: 'non-enhancing + enhancing' });
    expect(() => remapLabels(brats, { 5: 1 })).toThrow(/remapLabels: label 5 is not declared/);
    expect(() => remapLabels(brats, { 1: 0.5 })).toThrow(/non-negative integer/);
    expect(() => remapLabels({ 0: 'bg', 2: 'x' })).toThrow('remapLabels: the classes are 0, 2; they must be 0..1');
    expect(() => remapLabels(brats, { 1: 5 })).toThrow(/remapLabels: the classes after remapping are 0, 2, 3, 4, 5; they must be 0\.\.4/);
  });

  it('maps label values in place, leaving unlisted and non-integer values', () => {
    const values = Float32Array.from([0, 1, 2, 3, 4, 5, 0.5, -1]);
    expect(remapLabelValues(values, { 1: 1, 2: 1, 3: 1, 4: 1 })).toBe(values);
    expect([...values]).toEqual([0, 1, 1, 1, 1, 5, 0.5, -1]);
    expect([...remapLabelValues(Float32Array.from([2, 0]), {})]).toEqual([2, 0]);
  });
});

describe('validateDataset and loadCase', () => {
  const dims = [4, 3, 2];
  const n = 24;

  it('reports every problem of a bad dataset at once, each naming its file', async () => {
    const good = await writeVolume('good.nii', dims, ramp(n));
    await writeVolume('good_seg.nii.gz', dims, Array.from({ length: n }, (_, i) => i % 3), { datatype: 'uint8' });
    const files = {
      small: await writeVolume('small_seg.nii', [4, 3, 3], new Uint8Array(36), { datatype: 'uint8' }),
      shifted: await writeVolume('shifted_seg.nii', dims, new Uint8Array(n), { datatype: 'uint8', shift: 0.01 }),
      nearby: await writeVolume('nearby_seg.nii', dims, new Uint8Array(n), { datatype: 'uint8', shift: 5e-5 }),
      fractional: await writeVolume('fractional_seg.nii', dims, Float32Array.from({ length: n }, (_, i) => (i === 5 ? 0.5 : 0))),
      undeclared: await writeVolume('undeclared_seg.nii', dims, Array.from({ length: n }, (_, i) => (i < 2 ? 7 + i : 0)), { datatype: 'uint8' }),
      nan: await writeVolume('nan.nii', dims, Float32Array.from({ length: n }, (_, i) => (i === 3 ? NaN : 1))),
      fourD: await writeVolume('two_channels.nii', [...dims, 2], ramp(2 * n)),
      fourDLabel: await writeVolume('4d_seg.nii', [...dims, 2], new Uint8Array(2 * n), { datatype: 'uint8' }),
      garbage: join(dir, 'garbage.nii'),
      missing: join(dir, 'missing.nii.gz'),
    };
    writeFileSync(files.garbage, 'not a nifti file');
    const json = {
      name: 'bad', modality: { 0: 'CT' }, labels: { 0: 'background', 1: 'a', 2: 'b' },
      training: [
        { image: 'missing.nii.gz', label: 'good_seg.nii.gz' },
        { id: 't1', image: 'good.nii', label: 'small_seg.nii' },
        { id: 't2', image: 'good.nii', label: 'shifted_seg.nii' },
        { id: 't3', image: 'good.nii', label: 'nearby_seg.nii' }, // 5e-5 mm off: within tolerance, no problem
        { image: 'two_channels.nii', label: 'good_seg.nii.gz' },
      ],
      validation: [
        { id: 'v1', image: 'good.nii', label: 'fractional_seg.nii' },
        { id: 'v2', image: 'good.nii', label: 'undeclared_seg.nii' },
        { id: 'v3', image: 'nan.nii', label: '4d_seg.nii' },
      ],
      test: ['garbage.nii', ['good.nii', 'small_seg.nii']],
    };
    const jsonPath = join(dir, 'bad.json');
    writeFileSync(jsonPath, JSON.stringify(json));
    const error = await openDataset(jsonPath).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetValidationError);
    const { problems, message } = error as DatasetValidationError;
    const expected = [
      `cannot read: ENOENT: no such file or directory, open '${files.missing}'`,
      `${files.small}: not on the grid of its image ${good}: grid 4×3×3 vs 4×3×2`,
      `${files.shifted}: not on the grid of its image ${good}: affines differ by up to 1.00e-2 (more than 0.0001)`,
      `${files.fourD}: 2 image channels, but "modality" declares 1`,
      `${files.fractional}: 1 voxel with a non-integer label (e.g. 0.5)`,
      `${files.undeclared}: label values 7, 8 are outside the declared classes 0..2`,
      `${files.nan}: the image holds NaN or infinite values`,
      `${files.fourDLabel}: a label must be 3-D, got dims 4×3×2×2`,
      `cannot read: ${files.garbage}: not a NIfTI or Analyze file`,
      `${files.small}: not on the grid of ${good}: grid 4×3×3 vs 4×3×2`,
      `${good}, ${files.small}: 2 image channels, but "modality" declares 1`,
    ];
    expect(problems).toHaveLength(expected.length);
    expected.forEach((p, k) => expect(problems[k].startsWith(p), `problem ${k}: ${problems[k]}`).toBe(true));
    expect(message.startsWith(`${jsonPath}: 11 problems found before training:\n  - cannot read`)).toBe(true);
    for (const path of Object.values(files).filter((p) => p !== files.nearby)) expect(message).toContain(path);
    expect(message).not.toContain(files.nearby);
  });

  it('checks label values after the remap, and summarises a valid dataset', async () => {
    await writeVolume('img.nii', dims, ramp(n));
    await writeVolume('seg.nii', dims, Array.from({ length: n }, (_, i) => i % 4), { datatype: 'uint8' });
    const jsonPath = join(dir, 'remap.json');
    writeFileSync(jsonPath, JSON.stringify({
      modality: { 0: 'MR' }, labels: { 0: 'bg', 1: 'a', 2: 'b', 3: 'c' },
      training: [{ image: 'img.nii', label: 'seg.nii' }], test: ['img.nii'],
    }));
    const dataset = await readDatasetFile(jsonPath);
    expect(await validateDataset(dataset, readNiftiFile)).toEqual({ cases: 2, files: 3, classVoxels: [6, 6, 6, 6] });
    expect((await openDataset(jsonPath, { remap: { 2: 1, 3: 2 } })).summary.classVoxels).toEqual([6, 12, 6]);
    const undeclared = { ...dataset, labels: { 0: 'bg', 1: 'a', 2: 'b' } };
    await expect(validateDataset(undeclared, readNiftiFile, { remap: { 2: 1 } })).rejects.toThrow(
      `${join(dir, 'seg.nii')}: label values 3 are outside the declared classes 0..1 (after remap)`);
  });

  it('loads a 4-D case as [C, Z, Y, X] = the file data, and per-modality files channel after channel', async () => {
    const fourD = await writeVolume('case4d.nii', [...dims, 2], ramp(2 * n));
    const t1 = await writeVolume('t1.nii.gz', dims, ramp(n, 10));
    const t2 = await writeVolume('t2.nii.gz', dims, ramp(n, -1));
    const seg = await writeVolume('case_seg.nii', dims, Array.from({ length: n }, (_, i) => i % 3), { datatype: 'uint8' });

    const a = await loadCase({ image: [fourD], label: seg }, readNiftiFile, { remap: { 2: 1 } });
    expect(a.id).toBe('case4d');
    expect([a.dims, a.channels]).toEqual([[4, 3, 2], 2]);
    expect([...a.image]).toEqual([...ramp(2 * n)]);
    expect([...a.label!]).toEqual(Array.from({ length: n }, (_, i) => Math.min(i % 3, 1)));
    expect(a.geometry.srow).toEqual(gridHeader(dims).srow);

    const b = await loadCase({ id: 'multi', image: [t1, t2, fourD] }, readNiftiFile);
    expect([b.id, b.channels, b.label]).toEqual(['multi', 4, undefined]);
    expect([...b.image]).toEqual([...ramp(n, 10), ...ramp(n, -1), ...ramp(2 * n)]);

    const small = await writeVolume('case_small.nii', [4, 3, 3], new Float32Array(36));
    await expect(loadCase({ image: [t1, small] }, readNiftiFile)).rejects.toThrow(`loadCase: ${small} has grid 4×3×3, but ${t1} has 4×3×2`);
    await expect(loadCase({ image: [t1], label: small }, readNiftiFile)).rejects.toThrow(`loadCase: the label ${small} has dims 4×3×3`);
  });
});
