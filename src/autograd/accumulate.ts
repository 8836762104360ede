// out = a + b, the one kernel the tape itself needs (summing gradients that reach a tensor twice).

import { flatWork, uniforms } from '../gpu/gpu.js';
import { Tensor } from '../tensor/tensor.js';

export function addGradients(a: Tensor, b: Tensor): Tensor {
  const out = Tensor.empty(a.gpu, a.shape);
  const { vec4, count } = flatWork(a.size);
  a.gpu.dispatch({
    shader: 'accumulate',
    entry: vec4 ? 'add_vec4' : 'add',
    uniforms: uniforms([count]),
    buffers: [a, b, out],
    workgroups: Math.ceil(count / 256),
  });
  return out;
}
