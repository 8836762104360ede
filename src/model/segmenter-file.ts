// A trained segmenter in one of our model files (kind 'segmenter'): building the model from the
// header and loading its weights, strictly; and the contents to write one.

import type { Gpu } from '../gpu/gpu.js';
import type { SafetensorsFile } from '../io/safetensors.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { loadWeights } from './load-weights.js';
import { modelFileMetadata, readModelFileHeader, type SegmenterFileHeader } from './model-file.js';
import { checkAgainstTensors } from './model-file-schema.js';
import { Segmenter } from './segmenter.js';

export interface LoadedSegmenter {
  model: Segmenter;
  header: SegmenterFileHeader;
}

export function segmenterFromFile(gpu: Gpu, file: SafetensorsFile, fileName: string): LoadedSegmenter {
  const header = readModelFileHeader(file.metadata, fileName);
  if (!header || header.kind !== 'segmenter') {
    throw new Error(`${fileName}: not a trained segmenter (expected a file written by \`transseg train\`, found ${header ? `a '${header.kind}' file` : 'a foreign checkpoint'})`);
  }
  checkAgainstTensors(header.encoder, header.segmenter, file.tensors, fileName); // before anything is built
  let model: Segmenter;
  try {
    model = new Segmenter(gpu, 0, header.encoder, header.segmenter); // checks its options before it allocates
  } catch (e) {
    throw new Error(`${fileName}: __metadata__.segmenter: ${(e as Error).message.replace(/^Segmenter: /, '')}`);
  }
  try {
    loadWeights(model, file.tensors, fileName);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, header };
}

export function segmenterFileContents(header: SegmenterFileHeader, weights: Map<string, HostTensor>): {
  tensors: [string, HostTensor][];
  metadata: Record<string, string>;
} {
  return { tensors: [...weights], metadata: modelFileMetadata(header) };
}
