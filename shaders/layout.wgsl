// Layout copies: one strided copy serves permute, slice, slice's gradient and each part of a
// concat; a fill writes a constant (zeros, full), four at a time in `fill_vec4`.
//
// The copy walks a box of `shape` (rank <= 8, row-major, one invocation per element). The element
// at coordinates c is read from src[srcBase + Σ c[d]·srcStride[d]] and written to
// dst[dstBase + Σ c[d]·dstStride[d]]. A permute reads with permuted strides; a slice reads at an
// offset; writing a concat part (or a slice's gradient) writes at an offset into a larger tensor.
//
// `strided_copy_vec4` is the same walk with vec4 elements: the host uses it when the box's
// innermost dimension is contiguous on both sides and its size, the other strides and both bases
// are multiples of 4, and passes them all counted in vec4s.
//
// The rank is an override constant, so the loop over dimensions unrolls and each uniform load has
// a constant address: lavapipe then loads it once per SIMD vector instead of lane by lane.

#include "grid.wgsl"

struct CopyParams {
  n: u32,        // elements in the box
  srcBase: u32,
  dstBase: u32,
  pad: u32,      // the host packs words in order: this keeps `shape` at byte 16
  // Dimension d lives in component d % 4 of vector d / 4 (uniform arrays need 16-byte elements).
  shape: array<vec4u, 2>,
  srcStride: array<vec4u, 2>,
  dstStride: array<vec4u, 2>,
}

override RANK: u32 = 1u;

@group(0) @binding(0) var<uniform> cp: CopyParams;

// The source and destination offsets of box element i: its coordinates peeled off the linear
// index, innermost dimension first, weighted by each side's strides.
fn boxOffsets(i: u32) -> vec2u {
  var rest = i;
  var at = vec2u(cp.srcBase, cp.dstBase);
  for (var d = i32(RANK) - 1; d >= 0; d--) {
    let v = u32(d) / 4u;
    let k = u32(d) % 4u;
    let size = cp.shape[v][k];
    let c = rest % size;
    rest /= size;
    at += c * vec2u(cp.srcStride[v][k], cp.dstStride[v][k]);
  }
  return at;
}

@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn strided_copy(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * 256u + lid;
  if (i >= cp.n) { return; }
  let at = boxOffsets(i);
  dst[at.y] = src[at.x];
}

@group(0) @binding(1) var<storage, read> src4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> dst4: array<vec4f>;

@compute @workgroup_size(256)
fn strided_copy_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * 256u + lid;
  if (i >= cp.n) { return; }
  let at = boxOffsets(i);
  dst4[at.y] = src4[at.x];
}

struct FillParams {
  n: u32,     // elements, or vec4s for fill_vec4
  value: f32,
}

@group(0) @binding(0) var<uniform> fp: FillParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * 256u + lid;
  if (i < fp.n) { out[i] = fp.value; }
}

@group(0) @binding(1) var<storage, read_write> out4: array<vec4f>;

@compute @workgroup_size(256)
fn fill_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * 256u + lid;
  if (i < fp.n) { out4[i] = vec4f(fp.value); }
}
