// Inputs for the browser test: tiny random segmenters saved as model files (as `transseg train`
// writes them), a phantom volume on an oblique grid, written as one file per modality and as one
// 4-D file, a larger one for the responsiveness check, and for fine-tuning a tiny random encoder
// file (as `transseg inflate` writes one) and a small phantom dataset with its dataset.json.
import { join } from 'node:path';
import { generatePhantom, PHANTOM_LABELS } from '../../src/synthetic/phantom.js';
import { writePhantomDataset } from '../../src/synthetic/phantom-node.js';
import type { Gpu } from '../../src/gpu/gpu.js';
import { writeNiftiFile } from '../../src/io/nifti-node.js';
import { writeSafetensorsFile } from '../../src/io/safetensors-node.js';
import type { VitConfig } from '../../src/model/config.js';
import { readWeights } from '../../src/model/load-weights.js';
import { modelFileMetadata, type SegmenterFileHeader } from '../../src/model/model-file.js';
import { segmenterFileContents } from '../../src/checkpoint/segmenter-file.js';
import { Segmenter } from '../../src/model/segmenter.js';
import { VisionTransformer } from '../../src/model/vit.js';
import { obliqueHeader } from '../helpers/oblique.js';

/** Not a multiple of the model's 8×8 in-plane, and 7 slices: one batch of the default 8. */
export const DIMS = [26, 22, 7];

/** A tiny encoder: E 16, one block, patch 4 on 8×8, windows of 3 slices. */
const tinyConfig = (inChannels: number): VitConfig => ({
  embedDim: 16, depth: 1, heads: 2, mlpHidden: 32, patchSize: 4, imageSize: [8, 8], inChannels, depthSlices: 3,
  eps: 1e-6, qkvBias: true, layerScale: false, positionEmbedding: true, relativePositionBias: false, prefixTokens: 1,
  finalNorm: 'none', head: { kind: 'none' }, normalization: { mean: [0], std: [1] },
});

/** Builds a random segmenter for the phantom's classes and saves it as a model file. */
export async function writeModel(gpu: Gpu, file: string, modalities: string[], seed: number): Promise<void> {
  const header: SegmenterFileHeader = {
    kind: 'segmenter', encoder: tinyConfig(modalities.length), segmenter: { classes: PHANTOM_LABELS.length, decoder: 'convtrans', channels: 4 },
    labels: [...PHANTOM_LABELS], modalities, preprocessing: { intensity: { kind: 'clip', aMin: -100, aMax: 300 } }, provenance: { test: 'browser' },
  };
  const model = new Segmenter(gpu, seed, header.encoder, header.segmenter);
  const weights = await readWeights(model);
  model.dispose();
  const { tensors, metadata } = segmenterFileContents(header, weights);
  await writeSafetensorsFile(file, tensors, metadata);
}

const oblique = (dims: number[]) => obliqueHeader(dims, [1.5, 1.4, 2.5], 4);

export interface VolumeFiles {
  /** The CT-like phantom, int16 Hounsfield units. */
  ct: string;
  /** A second modality on the same grid (a contrast change of the first). */
  second: string;
  /** Both as one 4-D file [X, Y, Z, 2]. */
  both: string;
}

export async function writeVolumes(folder: string): Promise<VolumeFiles> {
  const { image } = generatePhantom(7, { dims: DIMS as [number, number, number], spacing: [1.5, 1.4, 2.5] });
  const second = image.map((v) => Math.round(0.6 * v + 40));
  const files = { ct: join(folder, 'phantom.nii.gz'), second: join(folder, 'phantom_0001.nii.gz'), both: join(folder, 'phantom_4d.nii.gz') };
  await writeNiftiFile(files.ct, { dims: DIMS, data: image }, oblique(DIMS), { datatype: 'int16' });
  await writeNiftiFile(files.second, { dims: DIMS, data: second }, oblique(DIMS), { datatype: 'int16' });
  await writeNiftiFile(files.both, { dims: [...DIMS, 2], data: new Float32Array([...image, ...second]) }, oblique([...DIMS, 2]), { datatype: 'int16' });
  return files;
}

/** A random tiny one-channel encoder saved as `transseg inflate` writes one. */
export async function writeEncoder(gpu: Gpu, file: string, seed: number): Promise<void> {
  const encoder = new VisionTransformer(gpu, seed, tinyConfig(1));
  const weights = await readWeights(encoder);
  encoder.dispose();
  await writeSafetensorsFile(file, [...weights], modelFileMetadata({ kind: 'encoder', encoder: tinyConfig(1), provenance: { test: 'browser fine-tuning' } }));
}

/** Four labelled phantom cases (one of them held out for validation by the seeded split) and their dataset.json. */
export async function writeTrainingSet(folder: string): Promise<void> {
  await writePhantomDataset(folder, { training: 4, validation: 0, test: 0, seed: 11, phantom: { dims: [24, 24, 6], spacing: [1.5, 1.5, 4] } });
}

/** A phantom large enough that segmenting it takes seconds on SwiftShader: 192×192×96. */
export async function writeLargeVolume(folder: string): Promise<string> {
  const dims: [number, number, number] = [192, 192, 96];
  const { image } = generatePhantom(5, { dims, spacing: [1, 1, 3] });
  const file = join(folder, 'large.nii.gz');
  await writeNiftiFile(file, { dims, data: image }, oblique(dims), { datatype: 'int16' });
  return file;
}
