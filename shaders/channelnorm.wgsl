// Normalisation over groups of an NCHW tensor viewed as [outer, G, inner]: group g holds the
// outer·inner elements x[o, g, s].
//   batch norm:    outer = B, G = C,   inner = H·W  (statistics per channel over batch and space)
//   instance norm: outer = 1, G = B·C, inner = H·W  (statistics per image and channel)
// Per-group reductions run one 256-invocation workgroup per group: each invocation sums a strided
// slice, then a two-level tree (16 × 16) in workgroup memory adds the partial sums
// (deterministic, no atomics).

override AFFINE: bool = true;    // y = x̂·weight + bias; instance norm has neither
override TRAINING: bool = true;  // backward through batch statistics (false: fixed running stats)

struct Params {
  outer: u32,
  groups: u32,
  inner: u32,
  eps: f32,
  momentum: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

var<workgroup> partial: array<f32, 256>;
var<workgroup> partial16: array<f32, 16>;

fn linearWorkgroup(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// Index in the flat tensor of the k-th element (0 ≤ k < outer·inner) of group g.
fn element(g: u32, k: u32) -> u32 {
  let o = k / p.inner;
  return (o * p.groups + g) * p.inner + (k - o * p.inner);
}

// Sum of every invocation's v, in two levels of 16 (three barriers rather than a tree's ten);
// all 256 invocations must call it.
fn workgroupSum(li: u32, v: f32) -> f32 {
  partial[li] = v;
  workgroupBarrier();
  if (li < 16u) {
    var s = 0.0;
    for (var j = 0u; j < 16u; j++) { s += partial[li * 16u + j]; }
    partial16[li] = s;
  }
  workgroupBarrier();
  var total = 0.0;
  for (var j = 0u; j < 16u; j++) { total += partial16[j]; }
  workgroupBarrier();  // everyone has read partial16 before the next call overwrites it
  return total;
}

fn invStd(variance: f32) -> f32 {
  return 1.0 / sqrt(variance + p.eps);
}

// ---- stats: mean and biased variance of each group, in two passes (no E[x²] − E[x]² cancellation).
@group(0) @binding(1) var<storage, read> statsX: array<f32>;
@group(0) @binding(2) var<storage, read_write> statsMean: array<f32>;
@group(0) @binding(3) var<storage, read_write> statsVar: array<f32>;

@compute @workgroup_size(256)
fn stats(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) li: u32) {
  let g = linearWorkgroup(wid, nwg);
  if (g >= p.groups) { return; }
  let n = p.outer * p.inner;
  var s = 0.0;
  for (var k = li; k < n; k += 256u) { s += statsX[element(g, k)]; }
  let mean = workgroupSum(li, s) / f32(n);
  var s2 = 0.0;
  for (var k = li; k < n; k += 256u) {
    let d = statsX[element(g, k)] - mean;
    s2 += d * d;
  }
  let variance = workgroupSum(li, s2) / f32(n);
  if (li == 0u) {
    statsMean[g] = mean;
    statsVar[g] = variance;
  }
}

// ---- normalize: y = (x − mean)·invStd·weight + bias, one invocation per element.
@group(0) @binding(1) var<storage, read> normX: array<f32>;
@group(0) @binding(2) var<storage, read> normMean: array<f32>;
@group(0) @binding(3) var<storage, read> normVar: array<f32>;
@group(0) @binding(4) var<storage, read> normWeight: array<f32>;
@group(0) @binding(5) var<storage, read> normBias: array<f32>;
@group(0) @binding(6) var<storage, read_write> normY: array<f32>;

@compute @workgroup_size(256)
fn normalize(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) li: u32) {
  let i = linearWorkgroup(wid, nwg) * 256u + li;
  if (i >= p.outer * p.groups * p.inner) { return; }
  let g = (i / p.inner) % p.groups;
  var v = (normX[i] - normMean[g]) * invStd(normVar[g]);
  if (AFFINE) { v = v * normWeight[g] + normBias[g]; }
  normY[i] = v;
}

// ---- update_running: running ← (1 − momentum)·running + momentum·batch, in place, with the
// unbiased variance (biased · n/(n − 1)), as PyTorch.
@group(0) @binding(1) var<storage, read> batchMean: array<f32>;
@group(0) @binding(2) var<storage, read> batchVar: array<f32>;
@group(0) @binding(3) var<storage, read_write> runningMean: array<f32>;
@group(0) @binding(4) var<storage, read_write> runningVar: array<f32>;

@compute @workgroup_size(64)
fn update_running(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  let g = linearWorkgroup(wid, nwg) * 64u + li;
  if (g >= p.groups) { return; }
  let n = f32(p.outer * p.inner);
  runningMean[g] = (1.0 - p.momentum) * runningMean[g] + p.momentum * batchMean[g];
  runningVar[g] = (1.0 - p.momentum) * runningVar[g] + p.momentum * (batchVar[g] * n / (n - 1.0));
}

// ---- grad_sums: per group Σ dy and Σ dy·x̂. They are the bias and weight gradients, and the
// two sums the input gradient needs.
@group(0) @binding(1) var<storage, read> sumsX: array<f32>;
@group(0) @binding(2) var<storage, read> sumsMean: array<f32>;
@group(0) @binding(3) var<storage, read> sumsVar: array<f32>;
@group(0) @binding(4) var<storage, read> sumsDy: array<f32>;
@group(0) @binding(5) var<storage, read_write> sumsOutDy: array<f32>;
@group(0) @binding(6) var<storage, read_write> sumsOutDyXhat: array<f32>;

@compute @workgroup_size(256)
fn grad_sums(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) li: u32) {
  let g = linearWorkgroup(wid, nwg);
  if (g >= p.groups) { return; }
  let mean = sumsMean[g];
  let inv = invStd(sumsVar[g]);
  var s = 0.0;
  var sx = 0.0;
  for (var k = li; k < p.outer * p.inner; k += 256u) {
    let e = element(g, k);
    s += sumsDy[e];
    sx += sumsDy[e] * (sumsX[e] - mean) * inv;
  }
  let total = workgroupSum(li, s);
  let totalX = workgroupSum(li, sx);
  if (li == 0u) {
    sumsOutDy[g] = total;
    sumsOutDyXhat[g] = totalX;
  }
}

// ---- grad_input, one invocation per element. With k = weight·invStd:
//   batch statistics (TRAINING): dx = k·(dy − mean(dy) − x̂·mean(dy·x̂)), means over the group;
//   fixed running statistics:    dx = k·dy.
@group(0) @binding(1) var<storage, read> dxX: array<f32>;
@group(0) @binding(2) var<storage, read> dxMean: array<f32>;
@group(0) @binding(3) var<storage, read> dxVar: array<f32>;
@group(0) @binding(4) var<storage, read> dxDy: array<f32>;
@group(0) @binding(5) var<storage, read> dxWeight: array<f32>;
@group(0) @binding(6) var<storage, read> dxSumDy: array<f32>;
@group(0) @binding(7) var<storage, read> dxSumDyXhat: array<f32>;
@group(0) @binding(8) var<storage, read_write> dxOut: array<f32>;

@compute @workgroup_size(256)
fn grad_input(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) li: u32) {
  let i = linearWorkgroup(wid, nwg) * 256u + li;
  if (i >= p.outer * p.groups * p.inner) { return; }
  let g = (i / p.inner) % p.groups;
  let inv = invStd(dxVar[g]);
  var k = inv;
  if (AFFINE) { k *= dxWeight[g]; }
  if (TRAINING) {
    let n = f32(p.outer * p.inner);
    let xhat = (dxX[i] - dxMean[g]) * inv;
    dxOut[i] = k * (dxDy[i] - dxSumDy[g] / n - xhat * dxSumDyXhat[g] / n);
  } else {
    dxOut[i] = k * dxDy[i];
  }
}
