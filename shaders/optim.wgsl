// Optimiser kernels: the fused AdamW update over a parameter arena, the global gradient norm with
// PyTorch's clip coefficient, and two helpers (zero fill, scale by the coefficient).
// All 1-D grids may exceed 65535 workgroups: the linear workgroup is linearWorkgroup (lib/grid.wgsl).

#include "grid.wgsl"
#include "workgroup-reduce.wgsl"

override CLIP: bool = false;  // adamw: multiply the gradient by the clip coefficient first

const WG = 256u;
const ITEMS = 16u;            // sumsq_partial: elements each invocation folds before the workgroup sum
const CHUNK = 4096u;          // WG * ITEMS: elements per workgroup in sumsq_partial

// ---- AdamW (torch.optim.AdamW, decoupled weight decay) ----

struct AdamParams {
  n: u32,            // vec4s in each arena
  decay: f32,        // 1 − lr·weight_decay
  beta1: f32,
  oneMinusBeta1: f32,
  beta2: f32,
  oneMinusBeta2: f32,  // passed from the host: 1 − f32(β2) in f32 is off by 1e-5 relative
  eps: f32,
  stepSize: f32,     // lr / (1 − β1^t)
  bc2Sqrt: f32,      // sqrt(1 − β2^t)
}

@group(0) @binding(0) var<uniform> ap: AdamParams;
// The arenas are whole vec4s (the host pads them), so each invocation updates four elements.
@group(0) @binding(1) var<storage, read_write> param: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> expAvg: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> expAvgSq: array<vec4f>;
@group(0) @binding(4) var<storage, read> grad: array<vec4f>;
@group(0) @binding(5) var<storage, read> clipCoef: array<f32>;  // [coefficient]; a stand-in without CLIP

// In PyTorch's order: p ← p·(1 − lr·wd); m ← lerp(m, g, 1 − β1); v ← β2·v + (1 − β2)·g²;
// p ← p − stepSize·m / (sqrt(v)/sqrt(1 − β2^t) + eps). Zeros (arena padding) stay zeros.
@compute @workgroup_size(256)
fn adamw(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) li: u32) {
  let i = linearWorkgroup(wid, nwg) * WG + li;
  if (i >= ap.n) { return; }
  var g = grad[i];
  if (CLIP) { g *= clipCoef[0]; }
  let m0 = expAvg[i];
  let m = m0 + ap.oneMinusBeta1 * (g - m0);
  let v = ap.beta2 * expAvgSq[i] + ap.oneMinusBeta2 * g * g;
  expAvg[i] = m;
  expAvgSq[i] = v;
  let denom = sqrt(v) / ap.bc2Sqrt + ap.eps;
  param[i] = param[i] * ap.decay - ap.stepSize * (m / denom);
}

// ---- gradient norm and clipping (torch.nn.utils.clip_grad_norm_) ----

struct NormParams {
  n: u32,        // elements of the bound gradient, or partial sums for clip_coef
  base: u32,     // sumsq_partial: where this gradient's partial sums start
  maxNorm: f32,
}

@group(0) @binding(0) var<uniform> np: NormParams;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;   // sumsq_partial
@group(0) @binding(2) var<storage, read> values: array<f32>;           // sumsq_partial
@group(0) @binding(1) var<storage, read_write> normOut: array<f32>;    // clip_coef: [norm]
@group(0) @binding(2) var<storage, read_write> coefOut: array<f32>;    // clip_coef: [coefficient]
@group(0) @binding(3) var<storage, read> partialsIn: array<f32>;       // clip_coef

// Σ g² over one 4096-element chunk of a gradient -> partials[base + chunk].
@compute @workgroup_size(256)
fn sumsq_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) li: u32) {
  let chunk = linearWorkgroup(wid, nwg);
  if (chunk * CHUNK >= np.n) { return; }  // the split grid's spare workgroups (uniform per workgroup)
  var acc = 0.0;
  for (var i = 0u; i < ITEMS; i++) {
    let j = chunk * CHUNK + i * WG + li;
    if (j >= np.n) { break; }
    acc += values[j] * values[j];
  }
  let total = workgroupSum(li, acc);
  if (li == 0u) { partials[np.base + chunk] = total; }
}

// One workgroup: norm = sqrt(Σ partials); coefficient = min(maxNorm / (norm + 1e-6), 1).
@compute @workgroup_size(256)
fn clip_coef(@builtin(local_invocation_index) li: u32) {
  var acc = 0.0;
  for (var j = li; j < np.n; j += WG) { acc += partialsIn[j]; }
  let total = workgroupSum(li, acc);
  if (li == 0u) {
    let norm = sqrt(total);
    normOut[0] = norm;
    coefOut[0] = min(np.maxNorm / (norm + 1e-6), 1.0);
  }
}

// ---- helpers over one bound range ----

struct RangeParams { n: u32 }

@group(0) @binding(0) var<uniform> rp: RangeParams;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
@group(0) @binding(2) var<storage, read> coef: array<f32>;             // scale: [coefficient]

@compute @workgroup_size(256)
fn fill_zero(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) li: u32) {
  let i = linearWorkgroup(wid, nwg) * WG + li;
  if (i < rp.n) { data[i] = 0.0; }
}

@compute @workgroup_size(256)
fn scale(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) li: u32) {
  let i = linearWorkgroup(wid, nwg) * WG + li;
  if (i < rp.n) { data[i] *= coef[0]; }
}
