// Test-time flips (predictVolume's `flips`) and the model file's `inference` field, on a tiny random
// segmenter: the flipped average is the mean of four plain predictions flipped back, a flipped input
// gives the flipped output, and a model file's recorded settings reach every caller of predictCase.

import { describe, expect, it } from 'vitest';
import type { LoadedCase } from '../src/data/volume.js';
import { predictVolume } from '../src/infer/predict.js';
import { modelPredictOptions, predictCase } from '../src/infer/predict-file.js';
import { postProcess } from '../src/infer/postprocess.js';
import type { VitConfig } from '../src/model/config.js';
import { modelFileMetadata, readModelFileHeader, type SegmenterFileHeader } from '../src/model/model-file.js';
import { Segmenter } from '../src/model/segmenter.js';
import { testGpu } from './helpers/gpu.js';

// Four softmax outputs in f64 → f32, summed in a different order for the flipped input and resized
// bilinearly: they agree to a few f32 ulps of values ≤ 1.
const TOL = 1e-6;

const config: VitConfig = {
  embedDim: 16, depth: 1, heads: 2, mlpHidden: 32, patchSize: 4, imageSize: [8, 8], inChannels: 2, depthSlices: 3,
  eps: 1e-6, qkvBias: true, layerScale: false, positionEmbedding: true, relativePositionBias: false, prefixTokens: 1,
  finalNorm: 'none', head: { kind: 'none' }, normalization: { mean: [0, 0], std: [1, 1] },
};
const DIMS: [number, number, number] = [7, 5, 4]; // in-plane resized to 8×8 and back

/** The case with x and/or y reversed in every channel ([C, Z, Y, X] layout). */
function flipCase(v: Pick<LoadedCase, 'image' | 'dims' | 'channels'>, flipX: boolean, flipY: boolean): Pick<LoadedCase, 'image' | 'dims' | 'channels'> {
  return { ...v, image: flipVolume(v.image, v.dims, flipX, flipY) };
}
function flipVolume(data: Float32Array, [X, Y]: readonly number[], flipX: boolean, flipY: boolean): Float32Array {
  const out = new Float32Array(data.length);
  for (let p = 0; p < data.length; p += X * Y) {
    for (let y = 0; y < Y; y++) for (let x = 0; x < X; x++) out[p + y * X + x] = data[p + (flipY ? Y - 1 - y : y) * X + (flipX ? X - 1 - x : x)];
  }
  return out;
}

const volume = {
  image: Float32Array.from({ length: 2 * DIMS[0] * DIMS[1] * DIMS[2] }, (_, i) => Math.sin(0.7 * i) + 0.5 * Math.cos(0.13 * i * i)),
  dims: DIMS, channels: 2,
};
const intensity = { kind: 'none' } as const;

describe('test-time flips', () => {
  it('average the plain predictions of the four in-plane flips, flipped back; a flipped input gives the flipped result', async () => {
    const gpu = await testGpu();
    const model = new Segmenter(gpu, 5, config, { classes: 3, decoder: 'convtrans', channels: 4 });
    try {
      const tta = await predictVolume(model, volume, { intensity, flips: true, probabilities: true });
      // The definition: the mean over flips f of f(predict(f(x))).
      const mean = new Float32Array(tta.probabilities!.length);
      for (const [fx, fy] of [[false, false], [true, false], [false, true], [true, true]]) {
        const p = await predictVolume(model, flipCase(volume, fx, fy), { intensity, probabilities: true });
        const back = flipVolume(p.probabilities!, DIMS, fx, fy);
        for (let i = 0; i < mean.length; i++) mean[i] += back[i] / 4;
      }
      expect(Math.max(...tta.probabilities!.map((v, i) => Math.abs(v - mean[i])))).toBeLessThan(TOL);
      const plain = await predictVolume(model, volume, { intensity, probabilities: true });
      expect(Math.max(...plain.probabilities!.map((v, i) => Math.abs(v - tta.probabilities![i])))).toBeGreaterThan(1e-3); // the flips change something

      // Equivariance: TTA of the flipped input = the flipped TTA of the input.
      for (const [fx, fy] of [[true, false], [false, true], [true, true]]) {
        const flipped = await predictVolume(model, flipCase(volume, fx, fy), { intensity, flips: true, probabilities: true });
        const want = flipVolume(tta.probabilities!, DIMS, fx, fy);
        expect(Math.max(...flipped.probabilities!.map((v, i) => Math.abs(v - want[i]))), `flip x ${fx}, y ${fy}`).toBeLessThan(TOL);
      }
    } finally {
      model.dispose();
    }
  });
});

describe('the model file records test-time flips and post-processing', () => {
  const header: SegmenterFileHeader = {
    kind: 'segmenter', encoder: config, segmenter: { classes: 3, decoder: 'convtrans', channels: 4 }, labels: ['bg', 'a', 'b'],
    modalities: ['FLAIR', 'T1c'], preprocessing: { intensity },
    inference: { flips: true, postprocess: { largestComponent: 'foreground', minIslandVoxels: 2, connectivity: 6 } }, provenance: {},
  };

  it('round-trips, and predictCase (predict, evaluate, the web page) applies it', async () => {
    const read = readModelFileHeader(modelFileMetadata(header), 'm.safetensors') as SegmenterFileHeader;
    expect(read.inference).toEqual(header.inference);
    expect(modelPredictOptions(read)).toMatchObject({ flips: true, postprocess: header.inference!.postprocess });
    const gpu = await testGpu();
    const model = new Segmenter(gpu, 9, config, header.segmenter);
    try {
      const got = await predictCase({ model, header: read }, { ...volume, id: 'c', geometry: {} as never });
      const raw = await predictVolume(model, volume, { intensity, flips: true });
      expect([...got.labels.data]).toEqual([...postProcess(raw.labels, DIMS, header.inference!.postprocess!)]);
    } finally {
      model.dispose();
    }
  });

  it('a bad field is refused with the file and the field named', () => {
    const bad = { ...modelFileMetadata(header), inference: JSON.stringify({ postprocess: { connectivity: 8 } }) };
    expect(() => readModelFileHeader(bad, 'm.safetensors')).toThrow(/m\.safetensors: __metadata__\.inference\.postprocess\.connectivity must be one of 6, 18, 26, got 8/);
    const flips = { ...modelFileMetadata(header), inference: JSON.stringify({ flips: 'yes' }) };
    expect(() => readModelFileHeader(flips, 'm.safetensors')).toThrow(/inference\.flips must be true or false/);
  });
});
