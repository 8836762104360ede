// The inflation property (method.md §5): on a volume whose D slices are identical, the inflated 3-D
// model's outputs equal the 2-D model's outputs on that slice — for both methods, for a timm-style
// ViT (absolute position embedding) and a BEiT-style one (relative bias, layer scale).
import { describe, it } from 'vitest';
import { inflateCheckpoint } from '../src/inflate/checkpoint.js';
import type { VitConfig } from '../src/model/config.js';
import { readWeights } from '../src/model/load-weights.js';
import { loadVitWeights } from '../src/model/pretrained.js';
import { VisionTransformer } from '../src/model/vit.js';
import { Tensor } from '../src/tensor/tensor.js';
import { expectClose } from './helpers/check.js';
import { testGpu } from './helpers/gpu.js';
import { randn } from './helpers/random.js';

const base: VitConfig = {
  embedDim: 16, depth: 2, heads: 2, mlpHidden: 32, patchSize: 4, imageSize: [8, 12], inChannels: 3, depthSlices: 1,
  eps: 1e-6, qkvBias: true, layerScale: false, positionEmbedding: true, relativePositionBias: false, prefixTokens: 1,
  finalNorm: 'norm', head: { kind: 'linear', classes: 4, pool: 'token' }, normalization: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
};
const beit: VitConfig = { ...base, positionEmbedding: false, relativePositionBias: true, layerScale: true, finalNorm: 'fc_norm', head: { kind: 'linear', classes: 4, pool: 'mean' } };

// Both models compute the same sums, but the 3-D patch embedding adds D·C products (zeros for
// centering, thirds-of-fifths for inflation) in a different order: a few f32 ulps on outputs of
// order 1–3, so 2e-6 absolute.
const TOL = { atol: 2e-6, rtol: 1e-6 };

describe('inflated model on identical slices equals the 2-D model', () => {
  for (const [name, config] of [['timm ViT', base], ['BEiT', beit]] as const) {
    for (const method of ['centering', 'inflation'] as const) {
      it(`${name}, ${method}`, async () => {
        const gpu = await testGpu();
        const model2d = new VisionTransformer(gpu, 11, config, { withHead: true });
        const weights = await readWeights(model2d);
        const D = 5;
        const inflated = inflateCheckpoint(config, weights, { depth: D, inChannels: 1, method, imageSize: config.imageSize });
        const model3d = new VisionTransformer(gpu, 12, inflated.config);
        loadVitWeights(model3d, inflated.tensors, 'inflated');

        const [H, W] = config.imageSize;
        const grey = randn(H * W, 5);
        const rgb = new Float32Array(3 * H * W);
        for (let c = 0; c < 3; c++) rgb.set(grey, c * H * W);
        const slices = new Float32Array(D * H * W);
        for (let d = 0; d < D; d++) slices.set(grey, d * H * W);
        const out2d = model2d.blockOutputs(Tensor.fromArray(gpu, rgb, [1, 3, 1, H, W]));
        const out3d = model3d.blockOutputs(Tensor.fromArray(gpu, slices, [1, 1, D, H, W]));
        for (let i = 0; i < out2d.length; i++) {
          expectClose(await out3d[i].read(), await out2d[i].read(), TOL, 'inflation property', `${name} ${method} block ${i}`);
        }
        model2d.dispose();
        model3d.dispose();
      });
    }
  }
});
