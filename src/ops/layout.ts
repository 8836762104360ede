// Index-layout helpers shared by the op modules: shape formatting for errors, row-major strides,
// NumPy broadcasting, axis normalisation, and the dimension merging (coalesce) that turns an
// operand's strided walk into the few dimensions a kernel's index arithmetic handles.

/** Dimensions a kernel's index mapping holds (two vec4u per list in WGSL), after merging. */
export const MAX_DIMS = 8;

/** A shape as `[2, 3]`, for error messages. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Row-major strides, in elements, of a contiguous tensor of this shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
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

/**
 * Resolves a possibly negative axis (-1 is the last) against `shape`'s rank, or throws naming the
 * op and what the axis is (`axis`, `dim0`, ...).
 */
export function normalizeAxis(op: string, what: string, axis: number, shape: readonly number[]): number {
  const rank = shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new Error(`${op}: ${what} ${axis} is out of range for shape ${fmt(shape)}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** An index space: dimension sizes, outermost first, and each operand's stride along each. */
export interface Layout {
  sizes: number[];
  strides: number[][];
}

/**
 * Drops size-1 dimensions and merges neighbours that every operand walks contiguously (outer
 * stride = inner stride · inner size), so the kernel does one division per remaining dimension:
 * two same-shaped operands become a single flat dimension. `strides` holds one list per operand.
 */
export function coalesce(op: string, sizes: readonly number[], strides: readonly (readonly number[])[]): Layout {
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
    throw new Error(`${op}: the index space ${fmt(sizes)} still has ${out.sizes.length} dimensions after merging; at most ${MAX_DIMS} are supported`);
  }
  return out;
}

/**
 * The layout counted in vec4s, for the `_vec4` kernels: possible where every operand walks the
 * innermost dimension contiguously and that dimension's size and every other stride are multiples
 * of 4. Null otherwise (or for a layout with no dimensions).
 */
export function vec4Layout(layout: Layout): Layout | null {
  const last = layout.sizes.length - 1;
  if (last < 0 || layout.sizes[last] % 4 !== 0) return null;
  if (!layout.strides.every((s) => s[last] === 1 && s.every((v, d) => d === last || v % 4 === 0))) return null;
  return {
    sizes: layout.sizes.map((v, d) => (d === last ? v / 4 : v)),
    strides: layout.strides.map((s) => s.map((v, d) => (d === last ? 1 : v / 4))),
  };
}

/** A list padded to MAX_DIMS u32 words (an array<vec4u, 2> in WGSL). */
export function padDims(list: readonly number[]): number[] {
  return [...list, ...new Array<number>(MAX_DIMS - list.length).fill(0)];
}
