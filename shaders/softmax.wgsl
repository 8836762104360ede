// Softmax and log-softmax over the last axis of a [rows, L] array, and their gradients.
// One workgroup per row; each invocation strides through the row (rows longer than the workgroup
// loop), then workgroupMax / workgroupSum (shaders/lib/workgroup-reduce.wgsl) combine the 256
// partial results. The forward subtracts the row maximum before exp, so large inputs cannot
// overflow.

override LOG: bool = false;  // log-softmax instead of softmax

const WG = 256u;
const F32_MAX = 3.40282346638528859812e38f;

struct Params {
  rows: u32,
  L: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

#include "grid.wgsl"
#include "workgroup-reduce.wgsl"

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }  // uniform across the workgroup, so the barriers stay legal
  let base = row * p.L;

  var m = -F32_MAX;
  for (var i = lid; i < p.L; i += WG) { m = max(m, x[base + i]); }
  m = workgroupMax(lid, m);

  var s = 0.0;
  for (var i = lid; i < p.L; i += WG) { s += exp(x[base + i] - m); }
  s = workgroupSum(lid, s);

  if (LOG) {
    let logSum = log(s);
    for (var i = lid; i < p.L; i += WG) { y[base + i] = x[base + i] - m - logSum; }
  } else {
    let inv = 1.0 / s;
    for (var i = lid; i < p.L; i += WG) { y[base + i] = exp(x[base + i] - m) * inv; }
  }
}

// Softmax: dx = y·(dy − Σ dy·y). Log-softmax (y = log-probabilities): dx = dy − exp(y)·Σ dy.
@group(0) @binding(1) var<storage, read> out: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.L;

  var s = 0.0;
  for (var i = lid; i < p.L; i += WG) {
    if (LOG) { s += dy[base + i]; } else { s += dy[base + i] * out[base + i]; }
  }
  s = workgroupSum(lid, s);

  for (var i = lid; i < p.L; i += WG) {
    let yi = out[base + i];
    if (LOG) { dx[base + i] = dy[base + i] - exp(yi) * s; } else { dx[base + i] = yi * (dy[base + i] - s); }
  }
}
