// out = a + b, the one kernel the tape itself needs (summing gradients that reach a tensor twice).

import { uniforms } from '../gpu/gpu.js';
import { Tensor } from '../tensor/tensor.js';

export function addGradients(a: Tensor, b: Tensor): Tensor {
  const out = Tensor.empty(a.gpu, a.shape);
  a.gpu.dispatch({
    shader: 'accumulate',
    entry: 'add',
    uniforms: uniforms([a.size]),
    buffers: [a, b, out],
    workgroups: Math.ceil(a.size / 256),
  });
  return out;
}
