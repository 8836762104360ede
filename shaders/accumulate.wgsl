// Gradient accumulation for the autograd tape: out = a + b over same-shaped arrays, one element
// per invocation or, in `add_vec4` (when the length is a multiple of 4), one vec4.
// Uses a 1-D grid that may be split over (x, y) when it exceeds 65535 workgroups.

#include "grid.wgsl"

struct Params { n: u32 } // elements, or vec4s for add_vec4

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn add(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
       @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * 256u + lid;
  if (i < p.n) { out[i] = a[i] + b[i]; }
}

@group(0) @binding(1) var<storage, read> a4: array<vec4f>;
@group(0) @binding(2) var<storage, read> b4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4f>;

@compute @workgroup_size(256)
fn add_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * 256u + lid;
  if (i < p.n) { out4[i] = a4[i] + b4[i]; }
}
