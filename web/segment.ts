// One segmentation in the page's worker: the library's predictCase (the code `transseg predict` runs),
// timed, and its outputs encoded by writeNifti into the files Node's writer makes (gzipped NIfTI-1
// in the input's geometry: labels as uint8 / int16, probabilities as float32 [X, Y, Z, K]).

import { io, predictCase, type LoadedSegmenter, type PredictionVolume } from '../src/index.js';
import type { SegmentResult } from './protocol.js';
import type { ImageCase } from './volume.js';

const { writeNifti } = io;

export async function segment(
  loaded: LoadedSegmenter, image: ImageCase, options: { probabilities: boolean; onProgress: (done: number, total: number) => void },
): Promise<SegmentResult> {
  const started = performance.now();
  const prediction = await predictCase(loaded, image.volume, { probabilities: options.probabilities, onProgress: options.onProgress });
  const seconds = (performance.now() - started) / 1000;
  const encode = async (v: PredictionVolume) => {
    const bytes = await writeNifti(v, image.volume.geometry, { datatype: v.datatype, gzip: true });
    return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/gzip' }); // a fresh, unshared buffer
  };
  const { labels, probabilities, warnings } = prediction;
  return {
    labels: labels.data,
    seconds,
    warnings,
    files: { labels: await encode(labels), probabilities: probabilities && await encode(probabilities) },
  };
}
