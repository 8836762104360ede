// The TensorFlow.js peer: @tensorflow/tfjs-backend-webgpu on the same adapter, in this process
// (Dawn's node bindings stand in for the browser's navigator.gpu). It runs the forward passes of
// the products, the convolutions (NHWC, its native layout; the patch embedding as the equivalent
// conv2d with the slices folded into channels and stride 16) and an attention block composed from
// its ops (softmax(q·kᵀ·scale + bias)·v, materialising the T×T logits). Backward passes have no
// counterpart: @tensorflow/tfjs-core registers no gradient functions (the @tensorflow/tfjs
// package does, and it is not a dependency).
//
// Timing: a step issues the ops, then ends tfjs's open compute pass, submits its commands (as its
// own read-back does) and waits for the device queue, as gpu.sync() does for ours; nothing is read
// back and nothing subtracted.

import type * as Tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { Prepared } from '../kernels.js';
import type { BenchCase } from '../cases.js';

export interface TfjsPeer {
  version: string;
  /** What the peer leaves out, for the report's notes. */
  note: string;
  /** The case in tfjs's ops, or null when it has none (backward passes, layernorm, softmax, models). */
  prepare(c: BenchCase): Prepared | null;
}

/** Loads tfjs on WebGPU; a string says why it could not (not installed, no WebGPU). */
export async function loadTfjs(): Promise<TfjsPeer | string> {
  let tf: typeof Tf;
  try {
    const { create, globals } = (await import('webgpu')) as { create: (flags: string[]) => GPU; globals: object };
    Object.assign(globalThis, globals);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });
    tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    return `tfjs-webgpu skipped: ${(e as Error).message} (it is a dev dependency: npm ci installs it)`;
  }
  // setBackend resolves false (and tfjs falls back) when the backend cannot start.
  if (!(await tf.setBackend('webgpu')) || tf.getBackend() !== 'webgpu') {
    return `tfjs-webgpu skipped: tfjs runs on '${tf.getBackend()}', not 'webgpu'`;
  }
  const backend = tf.backend() as WebGPUBackend;
  const sync = async () => {
    backend.endComputePassEncoder();
    backend.submitQueue();
    await backend.queue.onSubmittedWorkDone();
  };
  return {
    version: tf.version_core,
    note: 'tfjs-webgpu times forward passes only: @tensorflow/tfjs-core alone registers no gradient functions.',
    prepare: (c) => prepare(tf, sync, c),
  };
}

function prepare(tf: typeof Tf, sync: () => Promise<void>, c: BenchCase): Prepared | null {
  const built = build(tf, c);
  if (!built) return null;
  const { operands, run } = built;
  return {
    async step() {
      const out = run();
      await sync();
      tf.dispose(out);
    },
    dispose: () => tf.dispose(operands),
  };
}

interface Built {
  operands: Tf.Tensor[];
  /** Issues the case's ops; returns their result. */
  run(): Tf.Tensor;
}

function build(tf: typeof Tf, c: BenchCase): Built | null {
  if ('pass' in c && c.pass === 'fwd+bwd') return null;
  let seed = 1;
  const rand = (shape: number[]) => tf.randomNormal(shape, 0, 1, 'float32', seed++);
  const forward = (operands: Tf.Tensor[], f: () => Tf.Tensor): Built => ({ operands, run: () => tf.tidy(f) });
  switch (c.kind) {
    case 'matmul': {
      const [a, b] = [rand([c.m, c.k]), rand([c.k, c.n])];
      return forward([a, b], () => tf.matMul(a, b));
    }
    case 'attention': {
      const shape = [c.batch, c.heads, c.tokens, c.headDim];
      const [q, k, v] = [rand(shape), rand(shape), rand(shape)];
      const bias = c.bias ? rand([c.heads, c.tokens, c.tokens]) : null;
      return forward(bias ? [q, k, v, bias] : [q, k, v], () => {
        const logits = tf.mul(tf.matMul(q, k, false, true), c.headDim ** -0.5);
        return tf.matMul(tf.softmax(bias ? tf.add(logits, bias) : logits), v);
      });
    }
    case 'conv': {
      if (c.op === 'conv2d') {
        const x = rand([c.batch, c.size, c.size, c.inChannels]) as Tf.Tensor4D;
        const w = rand([c.kernel, c.kernel, c.inChannels, c.outChannels]) as Tf.Tensor4D;
        return forward([x, w], () => tf.conv2d(x, w, 1, 'same'));
      }
      const folded = c.inChannels * c.slices;
      const x = rand([c.batch, c.size, c.size, folded]) as Tf.Tensor4D;
      const w = rand([c.kernel, c.kernel, folded, c.outChannels]) as Tf.Tensor4D;
      const b = rand([c.outChannels]);
      return forward([x, w, b], () => tf.add(tf.conv2d(x, w, c.kernel, 'valid'), b));
    }
    default:
      return null;
  }
}
