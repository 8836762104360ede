// Reductions (sum, mean, sumToShape) and their adjoint, broadcastTo, with backward rules. The
// strided index layouts their kernels are given come from layout.ts.

import { uniforms } from '../gpu/gpu.js';
import { record } from '../autograd/tape.js';
import { checkShape, numel, Tensor } from '../tensor/tensor.js';
import {
  broadcastShape, broadcastStrides, coalesce, contiguousStrides, fmt, normalizeAxis, padDims, sameShape,
} from './layout.js';

// Part of the public API through src/index.ts's `export *` of this module.
export { broadcastShape, broadcastStrides, coalesce, padDims, sameShape, type Layout } from './layout.js';

/**
 * out = alpha · src read as `srcShape` broadcast to `target` (`srcShape` has src's element count;
 * a reduction's keepDims shape, say). The `broadcast` kernel lives with the strided elementwise ones.
 */
function expand(op: string, src: Tensor, srcShape: readonly number[], target: readonly number[], alpha = 1): Tensor {
  const layout = coalesce(op, target, [broadcastStrides(srcShape, target)]);
  const out = Tensor.empty(src.gpu, target);
  if (out.size === 0) return out;
  src.gpu.dispatch({
    shader: 'elementwise',
    entry: 'broadcast',
    constants: { RANK: layout.sizes.length },
    uniforms: uniforms([...padDims(layout.sizes), ...padDims(layout.strides[0]), ...padDims([]), out.size], [alpha]),
    buffers: [src, out],
    workgroups: Math.ceil(out.size / 256),
  });
  return out;
}

/**
 * Reductions of at most this many terms take `reduce_short`, one invocation per output, summing
 * in order; longer ones a workgroup per output (shaders/reduce.wgsl).
 */
const SHORT_REDUCTION = 32;

/** scale · (sum of x over `axes`), into a new tensor of `outShape` (x's kept dims in order). */
function reduce(op: string, x: Tensor, axes: readonly number[], outShape: readonly number[], scale: number): Tensor {
  const strides = contiguousStrides(x.shape);
  const dims = x.shape.map((size, d) => ({ size, stride: strides[d], reduced: axes.includes(d) }));
  const part = (reduced: boolean) => {
    const ds = dims.filter((d) => d.reduced === reduced);
    return coalesce(op, ds.map((d) => d.size), [ds.map((d) => d.stride)]);
  };
  const kept = part(false);
  const red = part(true);
  const redCount = numel(red.sizes);
  const out = Tensor.empty(x.gpu, outShape);
  if (out.size === 0) return out;
  const short = redCount <= SHORT_REDUCTION;
  // Enough invocations for one element each on short reductions, 256 on long ones.
  const wg = Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(Math.max(redCount, 1)))));
  x.gpu.dispatch({
    shader: 'reduce',
    ...(short ? { entry: 'reduce_short', workgroups: Math.ceil(out.size / 256) } : { entry: 'reduce', constants: { WG: wg }, workgroups: out.size }),
    uniforms: uniforms(
      [
        ...padDims(kept.sizes), ...padDims(kept.strides[0]), ...padDims(red.sizes), ...padDims(red.strides[0]),
        kept.sizes.length, red.sizes.length, out.size, redCount,
      ],
      [scale],
    ),
    buffers: [x, out],
  });
  return out;
}

/** Sorted, distinct, non-negative axes; undefined means all of them. */
function normalizeAxes(op: string, shape: readonly number[], axes: readonly number[] | undefined): number[] {
  if (axes === undefined) return shape.map((_, d) => d);
  const out = axes.map((a) => normalizeAxis(op, 'axis', a, shape));
  if (new Set(out).size !== out.length) throw new Error(`${op}: repeated axis in ${fmt(axes)} for shape ${fmt(shape)}`);
  return out.sort((a, b) => a - b);
}

function reduction(op: 'sum' | 'mean', x: Tensor, axes: readonly number[] | undefined, keepDims: boolean): Tensor {
  const reduced = normalizeAxes(op, x.shape, axes);
  const keptShape = x.shape.map((d, i) => (reduced.includes(i) ? 1 : d));
  const outShape = keepDims ? keptShape : x.shape.filter((_, i) => !reduced.includes(i));
  // A mean over nothing is 0 · ∞ = NaN, as in PyTorch.
  const scale = op === 'mean' ? 1 / numel(reduced.map((d) => x.shape[d])) : 1;
  const out = reduce(op, x, reduced, outShape, scale);
  return record({
    op,
    inputs: [x],
    output: out,
    backward: (g) => [expand(op, g, keptShape, x.shape, scale)],
  });
}

/**
 * Sum over `axes` (negative counts from the end; all axes when omitted, giving a 0-d tensor of
 * shape []). `axes = []` reduces nothing (a copy), as in NumPy. keepDims leaves size-1 dims.
 */
export function sum(x: Tensor, axes?: readonly number[], keepDims = false): Tensor {
  return reduction('sum', x, axes, keepDims);
}

/** Mean over `axes`, as `sum`. */
export function mean(x: Tensor, axes?: readonly number[], keepDims = false): Tensor {
  return reduction('mean', x, axes, keepDims);
}

/**
 * Sums x down to `shape`, which must broadcast to x's shape: the leading dims x has beyond
 * `shape`, and the dims where `shape` has 1, are summed. It undoes a broadcast in backward rules.
 */
export function sumToShape(x: Tensor, shape: readonly number[]): Tensor {
  checkShape(shape, 'sumToShape: shape');
  if (!sameShape(broadcastShape('sumToShape', shape, x.shape), x.shape)) {
    throw new Error(`sumToShape: shape ${fmt(shape)} does not broadcast to x's shape ${fmt(x.shape)}`);
  }
  const lead = x.rank - shape.length;
  const axes = x.shape.map((_, d) => d).filter((d) => d < lead || (shape[d - lead] === 1 && x.shape[d] !== 1));
  const out = reduce('sumToShape', x, axes, shape, 1);
  return record({
    op: 'sumToShape',
    inputs: [x],
    output: out,
    backward: (g) => [expand('sumToShape', g, shape, x.shape)],
  });
}

/** x broadcast to `shape` (NumPy rules), materialised as a new contiguous tensor. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  checkShape(shape, 'broadcastTo: shape');
  if (!sameShape(broadcastShape('broadcastTo', x.shape, shape), shape)) {
    throw new Error(`broadcastTo: x's shape ${fmt(x.shape)} does not broadcast to ${fmt(shape)}`);
  }
  const out = expand('broadcastTo', x, x.shape, shape);
  return record({
    op: 'broadcastTo',
    inputs: [x],
    output: out,
    backward: (g) => [sumToShape(g, x.shape)],
  });
}
