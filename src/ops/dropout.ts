// dropout (nn.Dropout) and dropout2d (nn.Dropout2d), with masks drawn from a hash of
// (seed, index): the same seed gives the same mask, and the backward pass redraws it.

import { flatWork, uniforms } from '../gpu/gpu.js';
import { record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';

/** y = x·mask/(1 − p) with one draw per `group` consecutive elements. */
function launch(x: Tensor, p: number, seed: number, group: number): Tensor {
  const out = Tensor.empty(x.gpu, x.shape);
  const { vec4, count } = flatWork(x.size);
  x.gpu.dispatch({
    shader: 'dropout',
    entry: vec4 ? 'dropout_vec4' : 'dropout',
    uniforms: uniforms([count, group, seed, Math.round(p * 2 ** 24)], [p === 1 ? 0 : 1 / (1 - p)]),
    buffers: [x, out],
    workgroups: Math.ceil(count / 256),
  });
  return out;
}

function masked(op: string, x: Tensor, p: number, seed: number, group: number): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`${op}: p must be in [0, 1], got ${p}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new Error(`${op}: seed must be an integer in [0, 2³²), got ${seed}`);
  }
  // p = 0 drops nothing: the output shares x's storage, and the gradient passes through.
  const out = p === 0 ? x.reshapeView(x.shape) : launch(x, p, seed, group);
  return record({
    op,
    inputs: [x],
    output: out,
    backward: (dy) => [p === 0 ? dy.retain() : launch(dy, p, seed, group)],
  });
}

/** nn.Dropout in training mode: each element is zeroed with probability p, the rest scaled by 1/(1 − p). */
export function dropout(x: Tensor, p: number, seed: number): Tensor {
  return masked('dropout', x, p, seed, 1);
}

/** nn.Dropout2d in training mode: whole channels of x [B, C, H, W] are zeroed with probability p. */
export function dropout2d(x: Tensor, p: number, seed: number): Tensor {
  if (x.rank !== 4) throw new Error(`dropout2d: x must be [B, C, H, W], got [${x.shape.join(', ')}]`);
  return masked('dropout2d', x, p, seed, x.shape[2] * x.shape[3]);
}
