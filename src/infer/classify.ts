// Image classification with a 2-D checkpoint's own head: the quick proof that a checkpoint was
// read and mapped correctly before anyone inflates it.

import type { Image } from '../io/png.js';
import type { VisionTransformer } from '../model/vit.js';
import { noGrad } from '../autograd/tape.js';
import { softmax } from '../ops/softmax.js';
import { scope } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

export interface Prediction {
  class: number;
  probability: number;
  logit: number;
}

/** Bilinear sample of one channel at fractional pixel (x, y), PyTorch's align_corners=False grid. */
function sampleBilinear(img: Image, c: number, x: number, y: number): number {
  const cx = Math.min(Math.max(x, 0), img.width - 1);
  const cy = Math.min(Math.max(y, 0), img.height - 1);
  const x0 = Math.floor(cx), y0 = Math.floor(cy);
  const x1 = Math.min(x0 + 1, img.width - 1), y1 = Math.min(y0 + 1, img.height - 1);
  const fx = cx - x0, fy = cy - y0;
  const at = (xx: number, yy: number) => img.data[(yy * img.width + xx) * img.channels + c];
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x1, y0)) + fy * ((1 - fx) * at(x0, y1) + fx * at(x1, y1));
}

/**
 * The image as the model's input [1, C, 1, H, W]: alpha composited over black, colour reduced to
 * grey with ITU-R 601 weights (as PIL's convert('L')) or grey repeated to RGB, resized bilinearly
 * to the model's size, then normalised with the checkpoint's mean and std.
 */
export function imageToInput(img: Image, model: VisionTransformer): Float32Array {
  const { inChannels, imageSize, normalization } = model.config;
  const [H, W] = imageSize;
  const colour = img.channels >= 3;
  const alpha = img.channels === 2 || img.channels === 4 ? img.channels - 1 : -1;
  const out = new Float32Array(inChannels * H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sx = ((x + 0.5) * img.width) / W - 0.5;
      const sy = ((y + 0.5) * img.height) / H - 0.5;
      const a = alpha >= 0 ? sampleBilinear(img, alpha, sx, sy) : 1;
      const rgb = colour ? [0, 1, 2].map((c) => sampleBilinear(img, c, sx, sy) * a) : [];
      const grey = colour ? 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] : sampleBilinear(img, 0, sx, sy) * a;
      for (let c = 0; c < inChannels; c++) {
        const v = inChannels === 1 ? grey : colour ? rgb[c] : grey;
        out[(c * H + y) * W + x] = (v - normalization.mean[c]) / normalization.std[c];
      }
    }
  }
  return out;
}

/** Classes sorted by probability, best first. */
export async function classifyImage(model: VisionTransformer, img: Image): Promise<Prediction[]> {
  const { inChannels, imageSize } = model.config;
  const [logitsT, probsT] = noGrad(() =>
    scope(() => {
      const x = Tensor.fromArray(model.gpu, imageToInput(img, model), [1, inChannels, 1, ...imageSize]);
      const logits = model.classify(x);
      return [logits, softmax(logits)];
    }),
  );
  const [logits, probs] = [await logitsT.read(), await probsT.read()];
  logitsT.dispose();
  probsT.dispose();
  return [...logits].map((logit, i) => ({ class: i, probability: probs[i], logit })).sort((a, b) => b.probability - a.probability);
}
