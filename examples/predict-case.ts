// README's "The library" example: load a model file that `transseg train` wrote, segment one case
// with the preprocessing, test-time flips and post-processing the file records, and write the
// labels as NIfTI in the input's geometry (what `transseg predict` does for one case).
//
//   node dist/examples/predict-case.js MODEL.safetensors OUT.nii.gz IMAGE.nii.gz [IMAGE2.nii.gz …]
//
// One image file per modality, in the model's order (a 4-D file holds them all).

import { Gpu, infer, predictCase, segmenterFromFile } from '../src/index.js'; // 'transseg-webgpu'
import { loadCaseFile, readSafetensorsFile, writeNiftiFile } from '../src/node.js'; // 'transseg-webgpu/node'

const [modelPath, outPath, ...images] = process.argv.slice(2);
if (!modelPath || !outPath || images.length === 0) {
  console.error('usage: node dist/examples/predict-case.js MODEL.safetensors OUT.nii.gz IMAGE.nii.gz [IMAGE2.nii.gz …]');
  process.exit(2);
}

const gpu = await Gpu.create();
const loaded = segmenterFromFile(gpu, await readSafetensorsFile(modelPath), modelPath);
const volume = await loadCaseFile({ image: images });
const mismatch = infer.channelMismatch(volume.channels, loaded.header.encoder.inChannels, loaded.header.modalities);
if (mismatch) {
  console.error(`predict-case: ${images.join(', ')}: ${mismatch}`);
  process.exit(1);
}
const { labels } = await predictCase(loaded, volume);
await writeNiftiFile(outPath, labels, volume.geometry, { datatype: labels.datatype });
console.log(`${outPath}: labels ${labels.dims.join('×')} for classes ${loaded.header.labels.join(', ')}`);
loaded.model.dispose();
gpu.destroy();
