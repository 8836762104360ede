// softmax and logSoftmax over the last axis, with their backward rules.

import { uniforms } from '../gpu/gpu.js';
import { record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';

/** [rows, L] of a tensor whose last axis has length L. */
function rowsOf(op: string, x: Tensor): [number, number] {
  if (x.rank === 0) throw new Error(`${op}: x must have at least one dimension, got a scalar`);
  const L = x.shape[x.rank - 1];
  return [L === 0 ? 0 : x.size / L, L];
}

function forward(x: Tensor, log: boolean): Tensor {
  const [rows, L] = rowsOf(log ? 'logSoftmax' : 'softmax', x);
  const y = Tensor.empty(x.gpu, x.shape);
  if (y.size > 0) {
    x.gpu.dispatch({
      shader: 'softmax',
      entry: 'forward',
      constants: { LOG: log ? 1 : 0 },
      uniforms: uniforms([rows, L]),
      buffers: [x, y],
      workgroups: rows,
    });
  }
  return record({
    op: log ? 'logSoftmax' : 'softmax',
    inputs: [x],
    output: y,
    save: [y],
    backward: (dy, [ySaved]) => {
      const dx = Tensor.empty(dy.gpu, dy.shape);
      if (dx.size > 0) {
        dy.gpu.dispatch({
          shader: 'softmax',
          entry: 'backward',
          constants: { LOG: log ? 1 : 0 },
          uniforms: uniforms([rows, L]),
          buffers: [ySaved, dy, dx],
          workgroups: rows,
        });
      }
      return [dx];
    },
  });
}

/** exp(x) / Σ exp(x) along the last axis, computed with the row maximum subtracted. */
export function softmax(x: Tensor): Tensor {
  return forward(x, false);
}

/** x − log Σ exp(x) along the last axis (log-probabilities), stable for large |x|. */
export function logSoftmax(x: Tensor): Tensor {
  return forward(x, true);
}
