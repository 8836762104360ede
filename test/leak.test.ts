// GPU memory is owned: a whole training step (forward through a ViT block and a head, loss,
// backward, clipped AdamW update) leaves the live-buffer count and bytes where they started.
import { describe, expect, it } from 'vitest';
import { backward, tapeLength } from '../src/autograd/tape.js';
import { Block } from '../src/nn/block.js';
import { Linear } from '../src/nn/linear.js';
import { crossEntropyLoss } from '../src/ops/loss.js';
import { permute } from '../src/ops/shape.js';
import { AdamW } from '../src/optim/adamw.js';
import { scope } from '../src/tensor/scope.js';
import { Tensor } from '../src/tensor/tensor.js';
import { testGpu } from './helpers/gpu.js';
import { randn } from './helpers/random.js';

describe('memory ownership', () => {
  it('a training step leaves live buffers and bytes unchanged', async () => {
    const gpu = await testGpu();
    const [B, T, E, K] = [2, 9, 16, 3];
    const block = new Block(gpu, 1, E, { heads: 2, init: 'vit' });
    const head = new Linear(gpu, 2, E, K);
    const optimizer = new AdamW([{ params: [...block.parameters(), ...head.parameters()] }], { lr: 1e-3 });
    const x = Tensor.fromArray(gpu, randn(B * T * E, 3), [B, T, E]);
    const target = Tensor.fromArray(gpu, Array.from({ length: B * T }, (_, i) => i % K), [B, T]);

    const losses: number[] = [];
    const step = async () => {
      const loss = scope(() => {
        const logits = permute(head.forward(block.forward(x)), [0, 2, 1]); // [B, K, T]
        const l = crossEntropyLoss(logits, target);
        backward(l);
        return l;
      });
      optimizer.step({ clip: 1 })?.dispose();
      optimizer.zeroGrad();
      losses.push(await loss.item());
      loss.dispose();
    };

    await step(); // the first step compiles pipelines and fills the pool
    const before = gpu.memory();
    for (let i = 0; i < 3; i++) await step();
    const after = gpu.memory();
    expect(after.liveBuffers).toBe(before.liveBuffers);
    expect(after.liveBytes).toBe(before.liveBytes);
    expect(tapeLength()).toBe(0);
    expect(losses[3]).toBeLessThan(losses[0]); // and it is really training

    optimizer.dispose();
    block.dispose();
    head.dispose();
    x.dispose();
    target.dispose();
    expect(gpu.memory().liveBuffers).toBe(0);
  });
});
