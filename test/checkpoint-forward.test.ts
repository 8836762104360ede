// Each supported foreign layout, loaded through its adapter into our ViT, reproduces the hidden
// states of every block and the logits that PyTorch computes from the same file
// (fixtures: scripts/golden/checkpoints.py; float64 reference from float32 weights).
import { readFileSync } from 'node:fs';
import { describe, it } from 'vitest';
import { loadCheckpointFile } from '../src/checkpoint/load.js';
import type { VitConfig } from '../src/model/config.js';
import { pretrainedVit } from '../src/model/pretrained.js';
import { Tensor } from '../src/tensor/tensor.js';
import { expectClose } from './helpers/check.js';
import { testGpu } from './helpers/gpu.js';

interface Golden {
  models: Record<string, {
    file: string;
    model_json: Partial<VitConfig>;
    input: { shape: number[]; data: number[] };
    blocks: { shape: number[]; data: number[] }[];
    logits: { shape: number[]; data: number[] };
  }>;
}

const dir = new URL('./fixtures/checkpoints/', import.meta.url);
const golden: Golden = JSON.parse(readFileSync(new URL('golden.json', dir), 'utf8'));

// Two f32 blocks of width 32 (LayerNorm, attention over 17–18 tokens, MLP 128) on activations of
// order 1–4: measured errors stay below 2e-6; 1e-5 absolute + 1e-5 relative leaves a 5× margin.
const TOL = { atol: 1e-5, rtol: 1e-5 };

describe('foreign checkpoints reproduce PyTorch block outputs and logits', () => {
  for (const [name, m] of Object.entries(golden.models)) {
    it(name, async () => {
      const gpu = await testGpu();
      const path = new URL(m.file, dir).pathname;
      const checkpoint = await loadCheckpointFile(path, { config: m.model_json });
      const model = pretrainedVit(gpu, checkpoint, path);
      const [, C, H, W] = m.input.shape;
      const x = Tensor.fromArray(gpu, m.input.data, [1, C, 1, H, W]);
      const blocks = model.blockOutputs(x);
      for (let i = 0; i < blocks.length; i++) {
        expectClose(await blocks[i].read(), m.blocks[i].data, TOL, `checkpoint ${name}`, `block ${i}`);
      }
      expectClose(await model.classify(x).read(), m.logits.data, TOL, `checkpoint ${name}`, 'logits');
      model.dispose();
    });
  }
});
