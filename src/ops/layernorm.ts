// layerNorm over the last axis (nn.LayerNorm semantics), with its backward rule.

import { uniforms } from '../gpu/gpu.js';
import { record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { fmt } from './layout.js';

/**
 * (x − mean) / sqrt(var + eps) · weight + bias over the last axis of x, with the biased variance
 * (as PyTorch). weight and bias are [C] where C is x's last dimension.
 */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): Tensor {
  if (x.rank === 0) throw new Error('layerNorm: x must have at least one dimension, got a scalar');
  const C = x.shape[x.rank - 1];
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t.rank !== 1 || t.shape[0] !== C) {
      throw new Error(`layerNorm: ${name} must be [${C}] for x ${fmt(x.shape)}, got ${fmt(t.shape)}`);
    }
  }
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new Error(`layerNorm: eps must be a finite number >= 0, got ${eps}`);
  const rows = C === 0 ? 0 : x.size / C;
  const params = uniforms([rows, C], [eps]);
  // A workgroup per row on a GPU; an invocation per row, 8 to a workgroup, on a CPU adapter.
  const cpu = x.gpu.info.cpu;
  const rowWorkgroups = cpu ? Math.ceil(rows / 8) : rows;

  const y = Tensor.empty(x.gpu, x.shape);
  const mean = Tensor.empty(x.gpu, [rows]);
  const rstd = Tensor.empty(x.gpu, [rows]);
  if (rows > 0) {
    x.gpu.dispatch({
      shader: 'layernorm',
      entry: cpu ? 'forward_cpu' : 'forward',
      uniforms: params,
      buffers: [x, weight, bias, y, mean, rstd],
      workgroups: rowWorkgroups,
    });
  }
  const out = record({
    op: 'layerNorm',
    inputs: [x, weight, bias],
    output: y,
    save: [x, weight, mean, rstd],
    backward: (dy, [xs, w, m, r]) => {
      const dx = Tensor.empty(dy.gpu, xs.shape);
      const dw = Tensor.empty(dy.gpu, [C]);
      const db = Tensor.empty(dy.gpu, [C]);
      if (rows > 0) {
        dy.gpu.dispatch({
          shader: 'layernorm',
          entry: cpu ? 'backward_input_cpu' : 'backward_input',
          uniforms: params,
          buffers: [dy, xs, w, m, r, dx],
          workgroups: rowWorkgroups,
        });
      }
      // Runs even without rows: empty column sums are zeros.
      dy.gpu.dispatch({
        shader: 'layernorm',
        entry: 'backward_params',
        uniforms: params,
        buffers: [dy, xs, m, r, dw, db],
        workgroups: Math.ceil(C / 32),
      });
      return [dx, dw, db];
    },
  });
  // The tape holds its own references to mean and rstd when it recorded; ours are done.
  mean.dispose();
  rstd.dispose();
  return out;
}
