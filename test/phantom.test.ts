// The synthetic phantoms (src/synthetic/phantom.ts) and the dataset writer (src/synthetic/phantom-node.ts):
// deterministic, every class present, intensities that overlap between classes, structures that
// change smoothly from slice to slice, and files that our own readers read back exactly.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDataset, readDatasetFile } from '../src/data/load-node.js';
import { generatePhantom, PHANTOM_CLIP, PHANTOM_LABELS, PHANTOM_STREAMS, phantomSeed, type Phantom } from '../src/synthetic/phantom.js';
import { syntheticHeader, writePhantomDataset } from '../src/synthetic/phantom-node.js';
import { qformAffine, sformAffine } from '../src/io/affine.js';
import { readNiftiFile } from '../src/io/nifti-node.js';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const phantoms = SEEDS.map((seed) => generatePhantom(seed));

/** Voxel intensities of each label over `volumes`. */
function intensitiesByLabel(volumes: Phantom[]): number[][] {
  const out: number[][] = PHANTOM_LABELS.map(() => []);
  for (const p of volumes) p.label.forEach((l, i) => out[l].push(p.image[i]));
  return out;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const quantile = (v: number[], q: number) => [...v].sort((a, b) => a - b)[Math.floor(q * (v.length - 1))];

describe('generatePhantom', () => {
  it('is a function of the seed and options alone', () => {
    const again = generatePhantom(SEEDS[0]);
    expect(again.image).toEqual(phantoms[0].image);
    expect(again.label).toEqual(phantoms[0].label);
    expect(phantoms[1].image).not.toEqual(phantoms[0].image);
    expect(phantoms[0].dims).toEqual([48, 48, 24]);
    expect(phantoms[0].spacing).toEqual([1, 1, 2.5]);
    expect(phantoms[0].image.length).toBe(48 * 48 * 24);
  });

  it('holds every label 0..3 and nothing else, and whole Hounsfield units', () => {
    for (const p of phantoms) {
      expect([...new Set(p.label)].sort()).toEqual([0, 1, 2, 3]);
      expect(p.image.every((v) => Number.isInteger(v) && v > -400 && v < 500)).toBe(true);
    }
  });

  it('gives each structure its own mean intensity, with ranges that overlap', () => {
    const byLabel = intensitiesByLabel(phantoms);
    const means = byLabel.map(mean);
    const [p10, p90] = [0.1, 0.9].map((q) => byLabel.map((v) => quantile(v, q)));
    // Structure means 95 (capsule) / 140 (sphere) / 185 (torus) HU by design, moved by jitter,
    // bias and partial volume: neighbours in intensity overlap, the outer two do not.
    for (const [a, b] of [[2, 1], [1, 3]]) {
      expect(means[b] - means[a], `means of ${a} and ${b}`).toBeGreaterThan(30);
      expect(p10[a] < p90[b] && p10[b] < p90[a], `10–90% ranges of ${a} and ${b} overlap`).toBe(true);
    }
    // No threshold separates background from the structures: the body's tissue reaches into
    // their ranges, and the bone lies above them all.
    const tissue = byLabel[0].filter((v) => v > PHANTOM_CLIP.min);
    expect(quantile(tissue, 0.9)).toBeGreaterThan(Math.min(p10[1], p10[2], p10[3]));
    expect(quantile(tissue, 0.999)).toBeGreaterThan(Math.max(p90[1], p90[2], p90[3]) + 50);
    // The window the lead clip-scales with holds the tissue; air lies below it.
    expect(quantile(byLabel[0], 0.5)).toBeLessThan(PHANTOM_CLIP.min);
    expect(Math.max(p90[1], p90[2], p90[3])).toBeLessThan(PHANTOM_CLIP.max);
  });

  it('changes smoothly along z: neighbouring slices mostly agree', () => {
    const plane = 48 * 48;
    for (let c = 1; c <= 3; c++) {
      let both = 0;
      let either = 0;
      for (const p of phantoms) {
        let slices = 0;
        for (let k = 0; k < 24; k++) {
          let here = 0;
          for (let i = 0; i < plane; i++) {
            const a = p.label[k * plane + i] === c;
            const b = k + 1 < 24 && p.label[(k + 1) * plane + i] === c;
            if (a) here++;
            if (k + 1 < 24) {
              both += Number(a && b);
              either += Number(a) + Number(b);
            }
          }
          if (here > 0) slices++;
        }
        expect(slices, `${PHANTOM_LABELS[c]} spans several slices`).toBeGreaterThanOrEqual(3);
      }
      // Dice of each class between slices k and k+1, pooled: 0.66–0.76 over 200 seeds.
      expect(2 * both / either, `${PHANTOM_LABELS[c]} adjacent-slice Dice`).toBeGreaterThan(0.6);
    }
  });

  it('takes other grids and spacings, and validates its options', () => {
    const p = generatePhantom(11, { dims: [40, 32, 20], spacing: [1.2, 1.5, 3] });
    expect(p.image.length).toBe(40 * 32 * 20);
    expect([...new Set(p.label)].sort()).toEqual([0, 1, 2, 3]);
    expect(() => generatePhantom(1, { dims: [48, 48, 0] })).toThrow(/generatePhantom: options.dims .*\[48, 48, 0\]/);
    expect(() => generatePhantom(1, { spacing: [1, -1, 2] })).toThrow(/generatePhantom: options.spacing/);
    expect(() => generatePhantom(1, { dims: [48, 48, 2] })).toThrow(/do not fit inside the body/);
  });
});

describe('phantomSeed', () => {
  it('keeps the seed streams apart and the cases of one stream distinct', () => {
    for (const [stream, bits] of Object.entries(PHANTOM_STREAMS)) {
      const seeds = Array.from({ length: 200 }, (_, i) => phantomSeed(stream as keyof typeof PHANTOM_STREAMS, 7, i));
      expect(seeds.every((s) => (s & 3) === bits && Number.isInteger(s) && s >= 0 && s < 2 ** 32)).toBe(true);
      expect(new Set(seeds).size).toBe(seeds.length);
    }
    expect(phantomSeed('dataset', 1, 0)).toBe(phantomSeed('dataset', 1, 0));
    expect(phantomSeed('dataset', 1, 0)).not.toBe(phantomSeed('dataset', 2, 0));
    expect(() => phantomSeed('dataset', 1, -1)).toThrow(/phantomSeed: index/);
  });
});

describe('writePhantomDataset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'transseg-phantom-'));

  it('writes NIfTI files and a dataset.json that our readers read back exactly', async () => {
    const files = await writePhantomDataset(dir, { training: 3, validation: 2, test: 1, seed: 42 });
    expect(files).toEqual({
      path: join(dir, 'dataset.json'),
      training: ['phantom_000', 'phantom_001', 'phantom_002'],
      validation: ['phantom_003', 'phantom_004'],
      test: ['phantom_005'],
    });

    const dataset = await readDatasetFile(files.path);
    expect(dataset.name).toBe('Phantom');
    expect(dataset.labels).toEqual({ 0: 'background', 1: 'sphere', 2: 'capsule', 3: 'torus' });
    expect(dataset.modality).toEqual({ 0: 'CT' });
    expect(dataset.training.map((c) => c.id)).toEqual(files.training);
    expect(dataset.validation!.map((c) => c.id)).toEqual(files.validation);
    expect(dataset.training[0]).toEqual({ id: 'phantom_000', image: [join(dir, 'imagesTr/phantom_000.nii.gz')], label: join(dir, 'labelsTr/phantom_000.nii.gz') });
    expect(dataset.test).toEqual([[join(dir, 'imagesTs/phantom_005.nii.gz')]]);

    const header = syntheticHeader([48, 48, 24], [1, 1, 2.5]);
    for (const [index, entry] of [...dataset.training, ...dataset.validation!].entries()) {
      const expected = generatePhantom(phantomSeed('dataset', 42, index));
      const image = await readNiftiFile(entry.image[0]);
      const label = await readNiftiFile(entry.label);
      expect(image.datatype).toBe('int16');
      expect(label.datatype).toBe('uint8');
      expect(image.data).toEqual(expected.image);
      expect(label.data).toEqual(expected.label);
      for (const v of [image, label]) {
        expect(v.dims).toEqual([48, 48, 24]);
        expect(v.pixdim).toEqual([1, 1, 2.5]);
        expect(v.units.spatial).toBe('mm');
        expect([v.sformCode, v.qformCode]).toEqual([1, 1]);
        expect(v.affine).toEqual(sformAffine(header.srow));
      }
    }
    const test = await readNiftiFile(dataset.test[0][0]);
    expect(test.data).toEqual(generatePhantom(phantomSeed('dataset', 42, 5)).image);

    const { summary } = await openDataset(files.path); // validateDataset: readable, same grids, labels declared
    expect(summary.cases).toBe(6);
    expect(summary.classVoxels.every((n) => n > 0)).toBe(true);
  });

  it('leaves `validation` out when there are no held-out cases, and validates its options', async () => {
    const sub = join(dir, 'no-validation');
    const files = await writePhantomDataset(sub, { training: 1, validation: 0, test: 0, seed: 1 });
    expect((await readDatasetFile(files.path)).validation).toBeUndefined();
    await expect(writePhantomDataset(sub, { training: 0, validation: 1, test: 0, seed: 1 })).rejects.toThrow(/options.training must be at least 1/);
    await expect(writePhantomDataset(sub, { training: 1, validation: 1.5, test: 0, seed: 1 })).rejects.toThrow(/options.validation must be an integer/);
  });
});

describe('syntheticHeader', () => {
  it('is a RAS+ grid with the spacing, centred on the origin, its qform equal to its sform', () => {
    const h = syntheticHeader([5, 4, 3], [0.5, 2, 3]);
    const sform = sformAffine(h.srow);
    expect(sform).toEqual([0.5, 0, 0, -1, 0, 2, 0, -3, 0, 0, 3, -3, 0, 0, 0, 1]);
    expect(qformAffine(h.quatern, h.qoffset, h.pixdim)).toEqual(sform);
    expect(() => syntheticHeader([5, 4], [1, 1, 1])).toThrow(/syntheticHeader: dims/);
    expect(() => syntheticHeader([5, 4, 3], [1, 0, 1])).toThrow(/syntheticHeader: spacing/);
  });
});
