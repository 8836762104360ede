// A whole pre-norm ViT block (LayerNorm → attention → residual → LayerNorm → MLP → residual),
// forward and backward, against PyTorch (fixture made by scripts/golden/transformer_block.py).
import { readFileSync } from 'node:fs';
import { describe, it } from 'vitest';
import { backward } from '../src/autograd/tape.js';
import { Block } from '../src/nn/block.js';
import { Tensor } from '../src/tensor/tensor.js';
import { expectClose } from './helpers/check.js';
import { testGpu } from './helpers/gpu.js';

interface Fixture {
  config: { B: number; T: number; E: number; heads: number; hidden: number; eps: number };
  params: Record<string, { shape: number[]; data: number[] }>;
  x: number[]; grad_out: number[]; y: number[]; grad_x: number[];
  grad_params: Record<string, number[]>;
}

const fixture: Fixture = JSON.parse(readFileSync(new URL('./fixtures/transformer-block.json', import.meta.url), 'utf8'));

// The reference is float64 PyTorch on the same f32 inputs. Our f32 chain (two LayerNorms, an
// attention softmax, GELU, four matmuls over ≤ 64 terms) loses a few ulps per stage on values of
// order 1-5: 2e-5 absolute + 1e-5 relative bounds that with a margin of ~5×.
const TOL = { atol: 2e-5, rtol: 1e-5 };

describe('transformer block vs PyTorch', () => {
  it('forward output and gradients of the input and every parameter match', async () => {
    const gpu = await testGpu();
    const { B, T, E, heads, hidden, eps } = fixture.config;
    const block = new Block(gpu, 0, E, { heads, mlpHidden: hidden, eps });
    const named = new Map(block.namedParameters());
    for (const [name, { data }] of Object.entries(fixture.params)) {
      const p = named.get(name);
      if (!p) throw new Error(`fixture parameter ${name} has no counterpart in Block`);
      p.write(data);
    }
    if (named.size !== Object.keys(fixture.params).length) throw new Error('Block has parameters the fixture lacks');

    const x = Tensor.fromArray(gpu, fixture.x, [B, T, E]);
    x.requiresGrad = true;
    const y = block.forward(x);
    expectClose(await y.read(), fixture.y, TOL, 'transformer block', 'forward');

    const g = Tensor.fromArray(gpu, fixture.grad_out, [B, T, E]);
    backward(y, g);
    expectClose(await x.grad!.read(), fixture.grad_x, TOL, 'transformer block', 'grad x');
    for (const [name, expected] of Object.entries(fixture.grad_params)) {
      expectClose(await named.get(name)!.grad!.read(), expected, TOL, 'transformer block', `grad ${name}`);
    }
    for (const t of [x, y, g]) t.dispose();
    block.dispose();
  });
});
