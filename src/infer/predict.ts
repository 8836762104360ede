// Whole-volume prediction: every slice's window through the model, in batches, and the centre-slice
// predictions stacked back into a volume on the input's own grid.
//
// Per slice k: the D-slice window (edges replicated) → area-resized in-plane to the model size →
// the dataset's intensity transform → the model → class probabilities (softmax over classes) →
// resized back to the input's in-plane size bilinearly (align_corners = False) → argmax. Undoing
// the resize on probabilities before the argmax is what MONAI's Invertd + AsDiscrete does;
// TransSeg itself scored the argmax at the model's grid (docs/method.md §2), so our Dice on the
// original grid is the stricter number. Each slice is predicted once: windows do not overlap in z.
// With `cropForeground`, only the foreground box (src/data/foreground.ts) goes through the model;
// everything outside it is background (probability 1 for class 0).
// With `flips`, each window is also predicted flipped along H, along W and along both; the four
// softmax outputs, flipped back, are averaged (test-time augmentation; the flips form a group, so
// the result for a flipped input is the flipped result). `postprocess` (src/infer/postprocess.ts)
// then cleans the argmax on the input's grid; the probabilities are returned as predicted.

import { noGrad } from '../autograd/tape.js';
import type { LoadedCase } from '../data/volume.js';
import { foregroundMask } from '../data/background.js';
import { cropCase, foregroundBox } from '../data/foreground.js';
import { normalizeScan, windowIntensity, type IntensitySpec } from '../data/intensity.js';
import { resizeBilinear, resizeWindow, uncropFromBox } from '../data/resize.js';
import { extractWindow, placeSlice } from '../data/windows.js';
import type { Segmenter } from '../model/segmenter.js';
import { scope } from '../tensor/scope.js';
import type { PostProcessing } from '../model/model-file.js';
import { postProcess } from './postprocess.js';
import { Tensor } from '../tensor/tensor.js';

export interface PredictOptions {
  intensity: IntensitySpec;
  /** Predict only the foreground box grown by this many voxels (a model trained so); absent: the whole grid. */
  cropForeground?: number;
  /** Average the predictions of the window and its flips along H, W and both (test-time augmentation). */
  flips?: boolean;
  /** Clean-up of the label volume (connected components, islands, mask); none when absent. */
  postprocess?: PostProcessing;
  /** Windows per forward pass. */
  batchSize?: number;
  /** Also return the class probabilities, [K, Z, Y, X]. */
  probabilities?: boolean;
  onProgress?: (slicesDone: number, slices: number) => void;
}

export interface VolumePrediction {
  /** Class ids, [Z, Y, X] in C order (NIfTI x-fastest order), the input's grid. */
  labels: Float32Array;
  /** Class probabilities, [K, Z, Y, X], when asked for. */
  probabilities?: Float32Array;
}

/** Softmax over the class axis of logits [B, K, H, W], in f64, rounded to f32. */
function softmaxClasses(logits: Float32Array, batch: number, classes: number, plane: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let b = 0; b < batch; b++) {
    for (let p = 0; p < plane; p++) {
      const at = (k: number) => (b * classes + k) * plane + p;
      let max = -Infinity;
      for (let k = 0; k < classes; k++) max = Math.max(max, logits[at(k)]);
      let sum = 0;
      for (let k = 0; k < classes; k++) sum += Math.exp(logits[at(k)] - max);
      for (let k = 0; k < classes; k++) out[at(k)] = Math.exp(logits[at(k)] - max) / sum;
    }
  }
  return out;
}

/** Reverses the rows (flipH) and/or the columns (flipW) of every [H, W] plane of `data`, in a copy. */
export function flipPlanes(data: Float32Array, [H, W]: readonly [number, number], flipH: boolean, flipW: boolean): Float32Array {
  const out = new Float32Array(data.length);
  const plane = H * W;
  for (let p = 0; p < data.length; p += plane) {
    for (let h = 0; h < H; h++) {
      const from = p + (flipH ? H - 1 - h : h) * W;
      for (let w = 0; w < W; w++) out[p + h * W + w] = data[from + (flipW ? W - 1 - w : w)];
    }
  }
  return out;
}

/** The flips averaged with `flips`: [along H, along W]. */
const FLIPS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

export async function predictVolume(
  model: Segmenter, volume: Pick<LoadedCase, 'image' | 'dims' | 'channels'>, options: PredictOptions,
): Promise<VolumePrediction> {
  const prediction = await predictCropped(model, normalizeScan(options.intensity, volume), options);
  const p = options.postprocess;
  if (p) {
    const mask = p.maskForeground ? foregroundMask(volume.image, volume.channels, volume.dims) : undefined; // the input as read: outside the brain of skull-stripped MRI
    postProcess(prediction.labels, volume.dims, p, mask);
  }
  return prediction;
}

/** predictVolume without the post-processing, on a scan normalizeScan has seen. */
async function predictCropped(
  model: Segmenter, volume: Pick<LoadedCase, 'image' | 'dims' | 'channels'>, options: PredictOptions,
): Promise<VolumePrediction> {
  if (options.cropForeground !== undefined) {
    const box = foregroundBox(volume, windowIntensity(options.intensity), options.cropForeground);
    const inBox = await predictCropped(model, cropCase(volume, box), { ...options, cropForeground: undefined });
    const n = volume.dims[0] * volume.dims[1] * volume.dims[2];
    const boxVoxels = inBox.labels.length;
    let probabilities: Float32Array | undefined;
    if (inBox.probabilities) {
      probabilities = new Float32Array(model.classes * n);
      probabilities.set(uncropFromBox(inBox.probabilities.subarray(0, boxVoxels), 1, box, volume.dims, 1));
      probabilities.set(uncropFromBox(inBox.probabilities.subarray(boxVoxels), model.classes - 1, box, volume.dims, 0), n);
    }
    return { labels: uncropFromBox(inBox.labels, 1, box, volume.dims, 0), probabilities };
  }
  const config = model.encoder.config;
  const [S0, S1] = config.imageSize;
  const D = config.depthSlices;
  const [X, Y, Z] = volume.dims;
  if (volume.channels !== config.inChannels) {
    throw new Error(`predict: the model takes ${config.inChannels} channel(s), the volume has ${volume.channels}`);
  }
  const K = model.classes;
  const batchSize = options.batchSize ?? 8;
  const intensity = windowIntensity(options.intensity);
  const labels = new Float32Array(X * Y * Z);
  const probabilities = options.probabilities ? new Float32Array(K * X * Y * Z) : undefined;
  const plane = X * Y;
  const wasTraining = model.training;
  model.eval();
  try {
    for (let k0 = 0; k0 < Z; k0 += batchSize) {
      const ks = Array.from({ length: Math.min(batchSize, Z - k0) }, (_, i) => k0 + i);
      const input = new Float32Array(ks.length * volume.channels * D * S0 * S1);
      ks.forEach((k, b) => {
        const window = resizeWindow(extractWindow(volume, k, D).window, [S0, S1]);
        input.set(intensity(window.data, volume.channels), b * window.data.length);
      });
      const probs = new Float32Array(ks.length * K * S0 * S1);
      const flips = options.flips ? FLIPS : FLIPS.slice(0, 1);
      for (const [flipH, flipW] of flips) {
        const flipped = flipH || flipW ? flipPlanes(input, [S0, S1], flipH, flipW) : input;
        const logitsT = noGrad(() => scope(() => model.forward(Tensor.fromArray(model.gpu, flipped, [ks.length, volume.channels, D, S0, S1]))));
        const logits = await logitsT.read();
        logitsT.dispose();
        const p = softmaxClasses(logits, ks.length, K, S0 * S1);
        const back = flipH || flipW ? flipPlanes(p, [S0, S1], flipH, flipW) : p;
        for (let i = 0; i < probs.length; i++) probs[i] += back[i] / flips.length;
      }
      ks.forEach((k, b) => {
        // Back to the input's in-plane size [H = X, W = Y], then argmax per pixel.
        const p = resizeBilinear(probs.subarray(b * K * S0 * S1, (b + 1) * K * S0 * S1), K, [S0, S1], [X, Y]);
        const slice = new Float32Array(plane);
        for (let i = 0; i < plane; i++) {
          let best = 0;
          for (let c = 1; c < K; c++) if (p[c * plane + i] > p[best * plane + i]) best = c;
          slice[i] = best;
        }
        placeSlice(labels, [X, Y, Z], k, slice);
        if (probabilities) {
          for (let c = 0; c < K; c++) {
            placeSlice(probabilities.subarray(c * plane * Z, (c + 1) * plane * Z), [X, Y, Z], k, p.subarray(c * plane, (c + 1) * plane));
          }
        }
      });
      options.onProgress?.(Math.min(k0 + batchSize, Z), Z);
    }
  } finally {
    model.train(wasTraining);
  }
  return { labels, probabilities };
}
