// Dropout: y = x·mask/(1 − p), where the mask is drawn from a counter-based hash of
// (seed, mask index), so the same seed always gives the same mask and the backward pass can
// redraw it instead of storing it. Elements share one draw per `group` consecutive elements:
// group = 1 is elementwise dropout, group = H·W zeroes whole channels (nn.Dropout2d).

struct Params {
  n: u32,          // elements (vec4s for dropout_vec4)
  group: u32,      // consecutive elements sharing one draw
  seed: u32,
  threshold: u32,  // round(p·2²⁴): an element is dropped when its 24-bit draw is below it
  scale: f32,      // 1/(1 − p), or 0 when p = 1
}

#include "grid.wgsl"

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// XXH32 (xxHash, 32-bit) of one 4-byte word with a seed; Jarzynski & Olano ("Hash Functions for
// GPU Rendering", 2020) found it among the best-quality GPU hashes.
fn xxhash32(seed: u32, value: u32) -> u32 {
  var h = seed + 374761393u + 4u;
  h += value * 3266489917u;
  h = ((h << 17u) | (h >> 15u)) * 668265263u;
  h = (h ^ (h >> 15u)) * 2246822519u;
  h = (h ^ (h >> 13u)) * 3266489917u;
  return h ^ (h >> 16u);
}

// Whether element i is kept.
fn kept(i: u32) -> bool {
  return (xxhash32(p.seed, i / p.group) >> 8u) >= p.threshold;
}

@compute @workgroup_size(256)
fn dropout(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) li: u32) {
  let i = linearWorkgroup(wid, nwg) * 256u + li;
  if (i >= p.n) { return; }
  y[i] = select(0.0, x[i] * p.scale, kept(i));
}

// The same, four elements per invocation (when the length is a multiple of 4): the mask is
// element by element as above, so the output is the scalar kernel's.
@group(0) @binding(1) var<storage, read> x4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4f>;

@compute @workgroup_size(256)
fn dropout_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let j = linearWorkgroup(wid, nwg) * 256u + li;
  if (j >= p.n) { return; }
  let i = 4u * j;
  let keep = vec4<bool>(kept(i), kept(i + 1u), kept(i + 2u), kept(i + 3u));
  y4[j] = select(vec4f(0.0), x4[j] * p.scale, keep);
}
