// Cropping to the foreground (src/data/foreground.ts): the box is where the intensity-transformed
// image differs from its background (src/data/background.ts), labels follow the image, and predictVolume with cropForeground equals predicting
// the box alone with background everywhere else.
import { describe, expect, it } from 'vitest';
import { cropCase, foregroundBox } from '../src/data/foreground.js';
import { clipScale, noIntensity, zScoreScan } from '../src/data/intensity.js';
import { predictVolume } from '../src/infer/predict.js';
import type { VitConfig } from '../src/model/config.js';
import { Segmenter } from '../src/model/segmenter.js';
import { testGpu } from './helpers/gpu.js';

const DIMS: [number, number, number] = [9, 7, 5];
const at = (x: number, y: number, z: number) => x + DIMS[0] * (y + DIMS[1] * z);

/** Air (−500 HU) everywhere but a body box x 2..6, y 1..4, z 1..3 of 40 HU with one bright voxel. */
function ctCase(): { image: Float32Array; label: Float32Array; dims: [number, number, number]; channels: number } {
  const image = new Float32Array(9 * 7 * 5).fill(-500);
  const label = new Float32Array(image.length);
  for (let z = 1; z <= 3; z++) for (let y = 1; y <= 4; y++) for (let x = 2; x <= 6; x++) image[at(x, y, z)] = 40;
  image[at(4, 2, 2)] = 200;
  label[at(4, 2, 2)] = 1;
  return { image, label, dims: DIMS, channels: 1 };
}

describe('foregroundBox and cropCase', () => {
  it('find the body of a clipped CT (air drops to 0) and crop image and label alike', () => {
    const c = ctCase();
    expect(foregroundBox(c, clipScale(-100, 300), 0)).toEqual({ start: [2, 1, 1], end: [7, 5, 4] });
    expect(foregroundBox(c, clipScale(-100, 300), 1)).toEqual({ start: [1, 0, 0], end: [8, 6, 5] });
    // Without an intensity transform air is −500 HU: not 0, but the value every corner holds, so the
    // same body box (a "nonzero" rule would keep the whole grid).
    expect(foregroundBox(c, noIntensity, 0)).toEqual({ start: [2, 1, 1], end: [7, 5, 4] });
    // A body reaching a corner: the corners disagree, the background is 0 and −500 HU counts as body.
    const reaching = ctCase();
    reaching.image[at(8, 6, 4)] = 40;
    expect(foregroundBox(reaching, noIntensity, 0)).toEqual({ start: [0, 0, 0], end: DIMS });
    const cropped = cropCase(c, { start: [2, 1, 1], end: [7, 5, 4] });
    expect(cropped.dims).toEqual([5, 4, 3]);
    expect(cropped.image.every((v) => v === 40 || v === 200)).toBe(true);
    const bright = 2 + 5 * (1 + 4 * 1); // (4, 2, 2) in the box's grid
    expect(cropped.image[bright]).toBe(200);
    expect([...cropped.label!].map((v, i) => (v ? i : -1)).filter((i) => i >= 0)).toEqual([bright]);
  });
});

const CONFIG: VitConfig = {
  embedDim: 16, depth: 1, heads: 2, mlpHidden: 32, patchSize: 4, imageSize: [8, 8], inChannels: 1, depthSlices: 3,
  eps: 1e-6, qkvBias: true, layerScale: false, positionEmbedding: true, relativePositionBias: false, prefixTokens: 1,
  finalNorm: 'none', head: { kind: 'none' }, normalization: { mean: [0], std: [1] },
};

describe('predictVolume with cropForeground', () => {
  it('equals the box predicted alone, with background (probability 1 for class 0) outside it', async () => {
    const gpu = await testGpu();
    const model = new Segmenter(gpu, 4, CONFIG, { classes: 3, decoder: 'convtrans', channels: 4 });
    try {
      const c = ctCase();
      const intensity = { kind: 'clip', aMin: -100, aMax: 300 } as const;
      const box = foregroundBox(c, clipScale(-100, 300), 1);
      const whole = await predictVolume(model, c, { intensity, cropForeground: 1, probabilities: true, batchSize: 2 });
      const inBox = await predictVolume(model, cropCase(c, box), { intensity, probabilities: true, batchSize: 2 });
      const n = DIMS[0] * DIMS[1] * DIMS[2];
      const m = inBox.labels.length;
      const [bx, by] = [box.end[0] - box.start[0], box.end[1] - box.start[1]];
      let outside = 0;
      for (let z = 0; z < DIMS[2]; z++) {
        for (let y = 0; y < DIMS[1]; y++) {
          for (let x = 0; x < DIMS[0]; x++) {
            const i = at(x, y, z);
            const local = [x - box.start[0], y - box.start[1], z - box.start[2]];
            const inside = local.every((v, k) => v >= 0 && v < box.end[k] - box.start[k]);
            const j = local[0] + bx * (local[1] + by * local[2]);
            for (let k = 0; k < 3; k++) {
              // Exactly the same numbers: the same windows through the same model.
              expect(whole.probabilities![k * n + i]).toBe(inside ? inBox.probabilities![k * m + j] : k === 0 ? 1 : 0);
            }
            expect(whole.labels[i]).toBe(inside ? inBox.labels[j] : 0);
            if (!inside) outside++;
          }
        }
      }
      expect(outside).toBe(n - m); // the box really is smaller than the grid
      expect(m).toBeLessThan(n);
    } finally {
      model.dispose();
    }
  });
});

describe('predictVolume with --intensity zscore', () => {
  it('z-scores the whole scan before cutting windows (not each window), then crops to the body', async () => {
    const gpu = await testGpu();
    const model = new Segmenter(gpu, 4, CONFIG, { classes: 3, decoder: 'convtrans', channels: 4 });
    try {
      const c = ctCase();
      for (let i = 0; i < c.image.length; i++) if (c.image[i] === 40) c.image[i] += 13 * Math.sin(i); // texture inside the body
      const viaSpec = await predictVolume(model, c, { intensity: { kind: 'zscore' }, cropForeground: 0, probabilities: true, batchSize: 2 });
      const byHand = await predictVolume(model, { ...c, image: zScoreScan(c.image, 1, c.dims) }, { intensity: { kind: 'none' }, cropForeground: 0, probabilities: true, batchSize: 2 });
      // The same windows through the same model: the same numbers. A per-window z-score would
      // scale each 3-slice window by its own statistics and differ.
      expect(Array.from(viaSpec.probabilities!)).toEqual(Array.from(byHand.probabilities!));
      expect(Array.from(viaSpec.labels)).toEqual(Array.from(byHand.labels));
    } finally {
      model.dispose();
    }
  });
});
