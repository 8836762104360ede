// Sum over any set of axes (times a scale: 1 for a sum, 1/count for a mean).
//
// The host splits the input's dimensions into kept and reduced ones, each list described by sizes
// and input strides (neighbouring dimensions that are contiguous in the input are merged first).
// Output element o is the sum of x[keptOffset(o) + reducedOffset(r)] over r < redCount.
// `reduce`: one workgroup per output element: each invocation sums a strided share of the r's,
// then a tree in workgroup memory combines the WG partial sums. `reduce_short`, for reductions of
// at most SHORT_REDUCTION terms (a batch of 4, say), where most of a workgroup would sit idle
// through the tree: one invocation per output element sums its r's in order. Either way the order
// of additions is fixed, so results are deterministic (no atomics).

override WG: u32 = 256u; // a power of two; the host picks it from the reduced length

struct Params {
  keptShape: array<vec4u, 2>,
  keptStride: array<vec4u, 2>,
  redShape: array<vec4u, 2>,
  redStride: array<vec4u, 2>,
  keptRank: u32,
  redRank: u32,
  outCount: u32,
  redCount: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, WG>;

#include "grid.wgsl"

fn at(v: array<vec4u, 2>, k: u32) -> u32 {
  return v[k / 4u][k % 4u];
}

// Offset in x of linear index i over the dimensions (shape, stride), innermost last.
fn offsetOf(i: u32, shape: array<vec4u, 2>, stride: array<vec4u, 2>, rank: u32) -> u32 {
  var rest = i;
  var off = 0u;
  for (var d = rank; d > 0u; d--) {
    let size = at(shape, d - 1u);
    off += (rest % size) * at(stride, d - 1u);
    rest /= size;
  }
  return off;
}

@compute @workgroup_size(WG)
fn reduce(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) lid: u32) {
  let o = linearWorkgroup(wid, nwg);
  if (o >= p.outCount) { return; } // the whole workgroup leaves together
  let base = offsetOf(o, p.keptShape, p.keptStride, p.keptRank);
  var acc = 0.0;
  for (var r = lid; r < p.redCount; r += WG) {
    acc += x[base + offsetOf(r, p.redShape, p.redStride, p.redRank)];
  }
  partial[lid] = acc;
  for (var width = WG / 2u; width > 0u; width /= 2u) {
    workgroupBarrier();
    if (lid < width) { partial[lid] += partial[lid + width]; }
  }
  if (lid == 0u) { out[o] = partial[0] * p.scale; }
}

@compute @workgroup_size(256)
fn reduce_short(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) lid: u32) {
  let o = linearWorkgroup(wid, nwg) * 256u + lid;
  if (o >= p.outCount) { return; }
  let base = offsetOf(o, p.keptShape, p.keptStride, p.keptRank);
  var acc = 0.0;
  for (var r = 0u; r < p.redCount; r++) {
    acc += x[base + offsetOf(r, p.redShape, p.redStride, p.redRank)];
  }
  out[o] = acc * p.scale;
}
