// Normalisation layers on NCHW tensors: batchNorm2d (nn.BatchNorm2d, with running statistics)
// and instanceNorm2d (nn.InstanceNorm2d with affine=False), and their backward rules.
// Both normalise groups of elements; a Layout says which (see shaders/channelnorm.wgsl).

import { uniforms, type DispatchSpec } from '../gpu/gpu.js';
import { record } from '../autograd/tape.js';
import { reluGrad } from './elementwise.js';
import { Tensor } from '../tensor/tensor.js';

/** The tensor viewed as [outer, groups, inner]; group g normalises the elements x[·, g, ·]. */
interface Layout {
  outer: number;
  groups: number;
  inner: number;
}

export interface BatchNormState {
  /** [C], updated in place by every training-mode call. */
  runningMean: Tensor;
  /** [C], updated in place with the unbiased batch variance. */
  runningVar: Tensor;
}

export interface BatchNormOptions {
  /** Normalise with batch statistics and update the running ones (true), or use the running ones. */
  training: boolean;
  /** Weight of the new batch statistics in the running averages (default 0.1, as PyTorch). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Apply ReLU to the output in the same pass (conv → BN → ReLU); default false. */
  relu?: boolean;
}

function params(l: Layout, eps: number, momentum = 0): ArrayBuffer {
  return uniforms([l.outer, l.groups, l.inner], [eps, momentum]);
}

/** Elements per run of the `_cpu` kernels for CPU adapters (RUN in channelnorm.wgsl). */
const RUN = 64;

/** The elementwise kernels and their twins for CPU adapters. */
const CPU_TWIN = { normalize: 'normalize_cpu', grad_input: 'grad_input_cpu' } as const;

/**
 * An elementwise kernel over x: one invocation per element in workgroups of 256 on a GPU; on a CPU
 * adapter its `_cpu` twin, one invocation per run of RUN elements of a plane, 8 to a workgroup.
 */
function elementwise(x: Tensor, entry: keyof typeof CPU_TWIN, l: Layout): Pick<DispatchSpec<'channelnorm'>, 'entry' | 'workgroups'> {
  if (!x.gpu.info.cpu) return { entry, workgroups: Math.ceil(x.size / 256) };
  return { entry: CPU_TWIN[entry], workgroups: Math.ceil((l.outer * l.groups * Math.ceil(l.inner / RUN)) / 8) };
}

/** Mean and biased variance of every group. */
function groupStats(x: Tensor, l: Layout): [Tensor, Tensor] {
  const mean = Tensor.empty(x.gpu, [l.groups]);
  const variance = Tensor.empty(x.gpu, [l.groups]);
  x.gpu.dispatch({ shader: 'channelnorm', entry: 'stats', uniforms: params(l, 0), buffers: [x, mean, variance], workgroups: l.groups });
  return [mean, variance];
}

/** (x − mean)/√(variance + eps), times weight plus bias when given, then ReLU when `relu`. */
function normalize(
  x: Tensor, mean: Tensor, variance: Tensor, affine: [Tensor, Tensor] | null, l: Layout, eps: number, relu = false,
): Tensor {
  const out = Tensor.empty(x.gpu, x.shape);
  // Without affine parameters x stands in for their bindings (never read).
  const [weight, bias] = affine ?? [x, x];
  x.gpu.dispatch({
    shader: 'channelnorm',
    ...elementwise(x, 'normalize', l),
    constants: { AFFINE: affine ? 1 : 0, RELU: relu ? 1 : 0 },
    uniforms: params(l, eps),
    buffers: [x, mean, variance, weight, bias, out],
  });
  return out;
}

function updateRunning(mean: Tensor, variance: Tensor, state: BatchNormState, l: Layout, momentum: number): void {
  mean.gpu.dispatch({
    shader: 'channelnorm',
    entry: 'update_running',
    uniforms: params(l, 0, momentum),
    buffers: [mean, variance, state.runningMean, state.runningVar],
    workgroups: Math.ceil(l.groups / 64),
  });
}

/** Per group Σ dy and Σ dy·x̂: the bias and weight gradients. */
function gradSums(x: Tensor, mean: Tensor, variance: Tensor, dy: Tensor, l: Layout, eps: number): [Tensor, Tensor] {
  const sumDy = Tensor.empty(x.gpu, [l.groups]);
  const sumDyXhat = Tensor.empty(x.gpu, [l.groups]);
  x.gpu.dispatch({
    shader: 'channelnorm',
    entry: 'grad_sums',
    uniforms: params(l, eps),
    buffers: [x, mean, variance, dy, sumDy, sumDyXhat],
    workgroups: l.groups,
  });
  return [sumDy, sumDyXhat];
}

/** The input gradient, through the batch statistics (`batchStats`) or with the statistics fixed. */
function gradInput(
  x: Tensor, mean: Tensor, variance: Tensor, dy: Tensor, weight: Tensor | null,
  sums: [Tensor, Tensor], l: Layout, eps: number, batchStats: boolean,
): Tensor {
  const dx = Tensor.empty(x.gpu, x.shape);
  x.gpu.dispatch({
    shader: 'channelnorm',
    ...elementwise(x, 'grad_input', l),
    constants: { AFFINE: weight ? 1 : 0, TRAINING: batchStats ? 1 : 0 },
    uniforms: params(l, eps),
    buffers: [x, mean, variance, dy, weight ?? x, sums[0], sums[1], dx],
  });
  return dx;
}

function checkImage(op: string, x: Tensor): void {
  if (x.rank !== 4 || x.size === 0) {
    throw new Error(`${op}: x must be a non-empty [B, C, H, W] tensor, got [${x.shape.join(', ')}]`);
  }
}

function checkEps(op: string, eps: number): void {
  if (!(eps > 0)) throw new Error(`${op}: eps must be positive, got ${eps}`);
}

/**
 * nn.BatchNorm2d. Training: normalises with the batch mean and biased variance over (B, H, W) and
 * updates the running statistics in place (variance unbiased); eval: normalises with the running
 * statistics. Gradients for x, weight and bias in both modes.
 */
export function batchNorm2d(x: Tensor, weight: Tensor, bias: Tensor, state: BatchNormState, options: BatchNormOptions): Tensor {
  checkImage('batchNorm2d', x);
  const [B, C, H, W] = x.shape;
  const perChannel: [string, Tensor][] = [['weight', weight], ['bias', bias], ['runningMean', state.runningMean], ['runningVar', state.runningVar]];
  for (const [name, t] of perChannel) {
    if (t.rank !== 1 || t.shape[0] !== C) {
      throw new Error(`batchNorm2d: ${name} must be [${C}] for x [${x.shape.join(', ')}], got [${t.shape.join(', ')}]`);
    }
  }
  const { training, momentum = 0.1, eps = 1e-5, relu = false } = options;
  checkEps('batchNorm2d', eps);
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`batchNorm2d: momentum must be in [0, 1], got ${momentum}`);
  const l: Layout = { outer: B, groups: C, inner: H * W };
  if (training && B * H * W < 2) {
    throw new Error(`batchNorm2d: training needs more than one value per channel, got x [${x.shape.join(', ')}]`);
  }

  const [mean, variance] = training ? groupStats(x, l) : [state.runningMean, state.runningVar];
  if (training) updateRunning(mean, variance, state, l, momentum);
  const out = normalize(x, mean, variance, [weight, bias], l, eps, relu);
  record({
    op: 'batchNorm2d',
    inputs: [x, weight, bias],
    output: out,
    // In eval mode these are the running statistics themselves: backward must run before they change.
    // With the ReLU, the output masks the incoming gradient.
    save: [x, weight, mean, variance, ...(relu ? [out] : [])],
    backward: (dyOut, [xs, w, m, v, y]) => {
      const dy = relu ? reluGrad(y, dyOut) : dyOut;
      const [sumDy, sumDyXhat] = gradSums(xs, m, v, dy, l, eps);
      const dx = gradInput(xs, m, v, dy, w, [sumDy, sumDyXhat], l, eps, training);
      if (relu) dy.dispose();
      return [dx, sumDyXhat, sumDy];
    },
  });
  if (training) {
    mean.dispose();
    variance.dispose();
  }
  return out;
}

/** nn.InstanceNorm2d(affine=False): each (image, channel) normalised over H×W with its biased variance. */
export function instanceNorm2d(x: Tensor, eps = 1e-5): Tensor {
  checkImage('instanceNorm2d', x);
  checkEps('instanceNorm2d', eps);
  const [B, C, H, W] = x.shape;
  if (H * W < 2) throw new Error(`instanceNorm2d: needs more than one spatial element, got x [${x.shape.join(', ')}]`);
  const l: Layout = { outer: 1, groups: B * C, inner: H * W };
  const [mean, variance] = groupStats(x, l);
  const out = normalize(x, mean, variance, null, l, eps);
  record({
    op: 'instanceNorm2d',
    inputs: [x],
    output: out,
    save: [x, mean, variance],
    backward: (dy, [xs, m, v]) => {
      const sums = gradSums(xs, m, v, dy, l, eps);
      const dx = gradInput(xs, m, v, dy, null, sums, l, eps, true);
      sums[0].dispose();
      sums[1].dispose();
      return [dx];
    },
  });
  mean.dispose();
  variance.dispose();
  return out;
}
