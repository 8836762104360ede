// CPU references of the layout ops (src/ops/shape.ts, shaders/layout.wgsl): permute, slice, split
// and concat as plain loops over row-major arrays.

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

/** Coordinates of linear index i in a row-major shape. */
export function coords(i: number, shape: readonly number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return c;
}

export function permuteRef(x: Float64Array, shape: number[], dims: number[]): Float64Array {
  const outShape = dims.map((d) => shape[d]);
  const inStrides = strides(shape);
  return Float64Array.from({ length: x.length }, (_, i) => {
    const c = coords(i, outShape);
    return x[c.reduce((s, ci, k) => s + ci * inStrides[dims[k]], 0)];
  });
}

export function sliceRef(x: Float64Array, shape: number[], axis: number, start: number, end: number): Float64Array {
  const outShape = shape.map((d, i) => (i === axis ? end - start : d));
  const inStrides = strides(shape);
  const n = outShape.reduce((a, b) => a * b, 1);
  return Float64Array.from({ length: n }, (_, i) => {
    const c = coords(i, outShape);
    c[axis] += start;
    return x[c.reduce((s, ci, k) => s + ci * inStrides[k], 0)];
  });
}

/** The consecutive parts of the given sizes along `axis`. */
export function splitRef(x: Float64Array, shape: number[], sizes: number[], axis: number): Float64Array[] {
  let start = 0;
  return sizes.map((n) => {
    start += n;
    return sliceRef(x, shape, axis, start - n, start);
  });
}

export function concatRef(xs: Float64Array[], shapes: number[][], axis: number): Float64Array {
  const outShape = [...shapes[0]];
  outShape[axis] = shapes.reduce((s, sh) => s + sh[axis], 0);
  const n = outShape.reduce((a, b) => a * b, 1);
  return Float64Array.from({ length: n }, (_, i) => {
    const c = coords(i, outShape);
    let k = 0;
    while (c[axis] >= shapes[k][axis]) c[axis] -= shapes[k++][axis];
    return xs[k][c.reduce((s, ci, d) => s + ci * strides(shapes[k])[d], 0)];
  });
}
