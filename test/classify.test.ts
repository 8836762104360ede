// The real vit4mnist checkpoint (vit-pytorch layout, ../shared/data) classifies digits 0–9 through
// the adapter, our ViT and its own head: proof that a checkpoint nobody here wrote is read right.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCheckpointFile } from '../src/checkpoint/load.js';
import { classifyImage } from '../src/infer/classify.js';
import { pretrainedVit } from '../src/model/pretrained.js';
import { drawDigit } from './helpers/digits.js';
import { testGpu } from './helpers/gpu.js';

const WEIGHTS = new URL('../../shared/data/weights/vit4mnist/vit4mnist.safetensors', import.meta.url).pathname;
const present = existsSync(WEIGHTS);

describe.skipIf(!present)(`vit4mnist classifies drawn digits${present ? '' : ' (skipped: ../shared/data is absent)'}`, () => {
  it('predicts every digit 0–9', async () => {
    const gpu = await testGpu();
    const checkpoint = await loadCheckpointFile(WEIGHTS, { preset: 'vit4mnist' });
    const model = pretrainedVit(gpu, checkpoint, WEIGHTS);
    const predicted: number[] = [];
    for (let digit = 0; digit < 10; digit++) {
      const [top] = await classifyImage(model, { width: 28, height: 28, channels: 1, data: drawDigit(digit) });
      predicted.push(top.class);
    }
    expect(predicted).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    model.dispose();
  });
});
