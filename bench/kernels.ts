// Our side of the single-op cases: random operands on the GPU and a step that runs the op (and,
// for 'fwd+bwd', its backward from a fixed random output gradient), then waits for the queue.

import { backward, numel, ops, random, scope, Tensor, type Gpu } from '../src/index.js';
import type { BenchCase, Pass } from './cases.js';

const { attention, conv2d, layerNorm, matmul, patchEmbed3d, softmax } = ops;
const { randn } = random;

export interface Prepared {
  /** One timed repetition; returns when its work is finished. */
  step(): Promise<void>;
  dispose(): void;
}

export type KernelCase = Exclude<BenchCase, { kind: 'model' }>;

/** The op under test applied to the case's operands, and the shape of its result. */
interface OpSetup {
  operands: Tensor[];
  /** Operands that get gradients in 'fwd+bwd'. */
  differentiable: Tensor[];
  outShape: number[];
  apply(): Tensor;
}

function setup(gpu: Gpu, c: KernelCase): OpSetup {
  let seed = 1;
  const rand = (shape: number[]) => Tensor.fromArray(gpu, randn(numel(shape), seed++), shape);
  switch (c.kind) {
    case 'matmul': {
      const [a, b] = [rand([c.m, c.k]), rand([c.k, c.n])];
      return { operands: [a, b], differentiable: [a, b], outShape: [c.m, c.n], apply: () => matmul(a, b) };
    }
    case 'attention': {
      const shape = [c.batch, c.heads, c.tokens, c.headDim];
      const [q, k, v] = [rand(shape), rand(shape), rand(shape)];
      const bias = c.bias ? rand([c.heads, c.tokens, c.tokens]) : undefined;
      const all = bias ? [q, k, v, bias] : [q, k, v];
      return { operands: all, differentiable: all, outShape: shape, apply: () => attention(q, k, v, { scale: c.headDim ** -0.5, bias }) };
    }
    case 'conv': {
      if (c.op === 'conv2d') {
        // UPerNet's ConvModule convs have no bias (a BatchNorm follows).
        const [x, w] = [rand([c.batch, c.inChannels, c.size, c.size]), rand([c.outChannels, c.inChannels, c.kernel, c.kernel])];
        const out = [c.batch, c.outChannels, c.size, c.size];
        return { operands: [x, w], differentiable: [x, w], outShape: out, apply: () => conv2d(x, w, undefined, { padding: (c.kernel - 1) / 2 }) };
      }
      const x = rand([c.batch, c.inChannels, c.slices, c.size, c.size]);
      const [w, b] = [rand([c.outChannels, c.inChannels, c.slices, c.kernel, c.kernel]), rand([c.outChannels])];
      const grid = c.size / c.kernel;
      return { operands: [x, w, b], differentiable: [w, b], outShape: [c.batch, c.outChannels, 1, grid, grid], apply: () => patchEmbed3d(x, w, b) };
    }
    case 'layernorm': {
      const [x, w, b] = [rand([c.rows, c.features]), rand([c.features]), rand([c.features])];
      return { operands: [x, w, b], differentiable: [x, w, b], outShape: [c.rows, c.features], apply: () => layerNorm(x, w, b, 1e-6) };
    }
    case 'softmax': {
      const x = rand([c.rows, c.length]);
      return { operands: [x], differentiable: [x], outShape: [c.rows, c.length], apply: () => softmax(x) };
    }
  }
}

export function prepareKernel(gpu: Gpu, c: KernelCase): Prepared {
  const op = setup(gpu, c);
  // Products are timed forward only: their backward is two more products of the same kind.
  const pass: Pass = c.kind === 'matmul' ? 'fwd' : c.pass;
  const gradOut = pass === 'fwd+bwd' ? Tensor.fromArray(gpu, randn(numel(op.outShape), 99), op.outShape) : null;
  for (const t of op.differentiable) t.requiresGrad = gradOut !== null;
  return {
    async step() {
      scope(() => {
        const y = op.apply();
        if (gradOut) backward(y, gradOut);
      });
      await gpu.sync();
      for (const t of op.differentiable) {
        t.grad?.dispose();
        t.grad = null;
      }
    },
    dispose() {
      for (const t of op.operands) t.dispose();
      gradOut?.dispose();
    },
  };
}
