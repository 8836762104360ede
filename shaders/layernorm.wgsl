// LayerNorm over the last axis of a [rows, C] array, as nn.LayerNorm:
//   y = (x − mean) · rstd · weight + bias,   rstd = 1 / sqrt(var + eps),   var biased (÷ C).
// The forward saves mean and rstd per row for the backward. With x̂ = (x − mean)·rstd, g = dy·weight:
//   dx = rstd · (g − mean(g) − x̂ · mean(g·x̂))        (per row)
//   dweight = Σ_rows dy·x̂,   dbias = Σ_rows dy       (per column)
// forward and backward_input have a `_cpu` twin for CPU adapters (lavapipe, SwiftShader), where a
// workgroup's invocations are SIMD lanes and a barrier is a coroutine switch: one invocation sums a
// whole row in registers, in 8-invocation workgroups, with no workgroup memory. (backward_params
// needs only three barriers per workgroup and is as fast there as a barrier-free version.)

const WG = 256u;

struct Params {
  rows: u32,
  C: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

#include "grid.wgsl"
#include "workgroup-reduce.wgsl"

// One workgroup per row; invocations stride through the row.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> meanOut: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstdOut: array<f32>;

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }  // uniform across the workgroup, so the barriers stay legal
  let base = row * p.C;
  let invC = 1.0 / f32(p.C);

  var s = 0.0;
  for (var i = lid; i < p.C; i += WG) { s += x[base + i]; }
  let mean = workgroupSum(lid, s) * invC;

  // Two passes (mean first, then squared deviations) avoid the cancellation of E[x²] − mean².
  var q = 0.0;
  for (var i = lid; i < p.C; i += WG) {
    let d = x[base + i] - mean;
    q += d * d;
  }
  let rstd = inverseSqrt(workgroupSum(lid, q) * invC + p.eps);

  for (var i = lid; i < p.C; i += WG) {
    y[base + i] = (x[base + i] - mean) * rstd * weight[i] + bias[i];
  }
  if (lid == 0u) {
    meanOut[row] = mean;
    rstdOut[row] = rstd;
  }
}

// dx, one workgroup per row.
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> xIn: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> rstd: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn backward_input(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg);
  if (row >= p.rows) { return; }
  let base = row * p.C;
  let m = mean[row];
  let r = rstd[row];
  let invC = 1.0 / f32(p.C);

  var sg = 0.0;
  var sgx = 0.0;
  for (var i = lid; i < p.C; i += WG) {
    let g = dy[base + i] * w[i];
    sg += g;
    sgx += g * (xIn[base + i] - m) * r;
  }
  let meanG = workgroupSum(lid, sg) * invC;
  let meanGx = workgroupSum(lid, sgx) * invC;

  for (var i = lid; i < p.C; i += WG) {
    let xhat = (xIn[base + i] - m) * r;
    dx[base + i] = r * (dy[base + i] * w[i] - meanG - xhat * meanGx);
  }
}

// dweight and dbias: column sums over all rows, without atomics. A workgroup owns 32 neighbouring
// columns (so a row's 32 loads are contiguous); its 8 lanes per column take every 8th row, and a
// tree over the lanes adds their partial sums in a fixed order.
const COLS = 32u;
const LANES = 8u;

@group(0) @binding(1) var<storage, read> dyC: array<f32>;
@group(0) @binding(2) var<storage, read> xC: array<f32>;
@group(0) @binding(3) var<storage, read> meanC: array<f32>;
@group(0) @binding(4) var<storage, read> rstdC: array<f32>;
@group(0) @binding(5) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(6) var<storage, read_write> dbias: array<f32>;

var<workgroup> partW: array<f32, 256>;  // [LANES][COLS]
var<workgroup> partB: array<f32, 256>;

@compute @workgroup_size(32, 8)
fn backward_params(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_id) lid: vec3u) {
  let col = linearWorkgroup(wid, nwg) * COLS + lid.x;
  var sw = 0.0;
  var sb = 0.0;
  if (col < p.C) {
    for (var r = lid.y; r < p.rows; r += LANES) {
      let g = dyC[r * p.C + col];
      sw += g * (xC[r * p.C + col] - meanC[r]) * rstdC[r];
      sb += g;
    }
  }
  let k = lid.y * COLS + lid.x;
  partW[k] = sw;
  partB[k] = sb;
  for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid.y < stride) {
      partW[k] += partW[k + stride * COLS];
      partB[k] += partB[k + stride * COLS];
    }
  }
  if (lid.y == 0u && col < p.C) {
    dweight[col] = partW[lid.x];
    dbias[col] = partB[lid.x];
  }
}

// ---- CPU-adapter variants. The row of invocation `li` of linear workgroup w is 8w + li.
// A row's sums keep 8 interleaved partial sums (element i goes to part[i % 8]) added pairwise at the
// end, so their rounding stays close to the GPU kernels' trees on rows of hundreds.

fn pairwise(part: array<f32, 8>) -> f32 {
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

@compute @workgroup_size(8)
fn forward_cpu(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let row = linearWorkgroup(wid, nwg) * 8u + li;
  if (row >= p.rows) { return; }
  let base = row * p.C;
  var s: array<f32, 8>;
  for (var i0 = 0u; i0 < p.C; i0 += 8u) {
    for (var k = 0u; k < 8u; k++) {
      if (i0 + k < p.C) { s[k] += x[base + i0 + k]; }
    }
  }
  let m = pairwise(s) / f32(p.C);
  var q: array<f32, 8>;
  for (var i0 = 0u; i0 < p.C; i0 += 8u) {
    for (var k = 0u; k < 8u; k++) {
      if (i0 + k < p.C) {
        let d = x[base + i0 + k] - m;
        q[k] += d * d;
      }
    }
  }
  let r = inverseSqrt(pairwise(q) / f32(p.C) + p.eps);
  for (var i = 0u; i < p.C; i++) { y[base + i] = (x[base + i] - m) * r * weight[i] + bias[i]; }
  meanOut[row] = m;
  rstdOut[row] = r;
}

@compute @workgroup_size(8)
fn backward_input_cpu(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) li: u32) {
  let row = linearWorkgroup(wid, nwg) * 8u + li;
  if (row >= p.rows) { return; }
  let base = row * p.C;
  let m = mean[row];
  let r = rstd[row];
  var sg: array<f32, 8>;
  var sgx: array<f32, 8>;
  for (var i0 = 0u; i0 < p.C; i0 += 8u) {
    for (var k = 0u; k < 8u; k++) {
      let i = i0 + k;
      if (i < p.C) {
        let g = dy[base + i] * w[i];
        sg[k] += g;
        sgx[k] += g * (xIn[base + i] - m) * r;
      }
    }
  }
  let meanG = pairwise(sg) / f32(p.C);
  let meanGx = pairwise(sgx) / f32(p.C);
  for (var i = 0u; i < p.C; i++) {
    let xhat = (xIn[base + i] - m) * r;
    dx[base + i] = r * (dy[base + i] * w[i] - meanG - xhat * meanGx);
  }
}
