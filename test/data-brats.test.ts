// The data pipeline on real BRATS 2013 cases (../shared/data/pairs/brats): a dataset.json with
// per-modality FLAIR + T1c images, validation, loading with the whole-tumour remap, window k = 77,
// and the brain box of --crop-foreground on files whose background is −mean/std, not 0.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCaseFile, openDataset } from '../src/data/load-node.js';
import { foregroundBox } from '../src/data/foreground.js';
import { noIntensity } from '../src/data/intensity.js';
import { extractWindow } from '../src/data/windows.js';
import { readNiftiFile } from '../src/io/nifti-node.js';

const BRATS = resolve('../shared/data/pairs/brats');
const CASES = { train: ['brats_2013_pat0005_1', 'brats_2013_pat0006_1'], validation: ['brats_2013_pat0003_1'] };
const HAVE_DATA = existsSync(join(BRATS, 'train', CASES.train[0], 'OTMultiClass.nii.gz'));
const SKIP_NOTE = HAVE_DATA ? '' : ' (SKIPPED: ../shared/data/pairs/brats is absent, e.g. in a clone without the shared test files)';
const WHOLE_TUMOUR = { 1: 1, 2: 1, 3: 1, 4: 1 };

const dir = mkdtempSync(join(tmpdir(), 'transseg-brats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entry = (split: string, id: string) => ({
  id,
  image: [join(BRATS, split, id, 'Flair_subtrMeanDivStd.nii.gz'), join(BRATS, split, id, 'T1c_subtrMeanDivStd.nii.gz')],
  label: join(BRATS, split, id, 'OTMultiClass.nii.gz'),
});

describe.skipIf(!HAVE_DATA)(`BRATS FLAIR + T1c${SKIP_NOTE}`, () => {
  it('validates, loads a whole-tumour case and cuts window k = 77', async () => {
    const jsonPath = join(dir, 'dataset.json');
    writeFileSync(jsonPath, JSON.stringify({
      name: 'BRATS2013', modality: { 0: 'FLAIR', 1: 'T1c' },
      labels: { 0: 'background', 1: 'necrosis', 2: 'edema', 3: 'non-enhancing tumour', 4: 'enhancing tumour' },
      training: CASES.train.map((id) => entry('train', id)),
      validation: CASES.validation.map((id) => entry('validation', id)),
    }));
    const { dataset, summary } = await openDataset(jsonPath, { remap: WHOLE_TUMOUR });
    expect([summary.cases, summary.files, summary.classVoxels.length]).toEqual([3, 9, 2]);
    expect(summary.classVoxels[1]).toBeGreaterThan(0);

    const loaded = await loadCaseFile(dataset.training[0], { remap: WHOLE_TUMOUR });
    expect([loaded.id, loaded.dims, loaded.channels]).toEqual(['brats_2013_pat0005_1', [240, 240, 155], 2]);
    const { window, label } = extractWindow(loaded, 77, 5);
    expect([window.channels, window.depth, window.height, window.width]).toEqual([2, 5, 240, 240]);
    expect(label!.length).toBe(240 * 240);
    expect(label!.every((v) => v === 0 || v === 1)).toBe(true);
    expect(label!.some((v) => v === 1)).toBe(true); // the tumour crosses slice 77

    // Orientation: window[c, d = 2, h, w] is voxel (x = h, y = w, z = 77) of channel c's file.
    const t1c = await readNiftiFile(dataset.training[0].image[1]);
    const raw = await readNiftiFile(dataset.training[0].label);
    const [X, Y] = [240, 240];
    const slice = X * Y * 77;
    const tumour = raw.data.subarray(slice, slice + X * Y).findIndex((v) => v > 0);
    expect(tumour).toBeGreaterThanOrEqual(0);
    for (const [h, w] of [[0, 0], [120, 77], [239, 3], [17, 200], [tumour % X, Math.floor(tumour / X)]]) {
      const voxel = h + X * (w + Y * 77);
      expect(window.data[((1 * 5 + 2) * 240 + h) * 240 + w]).toBe(t1c.data[voxel]);
      expect(label![h * 240 + w]).toBe(raw.data[voxel] > 0 ? 1 : 0);
    }
  });

  it('crops to the brain: the z-scored files hold −mean/std outside it, and every voxel is nonzero', async () => {
    const loaded = await loadCaseFile(entry('train', CASES.train[0]), { remap: WHOLE_TUMOUR });
    expect(loaded.image.every((v) => v !== 0)).toBe(true); // a "nonzero" rule would keep the 240² grid
    const box = foregroundBox(loaded, noIntensity, 4);
    // The brain of pat0005 spans x 49–189, y 47–215, z 6–143 (the voxels that differ from the corners).
    expect(box).toEqual({ start: [45, 43, 2], end: [194, 220, 148] });
    const label = loaded.label!;
    const [X, Y] = loaded.dims;
    for (let i = 0; i < label.length; i++) {
      if (label[i] === 0) continue;
      const x = i % X, y = Math.floor(i / X) % Y, z = Math.floor(i / (X * Y));
      if (x < box.start[0] || x >= box.end[0] || y < box.start[1] || y >= box.end[1] || z < box.start[2] || z >= box.end[2]) throw new Error(`tumour voxel (${x}, ${y}, ${z}) outside the box`);
    }
  });
});
