// Segmentation losses with MONAI 0.6 semantics, as used by TransSeg: cross-entropy, Dice, focal and
// their sums DiceFocal and DiceCE. Each is one op on the tape: a scalar output and d logits.
//
// logits are [B, K, ...spatial]; target is [B, ...spatial] holding class indices 0..K−1 as f32.
// The target lives on the GPU, so it is checked there, not here: a value that is not an integer in
// [0, K) makes the loss NaN (and d logits NaN at those pixels), which the caller sees on read-back.

import { uniforms, type ShaderEntries } from '../gpu/gpu.js';
import { record } from '../autograd/tape.js';
import { numel, Tensor } from '../tensor/tensor.js';

type Term = 'ce' | 'dice' | 'focal';

interface TermInfo {
  /** Its kernels in loss.wgsl. */
  sums: ShaderEntries['loss'];
  finalize: ShaderEntries['loss'];
  backward: ShaderEntries['loss'];
  /** The rows its sums kernel folds: an image b, or a pair (b, k). */
  rows: (s: LossShape) => number;
  /** Whether the sums kernel reads the per-pixel softmax statistics. */
  softmax: boolean;
  /** Invocations of its backward kernel: one per pixel, or one per element. */
  backwardThreads: (s: LossShape) => number;
}

const TERMS: Record<Term, TermInfo> = {
  ce: {
    sums: 'ce_sums', finalize: 'ce_finalize', backward: 'ce_backward',
    rows: (s) => s.B, softmax: true, backwardThreads: (s) => s.B * s.N,
  },
  dice: {
    sums: 'dice_sums', finalize: 'dice_finalize', backward: 'dice_backward',
    rows: (s) => s.B * s.K, softmax: true, backwardThreads: (s) => s.B * s.N,
  },
  focal: {
    sums: 'focal_sums', finalize: 'focal_finalize', backward: 'focal_backward',
    rows: (s) => s.B * s.K, softmax: false, backwardThreads: (s) => s.B * s.K * s.N,
  },
};

/** Elements one workgroup of a sums kernel folds (CHUNK in loss.wgsl). */
const CHUNK = 4096;

interface LossShape {
  B: number;
  K: number;
  /** Spatial elements per image. */
  N: number;
}

export interface DiceOptions {
  /** Added to the numerator and the denominator (MONAI smooth_nr = smooth_dr); default 1e-5. */
  smooth?: number;
}

export interface FocalOptions {
  /** Focusing exponent γ; default 2. */
  gamma?: number;
}

interface Settings {
  smooth: number;
  gamma: number;
}

function shapeOf(op: string, logits: Tensor, target: Tensor): LossShape {
  const shapes = `logits [${logits.shape.join(', ')}], target [${target.shape.join(', ')}]`;
  if (logits.rank < 2) throw new Error(`${op}: logits must be [B, K, ...spatial]; got ${shapes}`);
  const [B, K, ...spatial] = logits.shape;
  const expected = [B, ...spatial];
  if (target.rank !== expected.length || expected.some((d, i) => d !== target.shape[i])) {
    throw new Error(`${op}: target must be [${expected.join(', ')}] (class indices, no channel axis); got ${shapes}`);
  }
  const N = numel(spatial);
  if (B * K * N === 0) throw new Error(`${op}: logits must not be empty; got ${shapes}`);
  const maxPerDim = logits.gpu.limits.maxComputeWorkgroupsPerDimension;
  if (B * K > maxPerDim || Math.ceil(N / CHUNK) > maxPerDim) {
    throw new Error(`${op}: B·K must be at most ${maxPerDim} and the spatial size at most ${maxPerDim * CHUNK}; got ${shapes}`);
  }
  return { B, K, N };
}

function checkOption(op: string, name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new Error(`${op}: ${name} must be a finite number >= 0, got ${value}`);
  return value;
}

/** Per pixel: (max logit, Σ exp(logit − max)), as [B·N, 2]. */
function softmaxStats(logits: Tensor, s: LossShape, u: ArrayBuffer): Tensor {
  const stats = Tensor.empty(logits.gpu, [s.B * s.N, 2]);
  logits.gpu.dispatch({
    shader: 'loss', entry: 'softmax_stats', uniforms: u, buffers: [stats, logits], workgroups: Math.ceil((s.B * s.N) / 256),
  });
  return stats;
}

/** Folds [rows, count, 4] partial sums until one vec4 per row is left: [rows, 4]. */
function reduceRows(partials: Tensor, s: LossShape, settings: Settings): Tensor {
  const [rows, count] = partials.shape;
  if (count === 1) return partials;
  const chunks = Math.ceil(count / CHUNK);
  const out = Tensor.empty(partials.gpu, [rows, chunks, 4]);
  partials.gpu.dispatch({
    shader: 'loss',
    entry: 'sum_partials',
    uniforms: uniforms([s.B, s.K, s.N, count], [settings.smooth, settings.gamma]),
    buffers: [out, partials],
    workgroups: [chunks, rows, 1],
  });
  partials.dispose();
  return reduceRows(out, s, settings);
}

/**
 * The loss Σ terms as one op. The Dice row sums (Σ p·t, Σ p, Σ t per (b, k)) are kept for the
 * backward rule; the other terms recompute what they need from the logits.
 */
function segmentationLoss(op: string, terms: Term[], logits: Tensor, target: Tensor, settings: Settings): Tensor {
  const s = shapeOf(op, logits, target);
  const gpu = logits.gpu;
  const u = uniforms([s.B, s.K, s.N, 0], [settings.smooth, settings.gamma]);
  const chunks = Math.ceil(s.N / CHUNK);
  const loss = Tensor.empty(gpu, []);
  const stats = terms.some((t) => TERMS[t].softmax) ? softmaxStats(logits, s, u) : null;
  let diceSums: Tensor | null = null;
  for (const [i, term] of terms.entries()) {
    const rows = TERMS[term].rows(s);
    const partials = Tensor.empty(gpu, [rows, chunks, 4]);
    gpu.dispatch({
      shader: 'loss',
      entry: TERMS[term].sums,
      uniforms: u,
      buffers: stats && TERMS[term].softmax ? [partials, logits, target, stats] : [partials, logits, target],
      workgroups: [chunks, rows, 1],
    });
    const sums = reduceRows(partials, s, settings);
    gpu.dispatch({
      shader: 'loss',
      entry: TERMS[term].finalize,
      constants: { ACCUMULATE: i > 0 ? 1 : 0 },
      uniforms: u,
      buffers: [loss, sums],
      workgroups: 1,
    });
    if (term === 'dice') diceSums = sums;
    else sums.dispose();
  }
  stats?.dispose();

  const saved = diceSums ? [logits, target, diceSums] : [logits, target];
  const out = record({
    op,
    inputs: [logits, target],
    output: loss,
    save: saved,
    backward: (gradOut, [x, labels, rowSums]) => {
      const dx = Tensor.empty(gpu, x.shape);
      terms.forEach((term, i) => {
        gpu.dispatch({
          shader: 'loss',
          entry: TERMS[term].backward,
          constants: { ACCUMULATE: i > 0 ? 1 : 0 },
          uniforms: u,
          buffers: term === 'dice' ? [dx, x, labels, gradOut, rowSums] : [dx, x, labels, gradOut],
          workgroups: Math.ceil(TERMS[term].backwardThreads(s) / 256),
        });
      });
      return [dx, null];
    },
  });
  diceSums?.dispose(); // the tape holds its own reference when it recorded
  return out;
}

/** nn.CrossEntropyLoss (reduction mean): the mean over pixels of −log softmax(logits)[target]. */
export function crossEntropyLoss(logits: Tensor, target: Tensor): Tensor {
  return segmentationLoss('crossEntropyLoss', ['ce'], logits, target, { smooth: 0, gamma: 0 });
}

/**
 * MONAI DiceLoss(to_onehot_y=True, softmax=True, include_background=True): per (b, k),
 * 1 − (2·Σ p·t + smooth) / (Σ p + Σ t + smooth) over the spatial dims, then the mean over B×K.
 */
export function diceLoss(logits: Tensor, target: Tensor, options: DiceOptions = {}): Tensor {
  const smooth = checkOption('diceLoss', 'smooth', options.smooth ?? 1e-5);
  return segmentationLoss('diceLoss', ['dice'], logits, target, { smooth, gamma: 0 });
}

/**
 * MONAI 0.6 FocalLoss on the one-hot target: sigmoid (not softmax) BCE-with-logits per element,
 * times exp(γ·logsigmoid(−x·(2t − 1))); the mean over all B·K·spatial elements.
 */
export function focalLoss(logits: Tensor, target: Tensor, options: FocalOptions = {}): Tensor {
  const gamma = checkOption('focalLoss', 'gamma', options.gamma ?? 2);
  return segmentationLoss('focalLoss', ['focal'], logits, target, { smooth: 0, gamma });
}

/** MONAI DiceFocalLoss(to_onehot_y=True, softmax=True): Dice + focal, λ = 1 each (TransSeg's default loss). */
export function diceFocalLoss(logits: Tensor, target: Tensor, options: DiceOptions & FocalOptions = {}): Tensor {
  const smooth = checkOption('diceFocalLoss', 'smooth', options.smooth ?? 1e-5);
  const gamma = checkOption('diceFocalLoss', 'gamma', options.gamma ?? 2);
  return segmentationLoss('diceFocalLoss', ['dice', 'focal'], logits, target, { smooth, gamma });
}

/** MONAI DiceCELoss(to_onehot_y=True, softmax=True): Dice + cross-entropy, λ = 1 each. */
export function diceCELoss(logits: Tensor, target: Tensor, options: DiceOptions = {}): Tensor {
  const smooth = checkOption('diceCELoss', 'smooth', options.smooth ?? 1e-5);
  return segmentationLoss('diceCELoss', ['dice', 'ce'], logits, target, { smooth, gamma: 0 });
}
