// Layout copies: one strided copy serves permute, slice, slice's gradient and each part of a
// concat; a fill writes a constant (zeros, full).
//
// The copy walks a box of `shape` (rank <= 8, row-major, one invocation per element). The element
// at coordinates c is read from src[srcBase + Σ c[d]·srcStride[d]] and written to
// dst[dstBase + Σ c[d]·dstStride[d]]. A permute reads with permuted strides; a slice reads at an
// offset; writing a concat part (or a slice's gradient) writes at an offset into a larger tensor.

struct CopyParams {
  n: u32,        // elements in the box
  rank: u32,
  srcBase: u32,
  dstBase: u32,
  // Dimension d lives in component d % 4 of vector d / 4 (uniform arrays need 16-byte elements).
  shape: array<vec4u, 2>,
  srcStride: array<vec4u, 2>,
  dstStride: array<vec4u, 2>,
}

@group(0) @binding(0) var<uniform> cp: CopyParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn strided_copy(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= cp.n) { return; }
  // Peel coordinates off the linear index, innermost dimension first.
  var rest = i;
  var s = cp.srcBase;
  var t = cp.dstBase;
  for (var d = i32(cp.rank) - 1; d >= 0; d--) {
    let v = u32(d) / 4u;
    let k = u32(d) % 4u;
    let size = cp.shape[v][k];
    let c = rest % size;
    rest /= size;
    s += c * cp.srcStride[v][k];
    t += c * cp.dstStride[v][k];
  }
  dst[t] = src[s];
}

struct FillParams {
  n: u32,
  value: f32,
}

@group(0) @binding(0) var<uniform> fp: FillParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i < fp.n) { out[i] = fp.value; }
}
