// Shape ops: reshape (a view), permute / transpose, slice, split, concat and copy (contiguous
// copies), zeros / full (a fill kernel), each with its backward rule.

import { flatWork, uniforms, type Gpu } from '../gpu/gpu.js';
import { record, recordMany } from '../autograd/tape.js';
import { inferShape, numel, Tensor } from '../tensor/tensor.js';
import { coalesce, contiguousStrides, fmt, MAX_DIMS, normalizeAxis, padDims, vec4Layout } from './layout.js';

/**
 * A box of elements copied from src to dst: the element at coordinates c moves from
 * src[srcBase + Σ c[d]·srcStride[d]] to dst[dstBase + Σ c[d]·dstStride[d]] (offsets in elements).
 */
interface Box {
  shape: number[];
  srcStride: number[];
  dstStride: number[];
  srcBase: number;
  dstBase: number;
}

/**
 * The box with its dimensions merged where both src and dst walk them contiguously (see
 * coalesce), so the kernel does less index arithmetic and a fully contiguous box becomes one
 * plain buffer copy. A box of only size-1 dimensions becomes a single dimension of size 1.
 */
function coalesceBox(box: Box): Box {
  const { sizes, strides: [srcStride, dstStride] } = coalesce('copy', box.shape, [box.srcStride, box.dstStride]);
  if (sizes.length === 0) return { ...box, shape: [1], srcStride: [1], dstStride: [1] };
  return { shape: sizes, srcStride, dstStride, srcBase: box.srcBase, dstBase: box.dstBase };
}

/**
 * The box counted in vec4s (see vec4Layout) where both bases are multiples of 4 too; null
 * otherwise.
 */
function vec4Box(b: Box): Box | null {
  const v = vec4Layout({ sizes: b.shape, strides: [b.srcStride, b.dstStride] });
  if (!v || b.srcBase % 4 !== 0 || b.dstBase % 4 !== 0) return null;
  return { shape: v.sizes, srcStride: v.strides[0], dstStride: v.strides[1], srcBase: b.srcBase / 4, dstBase: b.dstBase / 4 };
}

/** Encodes the copy of a box from src into dst (which must be different buffers). */
function copyBox(src: Tensor, dst: Tensor, box: Box): void {
  const n = numel(box.shape);
  if (n === 0) return;
  const b = coalesceBox(box);
  if (b.shape.length === 1 && b.srcStride[0] === 1 && b.dstStride[0] === 1) {
    src.gpu.copy(src.buffer, src.byteOffset + 4 * b.srcBase, dst.buffer, dst.byteOffset + 4 * b.dstBase, 4 * n);
    return;
  }
  const v = vec4Box(b);
  const walk = v ?? b;
  const count = numel(walk.shape);
  src.gpu.dispatch({
    shader: 'layout',
    entry: v ? 'strided_copy_vec4' : 'strided_copy',
    constants: { RANK: walk.shape.length },
    uniforms: uniforms([count, walk.srcBase, walk.dstBase, 0, ...padDims(walk.shape), ...padDims(walk.srcStride), ...padDims(walk.dstStride)]),
    buffers: [src, dst],
    workgroups: Math.ceil(count / 256),
  });
}

/**
 * The range [start, start + len) along `axis` of a contiguous tensor `whole`, as a box of
 * [elements before the axis, len, elements after it], with strides in `whole` and in a contiguous
 * `part` holding just that range.
 */
function rangeBox(whole: readonly number[], axis: number, start: number, len: number) {
  const outer = numel(whole.slice(0, axis));
  const inner = numel(whole.slice(axis + 1));
  return {
    shape: [outer, len, inner],
    wholeStride: [whole[axis] * inner, inner, 1],
    partStride: [len * inner, inner, 1],
    wholeBase: start * inner,
  };
}

/** Copies the range of `whole` starting at `start` along `axis` into `part` (a slice). */
function readRange(whole: Tensor, part: Tensor, axis: number, start: number): void {
  const r = rangeBox(whole.shape, axis, start, part.shape[axis]);
  copyBox(whole, part, { shape: r.shape, srcStride: r.wholeStride, dstStride: r.partStride, srcBase: r.wholeBase, dstBase: 0 });
}

/** Copies `part` into the range of `whole` starting at `start` along `axis` (a concat part, a slice's gradient). */
function writeRange(part: Tensor, whole: Tensor, axis: number, start: number): void {
  const r = rangeBox(whole.shape, axis, start, part.shape[axis]);
  copyBox(part, whole, { shape: r.shape, srcStride: r.partStride, dstStride: r.wholeStride, srcBase: 0, dstBase: r.wholeBase });
}

/** The range [start, end) along `axis` as a new contiguous tensor, recording nothing. */
function sliceCopy(x: Tensor, axis: number, start: number, end: number): Tensor {
  const shape = [...x.shape];
  shape[axis] = end - start;
  const out = Tensor.empty(x.gpu, shape);
  readRange(x, out, axis, start);
  return out;
}

/** The permuted copy, recording nothing. `dims` is already validated and non-negative. */
function permuteCopy(x: Tensor, dims: number[]): Tensor {
  const inStrides = contiguousStrides(x.shape);
  const shape = dims.map((d) => x.shape[d]);
  const out = Tensor.empty(x.gpu, shape);
  copyBox(x, out, {
    shape,
    srcStride: dims.map((d) => inStrides[d]),
    dstStride: contiguousStrides(shape),
    srcBase: 0,
    dstBase: 0,
  });
  return out;
}

function fill(gpu: Gpu, op: string, shape: readonly number[], value: number): Tensor {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`${op}: shape ${fmt(shape)} must hold non-negative integers`);
  }
  const out = Tensor.empty(gpu, shape);
  if (out.size === 0) return out;
  const { vec4, count } = flatWork(out.size);
  gpu.dispatch({
    shader: 'layout',
    entry: vec4 ? 'fill_vec4' : 'fill',
    uniforms: uniforms([count], [value]),
    buffers: [out],
    workgroups: Math.ceil(count / 256),
  });
  return out;
}

/** A new tensor of this shape filled with `value` (rounded to f32). */
export function full(gpu: Gpu, shape: readonly number[], value: number): Tensor {
  return fill(gpu, 'full', shape, value);
}

export function zeros(gpu: Gpu, shape: readonly number[]): Tensor {
  return fill(gpu, 'zeros', shape, 0);
}

/** The same data under a new shape (one entry may be -1): a view, no copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.filter((d) => d === -1).length > 1) throw new Error(`reshape: at most one -1 allowed, got ${fmt(shape)}`);
  let resolved: number[];
  try {
    resolved = inferShape(shape, x.size, x.shape);
  } catch (e) {
    throw new Error(`reshape: ${(e as Error).message}`);
  }
  const inShape = x.shape;
  return record({
    op: 'reshape',
    inputs: [x],
    output: x.reshapeView(resolved),
    backward: (g) => [g.reshapeView(inShape)],
  });
}

/** PyTorch's permute: output dimension i is input dimension dims[i]. The result is contiguous. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (x.rank > MAX_DIMS) throw new Error(`permute: at most ${MAX_DIMS} dimensions, got x ${fmt(x.shape)}`);
  const bad = () => new Error(`permute: dims ${fmt(dims)} must be a permutation of the ${x.rank} dimensions of x ${fmt(x.shape)}`);
  if (dims.length !== x.rank) throw bad();
  const resolved = dims.map((d) => {
    if (!Number.isInteger(d) || d < -x.rank || d >= x.rank) throw bad();
    return d < 0 ? d + x.rank : d;
  });
  if (new Set(resolved).size !== x.rank) throw bad();
  const inverse = new Array<number>(x.rank);
  resolved.forEach((d, i) => (inverse[d] = i));
  return record({
    op: 'permute',
    inputs: [x],
    output: permuteCopy(x, resolved),
    backward: (g) => [permuteCopy(g, inverse)],
  });
}

/** Swaps two dimensions (a contiguous copy). */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normalizeAxis('transpose', 'dim0', dim0, x.shape);
  const b = normalizeAxis('transpose', 'dim1', dim1, x.shape);
  const dims = x.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return permute(x, dims);
}

/** The elements start <= i < end along `axis`, as a new contiguous tensor. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const ax = normalizeAxis('slice', 'axis', axis, x.shape);
  const size = x.shape[ax];
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end || end > size) {
    throw new Error(`slice: range [${start}, ${end}) is not within 0..${size} along axis ${ax} of x ${fmt(x.shape)}`);
  }
  const inShape = x.shape;
  return record({
    op: 'slice',
    inputs: [x],
    output: sliceCopy(x, ax, start, end),
    backward: (g) => {
      const dx = zeros(g.gpu, inShape);
      writeRange(g, dx, ax, start);
      return [dx];
    },
  });
}

/**
 * PyTorch's split with a list of sizes: consecutive parts of `x` along `axis`, as new contiguous
 * tensors. Unlike a slice per part, the backward writes every part's gradient into one buffer
 * (zero-filled only where a part got none) instead of summing a zero-padded gradient per part.
 */
export function split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
  const ax = normalizeAxis('split', 'axis', axis, x.shape);
  const total = sizes.reduce((s, n) => s + n, 0);
  if (sizes.length === 0 || !sizes.every((n) => Number.isInteger(n) && n > 0) || total !== x.shape[ax]) {
    throw new Error(`split: sizes ${fmt(sizes)} must be positive integers adding up to ${x.shape[ax]}, the size of axis ${ax} of x ${fmt(x.shape)}`);
  }
  const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((s, n) => s + n, 0));
  const { gpu, shape: inShape } = x;
  return recordMany({
    op: 'split',
    inputs: [x],
    outputs: sizes.map((n, i) => sliceCopy(x, ax, starts[i], starts[i] + n)),
    backward: (gs) => {
      const dx = gs.every((g) => g) ? Tensor.empty(gpu, inShape) : zeros(gpu, inShape);
      gs.forEach((g, i) => g && writeRange(g, dx, ax, starts[i]));
      return [dx];
    },
  });
}

/** Joins tensors along `axis`; all other dimensions must match. */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new Error('concat: needs at least one tensor');
  const first = xs[0];
  const ax = normalizeAxis('concat', 'axis', axis, first.shape);
  xs.forEach((x, i) => {
    if (x.rank !== first.rank || x.shape.some((d, j) => j !== ax && d !== first.shape[j])) {
      throw new Error(`concat: tensor ${i} has shape ${fmt(x.shape)}; along axis ${ax} it cannot join ${fmt(first.shape)}`);
    }
  });
  const starts: number[] = [];
  let total = 0;
  for (const x of xs) {
    starts.push(total);
    total += x.shape[ax];
  }
  const shape = [...first.shape];
  shape[ax] = total;
  const out = Tensor.empty(first.gpu, shape);
  xs.forEach((x, i) => writeRange(x, out, ax, starts[i]));
  return record({
    op: 'concat',
    inputs: [...xs],
    output: out,
    backward: (g) => xs.map((x, i) => sliceCopy(g, ax, starts[i], starts[i] + x.shape[ax])),
  });
}

/** A contiguous copy with its own storage. */
export function copy(x: Tensor): Tensor {
  const out = Tensor.empty(x.gpu, x.shape);
  x.gpu.copy(x.buffer, x.byteOffset, out.buffer, 0, x.byteLength);
  return record({
    op: 'copy',
    inputs: [x],
    output: out,
    backward: (g) => [g.retain()],
  });
}
