// Prediction time as a user of `transseg predict` feels it: one whole BRATS volume (240×240×155,
// FLAIR and T1c) through a ViT-Tiny/16 + UPerNet segmenter at 96² in-plane (5-slice windows), on a
// fresh context, so the first pass includes shader compilation; then the same again, warm.
// Weights are random: the time does not depend on them. Reading the NIfTI files is timed apart;
// writing the labels (the CLI's last step) is not included.
// `node dist/bench/predict.js [CASE_DIR] [--image-size 96] [--batch-size 8]`
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Gpu, predictVolume, Segmenter } from '../src/index.js';
import { loadCaseFile } from '../src/node.js';
import { modelConfig } from './models.js';

const { values, positionals } = parseArgs({
  options: { 'image-size': { type: 'string', default: '96' }, 'batch-size': { type: 'string', default: '8' } },
  allowPositionals: true,
});
const dir = positionals[0] ?? '../shared/data/pairs/brats/validation/brats_2013_pat0003_1';
const files = ['Flair_subtrMeanDivStd.nii.gz', 'T1c_subtrMeanDivStd.nii.gz'].map((f) => join(dir, f));
const missing = files.filter((f) => !existsSync(f));
if (missing.length) throw new Error(`predict bench: ${missing.join(', ')} not found; pass a BRATS case folder (see ../shared/data/MANIFEST.md)`);
const size = Number(values['image-size']);
const batchSize = Number(values['batch-size']);

let t0 = performance.now();
const volume = await loadCaseFile({ image: files });
const readMs = performance.now() - t0;
const gpu = await Gpu.create();
// BRATS: two modalities, labels 0..4; the volumes are already z-scored inside the brain.
const model = new Segmenter(gpu, 1, { ...modelConfig('vit-tiny', size), inChannels: 2 }, { classes: 5 });
model.eval();
const times: number[] = [];
for (let run = 0; run < 2; run++) {
  t0 = performance.now();
  await predictVolume(model, volume, { intensity: { kind: 'none' }, batchSize });
  times.push(performance.now() - t0);
}
model.dispose();
gpu.destroy();
console.log(`| case | volume | model | read ms | first prediction ms (compiles) | warm prediction ms |`);
console.log(`|---|---|---|---|---|---|`);
console.log(`| ${dir.split('/').pop()} | ${volume.dims.join('×')}×${volume.channels} | vit-tiny + UPerNet at ${size}², batch ${batchSize} | ${readMs.toFixed(0)} | ${times[0].toFixed(0)} | ${times[1].toFixed(0)} |`);
