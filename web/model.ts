// Opening a model file in the page's worker: the safetensors bytes parsed and the segmenter built on the
// GPU by the same library calls `transseg predict` makes (segmenterFromFile), and a one-line
// description of what the file says the model needs.

import { io, segmenterFromFile, type Gpu, type LoadedSegmenter, type model } from '../src/index.js';

const { parseSafetensors } = io;
type SegmenterFileHeader = model.SegmenterFileHeader;

export async function openModel(gpu: Gpu, file: File): Promise<LoadedSegmenter> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  return segmenterFromFile(gpu, parseSafetensors(bytes, file.name), file.name);
}

export function describeModel(header: SegmenterFileHeader): string {
  const { encoder, labels, modalities } = header;
  const channels = modalities.length === 1 ? `1 modality (${modalities[0]})` : `${modalities.length} modalities (${modalities.join(', ')}, in this order)`;
  return `${labels.length} classes; ${channels}; windows of ${encoder.depthSlices} slices resized to ${encoder.imageSize.join('×')}.`;
}
