// Reductions (sum, mean, sumToShape) and their adjoint, broadcastTo, with backward rules; plus the
// strided index layouts these kernels and the broadcasting elementwise ops describe to the GPU.

import { uniforms } from '../gpu/gpu.js';
import { record } from '../autograd/tape.js';
import { checkShape, numel, Tensor } from '../tensor/tensor.js';

/** Dimensions a kernel's index mapping holds (two vec4u per list in WGSL), after merging. */
const MAX_DIMS = 8;

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/** The shape two operands broadcast to under NumPy's rules; `op` names the caller in errors. */
export function broadcastShape(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let k = 1; k <= rank; k++) {
    const da = a[a.length - k] ?? 1;
    const db = b[b.length - k] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: shapes ${fmt(a)} and ${fmt(b)} cannot be broadcast together (dim -${k}: ${da} vs ${db})`);
    }
    out[rank - k] = da === 1 ? db : da;
  }
  return out;
}

/** Strides for reading a contiguous `shape` as if broadcast to `target`: 0 along broadcast dims. */
export function broadcastStrides(shape: readonly number[], target: readonly number[]): number[] {
  const own = contiguousStrides(shape);
  const lead = target.length - shape.length;
  return target.map((_, d) => (d < lead || shape[d - lead] === 1 ? 0 : own[d - lead]));
}

/** An index space: dimension sizes, outermost first, and each operand's stride along each. */
export interface Layout {
  sizes: number[];
  strides: number[][];
}

/**
 * Drops size-1 dimensions and merges neighbours that every operand walks contiguously (outer
 * stride = inner stride · inner size), so the kernel does one division per remaining dimension:
 * two same-shaped operands become a single flat dimension.
 */
export function coalesce(op: string, sizes: readonly number[], strides: number[][]): Layout {
  const out: Layout = { sizes: [], strides: strides.map(() => []) };
  sizes.forEach((size, d) => {
    if (size === 1) return;
    const last = out.sizes.length - 1;
    if (last >= 0 && strides.every((s, k) => out.strides[k][last] === s[d] * size)) {
      out.sizes[last] *= size;
      strides.forEach((s, k) => (out.strides[k][last] = s[d]));
    } else {
      out.sizes.push(size);
      strides.forEach((s, k) => out.strides[k].push(s[d]));
    }
  });
  if (out.sizes.length > MAX_DIMS) {
    throw new Error(`${op}: the index space [${sizes.join(', ')}] still has ${out.sizes.length} dimensions after merging; at most ${MAX_DIMS} are supported`);
  }
  return out;
}

/** A list padded to MAX_DIMS u32 words (an array<vec4u, 2> in WGSL). */
export function padDims(list: readonly number[]): number[] {
  return [...list, ...new Array<number>(MAX_DIMS - list.length).fill(0)];
}

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
    uniforms: uniforms(
      [...padDims(layout.sizes), ...padDims(layout.strides[0]), ...padDims([]), layout.sizes.length, out.size],
      [alpha],
    ),
    buffers: [src, out],
    workgroups: Math.ceil(out.size / 256),
  });
  return out;
}

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
  // Enough invocations for one element each on short reductions, 256 on long ones.
  const wg = Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(Math.max(redCount, 1)))));
  x.gpu.dispatch({
    shader: 'reduce',
    entry: 'reduce',
    constants: { WG: wg },
    uniforms: uniforms(
      [
        ...padDims(kept.sizes), ...padDims(kept.strides[0]), ...padDims(red.sizes), ...padDims(red.strides[0]),
        kept.sizes.length, red.sizes.length, out.size, redCount,
      ],
      [scale],
    ),
    buffers: [x, out],
    workgroups: out.size,
  });
  return out;
}

/** Sorted, distinct, non-negative axes; undefined means all of them. */
function normalizeAxes(op: string, shape: readonly number[], axes: readonly number[] | undefined): number[] {
  if (axes === undefined) return shape.map((_, d) => d);
  const out = axes.map((a) => {
    if (!Number.isInteger(a) || a < -shape.length || a >= shape.length) {
      throw new Error(`${op}: axis ${a} is out of range for shape ${fmt(shape)}`);
    }
    return a < 0 ? a + shape.length : a;
  });
  if (new Set(out).size !== out.length) throw new Error(`${op}: repeated axis in [${axes.join(', ')}] for shape ${fmt(shape)}`);
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
