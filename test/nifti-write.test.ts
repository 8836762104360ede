// writeNifti / writeNiftiFile: round trips through our reader in the geometry of real inputs,
// argument checks, and files that are never left half-written.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNifti, type NiftiHeader, type NiftiVolume } from '../src/io/nifti.js';
import { readNiftiFile, writeNiftiFile } from '../src/io/nifti-node.js';
import { writeNifti, type VolumeToWrite } from '../src/io/nifti-write.js';
import { reportError } from './helpers/report.js';

const DATA = '../shared/data';
const HAVE_DATA = existsSync(DATA);
const SKIP_NOTE = HAVE_DATA ? '' : ' (SKIPPED: ../shared/data is absent, e.g. in a clone without the shared test files)';

const dir = mkdtempSync(join(tmpdir(), 'transseg-nifti-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The header fields that carry geometry, as the writer copies them. */
const geometry = (h: NiftiHeader) => ({
  pixdim: h.pixdim, qformCode: h.qformCode, sformCode: h.sformCode, quatern: h.quatern, qoffset: h.qoffset,
  srow: h.srow, xyztUnits: h.xyztUnits, dimInfo: h.dimInfo,
});

/** Everything a reader derives from the geometry must come back identical. */
function expectSameGeometry(back: NiftiVolume, input: NiftiVolume): void {
  expect(back.affine).toEqual(input.affine);
  expect([back.qformCode, back.sformCode]).toEqual([input.qformCode, input.sformCode]);
  expect(back.pixdim.slice(0, 3)).toEqual(input.pixdim.slice(0, 3));
  expect(back.units).toEqual(input.units);
  expect(geometry(back.header)).toEqual(geometry(input.header));
}

/** Element-wise identity (NaN equal to NaN); toEqual is too slow on millions of voxels. */
function expectSameData(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  expect(actual.length, 'voxel count').toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) expect(actual[i], `voxel ${i}`).toBe(expected[i]);
  }
}

/** Per-voxel softmax over `classes` volumes of a smooth pattern: sums to 1 along the 4th dim. */
function probabilities(dims: number[], classes: number): Float32Array {
  const n = dims[0] * dims[1] * dims[2];
  const out = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) {
    const logits = Array.from({ length: classes }, (_, c) => Math.sin(0.01 * i * (c + 1)) * 3);
    const z = logits.reduce((a, l) => a + Math.exp(l), 0);
    logits.forEach((l, c) => (out[c * n + i] = Math.exp(l) / z));
  }
  return out;
}

/** An oblique qform + sform geometry with qfac −1, written by hand (no shared data needed). */
const HAND_MADE: NiftiHeader = {
  format: 'nifti1', pair: false, littleEndian: true,
  dim: [3, 5, 4, 3, 1, 1, 1, 1], pixdim: [-1, 0.9, 1.1, 2.5, 1, 1, 1, 1],
  datatypeCode: 16, voxOffset: 352, sclSlope: 1, sclInter: 0, dimInfo: 57, intentCode: 0, intentName: '', xyztUnits: 10,
  qformCode: 1, sformCode: 2,
  quatern: [0.1, -0.2, 0.3].map(Math.fround), qoffset: [-90.5, 12.25, 40].map(Math.fround),
  srow: [0.9, 0.05, 0, -90.5, -0.02, 1.1, 0.3, 12.25, 0, -0.1, 2.5, 40].map(Math.fround),
  description: '',
};

describe('writeNifti round trips (hand-made geometry)', () => {
  it('uint8 labels, int16 labels and a float32 4D probability volume, plain and gzipped', async () => {
    const dims = [5, 4, 3];
    const n = 60;
    const ref = readNifti(await writeNifti({ dims, data: new Float32Array(n) }, HAND_MADE, { datatype: 'float32' }), 'ref.nii');
    const cases: [VolumeToWrite, 'uint8' | 'int16' | 'float32'][] = [
      [{ dims, data: Uint8Array.from({ length: n }, (_, i) => (i * 37) % 256) }, 'uint8'],
      [{ dims, data: Int16Array.from({ length: n }, (_, i) => (i * 1103 % 65536) - 32768) }, 'int16'],
      [{ dims: [...dims, 3], data: probabilities(dims, 3) }, 'float32'],
    ];
    for (const [volume, datatype] of cases) {
      for (const gzip of [false, true]) {
        const bytes = await writeNifti(volume, ref.header, { datatype, gzip });
        expect(bytes[0] === 0x1f && bytes[1] === 0x8b, 'gzip magic').toBe(gzip);
        const back = readNifti(bytes, gzip ? 'out.nii.gz' : 'out.nii');
        expect(back.datatype).toBe(datatype);
        expect(back.dims).toEqual(volume.dims);
        expectSameData(back.data, Float32Array.from(volume.data));
        expectSameGeometry(back, ref);
        expect(back.header).toMatchObject({ format: 'nifti1', pair: false, voxOffset: 352, sclSlope: 1, sclInter: 0, description: 'transseg-webgpu' });
      }
    }
    expect(ref.affine.slice(0, 12)).toEqual(HAND_MADE.srow); // the sform wins over the qform
  });

  it('argument errors name the argument and the shapes', async () => {
    const data = new Uint8Array(60);
    const write = (volume: VolumeToWrite, datatype: string) => writeNifti(volume, HAND_MADE, { datatype } as never);
    await expect(write({ dims: [5, 4, 3], data }, 'float64')).rejects.toThrow(
      `writeNifti: options.datatype must be 'uint8', 'int16' or 'float32', got "float64"`,
    );
    await expect(write({ dims: [5, 4, 3], data }, 'constructor')).rejects.toThrow('got "constructor"');
    await expect(write({ dims: [4, 5, 3], data }, 'uint8')).rejects.toThrow(
      'writeNifti: volume.dims [4, 5, 3] must start with the reference grid [5, 4, 3]',
    );
    await expect(write({ dims: [5, 4], data }, 'uint8')).rejects.toThrow('writeNifti: volume.dims must be 3 to 7 integers in 1..32767');
    await expect(write({ dims: [5, 4, 3, 2], data }, 'uint8')).rejects.toThrow(
      'writeNifti: volume.data has 60 values, dims [5, 4, 3, 2] need 120',
    );
    const labels = (v: number) => Float32Array.from({ length: 60 }, (_, i) => (i === 7 ? v : 1));
    await expect(write({ dims: [5, 4, 3], data: labels(256) }, 'uint8')).rejects.toThrow(
      'writeNifti: volume.data[7] is 256, not an integer in 0..255 as uint8 labels must be',
    );
    await expect(write({ dims: [5, 4, 3], data: labels(1.5) }, 'int16')).rejects.toThrow('volume.data[7] is 1.5, not an integer in -32768..32767');
    await expect(write({ dims: [5, 4, 3], data: labels(NaN) }, 'uint8')).rejects.toThrow('volume.data[7] is NaN');
  });
});

describe(`writeNifti round trips in the geometry of real inputs${SKIP_NOTE}`, () => {
  it.skipIf(!HAVE_DATA)('uint8 lesion labels in the oblique niivue FLAIR geometry (qform 2, sform 2)', async () => {
    const flair = await readNiftiFile(`${DATA}/pairs/niivue_flair_lesion/FLAIR.nii.gz`);
    const lesion = await readNiftiFile(`${DATA}/pairs/niivue_flair_lesion/lesion.nii.gz`);
    const path = join(dir, 'lesion-labels.nii');
    await writeNiftiFile(path, { dims: lesion.dims, data: lesion.data }, flair.header, { datatype: 'uint8' });
    const back = await readNiftiFile(path);
    expect(back.dims).toEqual(flair.dims);
    expectSameData(back.data, lesion.data);
    expectSameGeometry(back, flair);
    expect(lesion.data.some((x) => x === 3)).toBe(true); // all four labels 0-3 went through
  });

  it.skipIf(!HAVE_DATA)('float32 4D probabilities, .nii.gz, in a qform-only geometry (qform 1, sform 0)', async () => {
    const input = await readNiftiFile(`${DATA}/pairs/tiny_monai_anatomical/anatomical_label.nii.gz`);
    expect([input.qformCode, input.sformCode]).toEqual([1, 0]);
    const probs = probabilities(input.dims, 3);
    const path = join(dir, 'probabilities.nii.gz');
    await writeNiftiFile(path, { dims: [...input.dims, 3], data: probs }, input.header, { datatype: 'float32' });
    const file = readFileSync(path);
    expect([file[0], file[1]]).toEqual([0x1f, 0x8b]);
    const back = await readNiftiFile(path);
    expect(back.dims).toEqual([33, 41, 25, 3]);
    expectSameData(back.data, probs);
    expectSameGeometry(back, input);
  });

  it.skipIf(!HAVE_DATA)('int16 labels from a big-endian input are written little-endian, geometry unchanged', async () => {
    const input = await readNiftiFile(`${DATA}/pairs/tiny_monai_anatomical/anatomical.nii`);
    expect(input.header.littleEndian).toBe(false);
    const data = input.data.map((x) => Math.round(x) - 300);
    const back = readNifti(await writeNifti({ dims: input.dims, data }, input.header, { datatype: 'int16' }), 'labels.nii');
    expect(back.header.littleEndian).toBe(true);
    expectSameData(back.data, data);
    expectSameGeometry(back, input);
  });

  it.skipIf(!HAVE_DATA)('a NIfTI-2 input: the geometry is narrowed to float32, codes and units kept', async () => {
    const input = await readNiftiFile(`${DATA}/nifti-cases/nifti2/example_nifti2.nii.gz`); // 4D, qform 1 + sform 1
    const dims = input.dims.slice(0, 3);
    const back = readNifti(await writeNifti({ dims, data: new Uint8Array(dims[0] * dims[1] * dims[2]) }, input.header, { datatype: 'uint8' }), 'n2.nii');
    const f32 = (xs: number[]) => xs.map(Math.fround);
    expect(geometry(back.header)).toEqual({
      ...geometry(input.header), pixdim: f32(input.header.pixdim), quatern: f32(input.header.quatern),
      qoffset: f32(input.header.qoffset), srow: f32(input.header.srow),
    });
    // The sform entries are rounded to f32 (relative 2⁻²⁴ ≈ 6e-8 of |entry| ≤ 118).
    const err = Math.max(...back.affine.map((a, k) => Math.abs(a - input.affine[k])));
    reportError('nifti write', 'NIfTI-2 affine narrowed to f32', err, err / 118);
    expect(err).toBeLessThanOrEqual(118 * 2 ** -24);
  });

  it.skipIf(!HAVE_DATA)('an Analyze 7.5 input: its SPM-origin affine becomes an sform (code 2)', async () => {
    const hdr = new Uint8Array(readFileSync(`${DATA}/nifti-cases/analyze_pair/ras.hdr`));
    hdr.fill(0, 252, 348); // no NIfTI fields: Analyze 7.5
    new DataView(hdr.buffer).setInt16(253, 20, true); // SPM origin x (1-based)
    const analyze = readNifti(hdr, 'spm.hdr', readFileSync(`${DATA}/nifti-cases/analyze_pair/ras.img`));
    const back = readNifti(await writeNifti({ dims: analyze.dims, data: analyze.data }, analyze.header, { datatype: 'uint8' }), 'spm.nii');
    expect([back.qformCode, back.sformCode]).toEqual([0, 2]);
    expect(back.affine).toEqual(analyze.affine.map(Math.fround));
    expectSameData(back.data, analyze.data);
  });
});

describe('writeNiftiFile never leaves a partial file', () => {
  const volume = { dims: [5, 4, 3], data: new Uint8Array(60).fill(1) };

  it('a folder that does not exist: the write fails and nothing is created', async () => {
    const path = join(dir, 'missing-folder', 'labels.nii.gz');
    await expect(writeNiftiFile(path, volume, HAND_MADE, { datatype: 'uint8' })).rejects.toThrow(/ENOENT/);
    expect(existsSync(join(dir, 'missing-folder'))).toBe(false);
  });

  it('an invalid datatype or name: rejected before any file is opened', async () => {
    const folder = mkdtempSync(join(dir, 'invalid-'));
    await expect(writeNiftiFile(join(folder, 'labels.nii'), volume, HAND_MADE, { datatype: 'int32' as never })).rejects.toThrow(
      'writeNifti: options.datatype must be',
    );
    await expect(writeNiftiFile(join(folder, 'labels.img'), volume, HAND_MADE, { datatype: 'uint8' })).rejects.toThrow(
      'labels.img: the name must end in .nii or .nii.gz',
    );
    expect(readdirSync(folder)).toEqual([]);
  });

  it('a rename that fails (the target is a folder): the temporary file is removed', async () => {
    const folder = mkdtempSync(join(dir, 'rename-'));
    mkdirSync(join(folder, 'taken.nii'));
    await expect(writeNiftiFile(join(folder, 'taken.nii'), volume, HAND_MADE, { datatype: 'uint8' })).rejects.toThrow();
    expect(readdirSync(folder)).toEqual(['taken.nii']);
  });

  it('replaces an existing file whole, gzip chosen by the extension', async () => {
    const folder = mkdtempSync(join(dir, 'replace-'));
    const path = join(folder, 'labels.NII.GZ');
    await writeNiftiFile(path, volume, HAND_MADE, { datatype: 'uint8' });
    await writeNiftiFile(path, { ...volume, data: new Uint8Array(60).fill(2) }, HAND_MADE, { datatype: 'uint8' });
    expect(readdirSync(folder)).toEqual(['labels.NII.GZ']);
    const back = await readNiftiFile(path);
    expect(readFileSync(path)[0]).toBe(0x1f);
    expectSameData(back.data, new Float32Array(60).fill(2));
  });
});
