// One case as `transseg predict` handles it, in plain TypeScript (no Node), so that the browser
// page (web/) runs literally the same code as the command line: the check of the input's channels
// against the model file (and of their intensities against the training scans'), the prediction
// with the file's preprocessing, and the volumes to write in the input's geometry. Writing them
// (writeNifti, or writeNiftiFile on disk) is the caller's.

import { intensityMismatches } from '../data/intensity-reference.js';
import type { LoadedCase } from '../data/volume.js';
import type { NiftiWriteDatatype } from '../io/nifti-write.js';
import type { SegmenterFileHeader } from '../model/model-file.js';
import type { LoadedSegmenter } from '../checkpoint/segmenter-file.js';
import { predictVolume, type PredictOptions } from './predict.js';

/** Why `found` input channels do not fit a model taking `channels` (named `modalities`), or null. */
export function channelMismatch(found: number, channels: number, modalities: readonly string[]): string | null {
  if (found === channels) return null;
  return `${found} channel${found === 1 ? '' : 's'}, but the model takes ${channels} (${modalities.join(', ')}${channels > 1 ? ', in this order' : ''})`;
}

/** Class ids 0..K−1: one byte while they fit, int16 (NIfTI-1's next signed type) beyond. */
export function labelDatatype(classes: number): 'uint8' | 'int16' {
  return classes - 1 <= 255 ? 'uint8' : 'int16';
}

/** A volume to write with writeNifti in the input's geometry, and the type to store it as. */
export interface PredictionVolume {
  dims: number[];
  /** x fastest (NIfTI order); for probabilities one volume per class, class outermost. */
  data: Float32Array;
  datatype: NiftiWriteDatatype;
}

export interface CasePrediction {
  /** Class ids on the input's grid [X, Y, Z]. */
  labels: PredictionVolume;
  /** Class probabilities [X, Y, Z, K] as float32, when asked for. */
  probabilities?: PredictionVolume;
  /** Lines for the user about the input: a channel on another intensity scale than the training scans (intensity-reference.ts). */
  warnings: string[];
}

export interface PredictCaseOptions {
  /** Windows per forward pass (predictVolume's default when absent). */
  batchSize?: number;
  probabilities?: boolean;
  onProgress?: (slicesDone: number, slices: number) => void;
}

/**
 * The prediction settings a model file records: its preprocessing, test-time flips and
 * post-processing. Every caller that predicts with a model file (predict, evaluate, the web page)
 * goes through this, so they all apply the same.
 */
export function modelPredictOptions(header: SegmenterFileHeader): PredictOptions {
  return {
    intensity: header.preprocessing.intensity,
    cropForeground: header.preprocessing.cropForeground,
    flips: header.inference?.flips,
    postprocess: header.inference?.postprocess,
  };
}

/** The lines for the user about `volume` as input to a model file: its channels' intensities against the training scans'. */
export function inputWarnings(header: SegmenterFileHeader, volume: LoadedCase): string[] {
  const { intensity, intensityReference: reference } = header.preprocessing;
  return reference ? intensityMismatches(volume, intensity, reference, volume.id, header.modalities) : [];
}

/** Segments one loaded case with a model file's segmenter and preprocessing. */
export async function predictCase(loaded: LoadedSegmenter, volume: LoadedCase, options: PredictCaseOptions = {}): Promise<CasePrediction> {
  const { model, header } = loaded;
  const K = model.classes;
  const warnings = inputWarnings(header, volume);
  const prediction = await predictVolume(model, volume, {
    ...modelPredictOptions(header),
    batchSize: options.batchSize,
    probabilities: options.probabilities,
    onProgress: options.onProgress,
  });
  return {
    labels: { dims: [...volume.dims], data: prediction.labels, datatype: labelDatatype(K) },
    probabilities: prediction.probabilities && { dims: [...volume.dims, K], data: prediction.probabilities, datatype: 'float32' },
    warnings,
  };
}
