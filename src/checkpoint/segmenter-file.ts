// A trained segmenter in one of our model files (kind 'segmenter'): building the model from the
// header and loading its weights, strictly; and the contents to write one.

import { importTranssegTorch, isTranssegTorchLayout } from './transseg-torch.js';
import type { Gpu } from '../gpu/gpu.js';
import type { SafetensorsFile } from '../io/safetensors.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { loadWeights } from '../model/load-weights.js';
import { modelFileMetadata, readModelFileHeader, type SegmenterFileHeader } from '../model/model-file.js';
import { Segmenter } from '../model/segmenter.js';
import { checkAgainstTensors } from '../model/model-file-schema.js';

export interface LoadedSegmenter {
  model: Segmenter;
  header: SegmenterFileHeader;
}

/**
 * Builds the segmenter of one of our model files, or of a state_dict of the authors' PyTorch
 * code (src/checkpoint/transseg-torch.ts), told apart by the file's names.
 */
export function segmenterFromFile(gpu: Gpu, file: SafetensorsFile, fileName: string): LoadedSegmenter {
  const ours = readModelFileHeader(file.metadata, fileName);
  const imported = ours === null && isTranssegTorchLayout(file.tensors.keys()) ? importTranssegTorch(file, fileName) : null;
  const header = imported?.header ?? ours;
  if (!header || header.kind !== 'segmenter') {
    throw new Error(`${fileName}: not a trained segmenter (expected a file written by \`transseg train\`, found ${header ? `a '${header.kind}' file` : 'a foreign checkpoint'}; the authors' PyTorch state_dicts are read too)`);
  }
  checkAgainstTensors(header.encoder, header.segmenter, imported?.tensors ?? file.tensors, fileName); // before anything is built
  let model: Segmenter;
  try {
    model = new Segmenter(gpu, 0, header.encoder, header.segmenter); // checks its options before it allocates
  } catch (e) {
    throw new Error(`${fileName}: __metadata__.segmenter: ${(e as Error).message.replace(/^Segmenter: /, '')}`);
  }
  try {
    loadWeights(model, imported?.tensors ?? file.tensors, fileName);
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
