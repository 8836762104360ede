// The files the fuzz suite mutates: real ones from ../shared/data when it is there (NIfTI-1 and -2,
// gzipped or not, big-endian, .hdr/.img pairs with and without magic, 4-D/5-D, extensions; the
// real ViT safetensors), and files the library writes itself (always).

import { existsSync, readFileSync } from 'node:fs';
import type { Gpu } from '../src/gpu/gpu.js';
import type { NiftiHeader } from '../src/io/nifti.js';
import { writeNifti } from '../src/io/nifti-write.js';
import { serializeSafetensors } from '../src/io/safetensors.js';
import type { VitConfig } from '../src/model/config.js';
import { readWeights } from '../src/model/load-weights.js';
import { modelFileMetadata, type SegmenterFileHeader } from '../src/model/model-file.js';
import { segmenterFileContents } from '../src/checkpoint/segmenter-file.js';
import { Segmenter, type SegmenterOptions } from '../src/model/segmenter.js';
import type { ModelSample } from './model.js';
import type { NiftiSample } from './nifti.js';
import { joinFile, type SafetensorsSample } from './safetensors.js';

export const DATA = '../shared/data';

/** Small real files (the BRATS volumes are left out: 35 MB each, they would dominate the time). */
const REAL_NIFTI = [
  'nifti-cases/tiny/standard.nii.gz', 'nifti-cases/4d/functional.nii', 'nifti-cases/4d/example4d.nii.gz',
  'nifti-cases/5d/5D_small.nii', 'nifti-cases/big_endian/minimal.nii.gz', 'nifti-cases/big_endian/big.nii.gz',
  'nifti-cases/nifti2/example_nifti2.nii.gz', 'nifti-cases/nan/resampled_anat_moved.nii', 'nifti-cases/qform_only/little.nii.gz',
  'nifti-cases/scaling/someones_anatomy.nii.gz', 'pairs/tiny_monai_anatomical/anatomical.nii',
  'pairs/tiny_monai_anatomical/reoriented_anat_moved_label.nii.gz', 'pairs/totalseg_ct/example_seg_mr.nii.gz',
];
const REAL_PAIRS: [string, string][] = [
  ['nifti-cases/analyze_pair/ras.hdr', 'nifti-cases/analyze_pair/ras.img'],
  ['nifti-cases/analyze_pair/air.hdr.gz', 'nifti-cases/analyze_pair/air.img.gz'],
];
const REAL_SAFETENSORS = 'weights/vit4mnist/vit4mnist.safetensors';

export const haveSharedData = (): boolean => existsSync(`${DATA}/nifti-cases`);

const read = (path: string): Uint8Array => new Uint8Array(readFileSync(path));

function madeHeader(dims: number[]): NiftiHeader {
  return {
    format: 'nifti1', pair: false, littleEndian: true, dim: [3, ...dims, 1, 1, 1, 1], pixdim: [1, 1.5, 1, 2, 1, 1, 1, 1],
    datatypeCode: 0, voxOffset: 352, sclSlope: 1, sclInter: 0, dimInfo: 0, intentCode: 0, intentName: '', xyztUnits: 2,
    qformCode: 1, sformCode: 1, quatern: [0, 0, 0], qoffset: [-4, -3, -2], srow: [1.5, 0, 0, -4, 0, 1, 0, -3, 0, 0, 2, -2], description: 'fuzz',
  };
}

export async function niftiCorpus(): Promise<NiftiSample[]> {
  const made: NiftiSample[] = [];
  for (const [name, datatype, gzip] of [['made-u8.nii', 'uint8', false], ['made-f32.nii.gz', 'float32', true], ['made-i16.nii.gz', 'int16', true]] as const) {
    const dims = [6, 5, 4];
    const data = Float32Array.from({ length: 120 }, (_, i) => (i * 7) % 200);
    made.push({ name, bytes: await writeNifti({ dims, data }, madeHeader(dims), { datatype, gzip }) });
  }
  if (!haveSharedData()) return made;
  return [
    ...made,
    ...REAL_NIFTI.map((p) => ({ name: `${DATA}/${p}`, bytes: read(`${DATA}/${p}`) })),
    ...REAL_PAIRS.map(([h, i]) => ({ name: `${DATA}/${h}`, bytes: read(`${DATA}/${h}`), companion: read(`${DATA}/${i}`), companionName: `${DATA}/${i}` })),
  ];
}

export function safetensorsCorpus(): SafetensorsSample[] {
  const f32 = serializeSafetensors(
    [['a', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }], ['b', { shape: [], data: Float32Array.from([7]) }], ['c', { shape: [0, 4], data: new Float32Array(0) }]],
    { note: 'made by the fuzz suite' },
  );
  // Foreign dtypes, as another writer would lay them out.
  const mixed = joinFile(JSON.stringify({
    __metadata__: { a: 'b' },
    h: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] },
    l: { dtype: 'I64', shape: [2], data_offsets: [8, 24] },
    z: { dtype: 'BF16', shape: [3], data_offsets: [24, 30] },
    u: { dtype: 'U8', shape: [2], data_offsets: [30, 32] },
  }), Uint8Array.from({ length: 32 }, (_, i) => (i * 37) % 256));
  const made = [{ name: 'made-f32.safetensors', bytes: f32 }, { name: 'made-mixed.safetensors', bytes: mixed }];
  return existsSync(`${DATA}/${REAL_SAFETENSORS}`) ? [...made, { name: `${DATA}/${REAL_SAFETENSORS}`, bytes: read(`${DATA}/${REAL_SAFETENSORS}`) }] : made;
}

const TINY: VitConfig = {
  embedDim: 16, depth: 1, heads: 2, mlpHidden: 32, patchSize: 4, imageSize: [8, 8], inChannels: 2, depthSlices: 3,
  eps: 1e-6, qkvBias: true, layerScale: false, positionEmbedding: true, relativePositionBias: false, prefixTokens: 1,
  finalNorm: 'none', head: { kind: 'none' }, normalization: { mean: [0, 0], std: [1, 1] },
};

/** Tiny segmenters with each decoder, and an encoder file, written by the library. */
export async function modelCorpus(gpu: Gpu): Promise<ModelSample[]> {
  const samples: ModelSample[] = [];
  const decoders: SegmenterOptions[] = [
    { classes: 3, decoder: 'convtrans', channels: 4 }, { classes: 2, decoder: 'setr-pup', channels: 4 },
    { classes: 3, decoder: 'upernet', channels: 4, featureIndices: [0, 0, 0, 0] },
  ];
  for (const segmenter of decoders) {
    const header: SegmenterFileHeader = {
      kind: 'segmenter', encoder: TINY, segmenter, labels: Array.from({ length: segmenter.classes }, (_, i) => `class ${i}`),
      modalities: ['T1', 'FLAIR'], preprocessing: { intensity: { kind: 'clip', aMin: -100, aMax: 300 }, cropForeground: 2, remap: { 2: 1 } },
      validationCases: ['case-1'], provenance: { fuzz: true },
    };
    const model = new Segmenter(gpu, 1, TINY, segmenter);
    const weights = await readWeights(model);
    model.dispose();
    const { tensors, metadata } = segmenterFileContents(header, weights);
    samples.push({ name: `made-${segmenter.decoder}.safetensors`, bytes: serializeSafetensors(tensors, metadata) });
    if (segmenter.decoder === 'convtrans') {
      const encoder = tensors.filter(([n]) => n.startsWith('encoder.')).map(([n, t]): [string, typeof t] => [n.slice('encoder.'.length), t]);
      samples.push({ name: 'made-encoder.safetensors', bytes: serializeSafetensors(encoder, modelFileMetadata({ kind: 'encoder', encoder: TINY, provenance: {} })) });
    }
  }
  return samples;
}
