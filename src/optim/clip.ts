// Gradient-norm clipping as torch.nn.utils.clip_grad_norm_, entirely on the GPU: the global L2
// norm of all gradients is reduced into a one-element tensor and the clip coefficient
// min(maxNorm / (norm + 1e-6), 1) is read from GPU memory by the kernels that apply it, so no
// value comes back to the host. AdamW.step({ clip }) folds the coefficient into its update;
// clipGradNorm scales the gradients themselves, for other uses.

import { uniforms, type Bindable, type Gpu } from '../gpu/gpu.js';
import { Tensor } from '../tensor/tensor.js';

/** Elements one workgroup of sumsq_partial folds (CHUNK in optim.wgsl). */
const CHUNK = 4096;

export interface GradNorm {
  /** The global L2 norm, shape []. */
  norm: Tensor;
  /** min(maxNorm / (norm + 1e-6), 1), shape [1]. */
  coefficient: Tensor;
}

function checkMaxNorm(op: string, maxNorm: number): void {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new Error(`${op}: maxNorm must be a finite number > 0, got ${maxNorm}`);
}

/** The L2 norm over every element of `grads` together, and PyTorch's clip coefficient for maxNorm. */
export function globalGradNorm(gpu: Gpu, grads: Bindable[], maxNorm: number): GradNorm {
  checkMaxNorm('globalGradNorm', maxNorm);
  const lengths = grads.map((g) => g.byteLength / 4);
  const chunks = lengths.map((n) => Math.ceil(n / CHUNK));
  const partials = Tensor.empty(gpu, [chunks.reduce((a, b) => a + b, 0)]);
  let base = 0;
  grads.forEach((g, i) => {
    if (chunks[i] === 0) return;
    gpu.dispatch({
      shader: 'optim',
      entry: 'sumsq_partial',
      uniforms: uniforms([lengths[i], base]),
      buffers: [partials, g],
      workgroups: chunks[i],
    });
    base += chunks[i];
  });
  const norm = Tensor.empty(gpu, []);
  const coefficient = Tensor.empty(gpu, [1]);
  gpu.dispatch({
    shader: 'optim',
    entry: 'clip_coef',
    uniforms: uniforms([base, 0], [maxNorm]),
    buffers: [norm, coefficient, partials],
    workgroups: 1,
  });
  partials.dispose();
  return { norm, coefficient };
}

/**
 * Scales the gradients of `params` in place so that their global L2 norm is at most maxNorm
 * (PyTorch clip_grad_norm_: coefficient maxNorm / (norm + 1e-6), applied when below 1).
 * Parameters without a gradient are skipped. Returns the norm before clipping, shape [].
 */
export function clipGradNorm(params: Tensor[], maxNorm: number): Tensor {
  checkMaxNorm('clipGradNorm', maxNorm);
  if (params.length === 0) throw new Error('clipGradNorm: no parameters given');
  const grads = params.flatMap((p) => (p.grad ? [p.grad] : []));
  const gpu = params[0].gpu;
  const { norm, coefficient } = globalGradNorm(gpu, grads, maxNorm);
  for (const g of grads) {
    if (g.size === 0) continue;
    gpu.dispatch({
      shader: 'optim',
      entry: 'scale',
      uniforms: uniforms([g.size]),
      buffers: [g, coefficient],
      workgroups: Math.ceil(g.size / 256),
    });
  }
  coefficient.dispose();
  return norm;
}
