// Normalisation over groups of an NCHW tensor viewed as [outer, G, inner]: group g holds the
// outer·inner elements x[o, g, s].
//   batch norm:    outer = B, G = C,   inner = H·W  (statistics per channel over batch and space)
//   instance norm: outer = 1, G = B·C, inner = H·W  (statistics per image and channel)
// Per-group reductions run one 256-invocation workgroup per group: each invocation sums a strided
// slice, then workgroupSum (shaders/lib/workgroup-reduce.wgsl) adds the partial sums
// (deterministic, no atomics).

override AFFINE: bool = true;    // y = x̂·weight + bias; instance norm has neither
override TRAINING: bool = true;  // backward through batch statistics (false: fixed running stats)
override RELU: bool = false;     // normalize: y = max(y, 0) in the same pass (ConvModule's BN → ReLU)

struct Params {
  outer: u32,
  groups: u32,
  inner: u32,
  eps: f32,
  momentum: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

#include "grid.wgsl"
#include "workgroup-reduce.wgsl"

// An invocation's share of a group: the elements k = li, li + 256, ... (k < outer·inner), element k
// being x[o, g, s] with o = k / inner, s = k % inner. The cursor steps (o, s) along without a
// division per element (a slow operation on GPUs, done lane by lane on CPU adapters).
struct Cursor { k: u32, o: u32, s: u32, stepO: u32, stepS: u32 }

fn share(li: u32) -> Cursor {
  return Cursor(li, li / p.inner, li % p.inner, 256u / p.inner, 256u % p.inner);
}

fn advance(c: ptr<function, Cursor>) {
  (*c).k += 256u;
  (*c).o += (*c).stepO;
  (*c).s += (*c).stepS;
  if ((*c).s >= p.inner) {
    (*c).s -= p.inner;
    (*c).o += 1u;
  }
}

// Index in the flat tensor of the cursor's element of group g.
fn element(c: Cursor, g: u32) -> u32 {
  return (c.o * p.groups + g) * p.inner + c.s;
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
  for (var c = share(li); c.k < n; advance(&c)) { s += statsX[element(c, g)]; }
  let mean = workgroupSum(li, s) / f32(n);
  var s2 = 0.0;
  for (var c = share(li); c.k < n; advance(&c)) {
    let d = statsX[element(c, g)] - mean;
    s2 += d * d;
  }
  let variance = workgroupSum(li, s2) / f32(n);
  if (li == 0u) {
    statsMean[g] = mean;
    statsVar[g] = variance;
  }
}

// ---- normalize: y = (x − mean)·invStd·weight + bias (then max(y, 0) with RELU), one invocation
// per element.
@group(0) @binding(1) var<storage, read> normX: array<f32>;
@group(0) @binding(2) var<storage, read> normMean: array<f32>;
@group(0) @binding(3) var<storage, read> normVar: array<f32>;
@group(0) @binding(4) var<storage, read> normWeight: array<f32>;
@group(0) @binding(5) var<storage, read> normBias: array<f32>;
@group(0) @binding(6) var<storage, read_write> normY: array<f32>;

// Group g's statistics and affine parameters (weight 1 and bias 0 without AFFINE).
struct NormCoefs { mean: f32, inv: f32, weight: f32, bias: f32 }

fn normCoefs(g: u32) -> NormCoefs {
  var c = NormCoefs(normMean[g], invStd(normVar[g]), 1.0, 0.0);
  if (AFFINE) {
    c.weight = normWeight[g];
    c.bias = normBias[g];
  }
  return c;
}

fn normalizeAt(i: u32, c: NormCoefs) {
  var v = (normX[i] - c.mean) * c.inv;
  if (AFFINE) { v = v * c.weight + c.bias; }
  if (RELU) { v = select(v, 0.0, v <= 0.0); } // NaN passes through, as in ops/elementwise's relu
  normY[i] = v;
}

@compute @workgroup_size(256)
fn normalize(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) li: u32) {
  let i = linearWorkgroup(wid, nwg) * 256u + li;
  if (i >= p.outer * p.groups * p.inner) { return; }
  normalizeAt(i, normCoefs((i / p.inner) % p.groups));
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
  for (var c = share(li); c.k < p.outer * p.inner; advance(&c)) {
    let e = element(c, g);
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

// Group g's statistics, k and the two means of the batch-statistics formula.
struct GradCoefs { mean: f32, inv: f32, k: f32, meanDy: f32, meanDyXhat: f32 }

fn gradCoefs(g: u32) -> GradCoefs {
  let inv = invStd(dxVar[g]);
  var c = GradCoefs(dxMean[g], inv, inv, 0.0, 0.0);
  if (AFFINE) { c.k *= dxWeight[g]; }
  if (TRAINING) {
    let n = f32(p.outer * p.inner);
    c.meanDy = dxSumDy[g] / n;
    c.meanDyXhat = dxSumDyXhat[g] / n;
  }
  return c;
}

fn gradInputAt(i: u32, c: GradCoefs) {
  if (TRAINING) {
    let xhat = (dxX[i] - c.mean) * c.inv;
    dxOut[i] = c.k * (dxDy[i] - c.meanDy - xhat * c.meanDyXhat);
  } else {
    dxOut[i] = c.k * dxDy[i];
  }
}

@compute @workgroup_size(256)
fn grad_input(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) li: u32) {
  let i = linearWorkgroup(wid, nwg) * 256u + li;
  if (i >= p.outer * p.groups * p.inner) { return; }
  gradInputAt(i, gradCoefs((i / p.inner) % p.groups));
}

// ---- CPU-adapter twins of normalize and grad_input (lavapipe, SwiftShader), where integer
// division runs lane by lane and every load is a gather: invocation t of the 8-invocation
// workgroups walks run t, RUN consecutive elements of one plane x[o, g, ·], so the group and its
// coefficients are worked out once per run instead of once per element.
const RUN = 64u;

// Elements [start, end) of the flat tensor and their group; start == end past the last run.
struct Run { g: u32, start: u32, end: u32 }

fn runOf(wid: vec3u, nwg: vec3u, li: u32) -> Run {
  let t = linearWorkgroup(wid, nwg) * 8u + li;
  let runsPerPlane = (p.inner + RUN - 1u) / RUN;
  let plane = t / runsPerPlane;
  if (plane >= p.outer * p.groups) { return Run(0u, 0u, 0u); }
  let s = (t % runsPerPlane) * RUN;
  let start = plane * p.inner + s;
  return Run(plane % p.groups, start, start + min(RUN, p.inner - s));
}

@compute @workgroup_size(8)
fn normalize_cpu(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  let r = runOf(wid, nwg, li);
  if (r.start == r.end) { return; }
  let c = normCoefs(r.g);
  for (var i = r.start; i < r.end; i++) { normalizeAt(i, c); }
}

@compute @workgroup_size(8)
fn grad_input_cpu(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) li: u32) {
  let r = runOf(wid, nwg, li);
  if (r.start == r.end) { return; }
  let c = gradCoefs(r.g);
  for (var i = r.start; i < r.end; i++) { gradInputAt(i, c); }
}
