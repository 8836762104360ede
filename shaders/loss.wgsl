// Segmentation losses over logits [B, K, N] (N = the spatial dims flattened) and class-index
// labels [B, N] stored as f32, with MONAI 0.6 semantics:
//   cross-entropy  mean over pixels of −log softmax(x)[label]
//   Dice           per (b, k): 1 − (2·Σ p·t + smooth) / (Σ p + Σ t + smooth), p = softmax over K,
//                  t = one-hot label, sums over N; mean over B·K
//   focal          sigmoid BCE-with-logits against the one-hot label, times σ(z)^γ with
//                  z = −x·(2t − 1); mean over B·K·N
//
// Forward: `softmax_stats` keeps each pixel's max logit and Σ exp(x − max). A `*_sums` kernel folds
// the terms of each row (an image b for cross-entropy, a pair (b, k) otherwise) into one vec4 per
// 4096-element chunk; `sum_partials` folds those chunks again until one vec4 per row is left; a
// `*_finalize` kernel turns the row sums into the scalar loss. Sums are fixed-order reductions in
// workgroup memory (shaders/lib/workgroup-reduce.wgsl), so results are deterministic. The .w lane of every sum counts labels that are not an integer in
// [0, K); when it is non-zero the loss is NaN, and the backward kernels write NaN for those pixels.
// Backward: one invocation per pixel (per element for focal) writes d logits, or adds to it.

#include "grid.wgsl"
#include "workgroup-reduce.wgsl"

override ACCUMULATE: bool = false;  // finalize and backward add to binding 1 instead of overwriting it

const WG = 256u;
const ITEMS = 16u;                  // elements each invocation folds before the workgroup sum
const CHUNK = 4096u;                // WG * ITEMS: elements per workgroup in the sums kernels

struct Params {
  B: u32,
  K: u32,
  N: u32,
  count: u32,   // sum_partials: partial sums per row in its input
  smoothing: f32,  // Dice: added to numerator and denominator ("smooth" is a WGSL keyword)
  gamma: f32,   // focal exponent
}

// Every kernel writes binding 1 and reads the others; loss.ts lists the buffers of each.
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;        // the loss, or d logits
@group(0) @binding(1) var<storage, read_write> outStats: array<vec2f>; // softmax_stats
@group(0) @binding(1) var<storage, read_write> outSums: array<vec4f>;  // *_sums, sum_partials
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> sums: array<vec4f>;           // sum_partials, *_finalize
@group(0) @binding(3) var<storage, read> labels: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<vec2f>;          // ce_sums, dice_sums
@group(0) @binding(4) var<storage, read> gradOut: array<f32>;          // backward: d loss, one value
@group(0) @binding(5) var<storage, read> rowSums: array<vec4f>;        // dice_backward

// The class of pixel i, or -1 when its label is not an integer in [0, K) (NaN included).
fn classAt(i: u32) -> i32 {
  let t = labels[i];
  if (t >= 0.0 && t < f32(p.K) && t == floor(t)) { return i32(t); }
  return -1;
}

fn logit(b: u32, k: u32, n: u32) -> f32 {
  return logits[(b * p.K + k) * p.N + n];
}

// (max over k, Σ_k exp(x_k − max)) of pixel n of image b.
fn pixelSoftmax(b: u32, n: u32) -> vec2f {
  var m = logit(b, 0u, n);
  for (var k = 1u; k < p.K; k++) { m = max(m, logit(b, k, n)); }
  var s = 0.0;
  for (var k = 0u; k < p.K; k++) { s += exp(logit(b, k, n) - m); }
  return vec2f(m, s);
}

// log(1 + exp(−|x|)): the shared tail of softplus and log-sigmoid, as MONAI and PyTorch write it.
fn softTail(x: f32) -> f32 {
  return log(1.0 + exp(-abs(x)));
}

// MONAI 0.6 FocalLoss for one element: BCE-with-logits times exp(γ·logsigmoid(−x·(2t − 1))).
fn focalTerm(x: f32, t: f32) -> f32 {
  let tail = softTail(x);
  let bce = max(x, 0.0) - x * t + tail;
  let logSigmoid = min(-x * (2.0 * t - 1.0), 0.0) - tail;
  return exp(p.gamma * logSigmoid) * bce;
}

// A NaN made at run time: WGSL constant expressions may not produce one.
fn nan() -> f32 {
  var bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

// ---- forward ----

@compute @workgroup_size(256)
fn softmax_stats(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) li: u32) {
  let pix = linearWorkgroup(wid, nwg) * WG + li;
  if (pix >= p.B * p.N) { return; }
  outStats[pix] = pixelSoftmax(pix / p.N, pix % p.N);
}

// Row b = an image; one workgroup per (chunk of N, row). Terms: −log p[label] = max + log Σ − x.
@compute @workgroup_size(256)
fn ce_sums(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) li: u32) {
  let b = wid.y;
  var acc = vec4f(0.0);
  for (var i = 0u; i < ITEMS; i++) {
    let n = wid.x * CHUNK + i * WG + li;
    if (n >= p.N) { break; }
    let pix = b * p.N + n;
    let c = classAt(pix);
    if (c < 0) {
      acc.w += 1.0;
    } else {
      let s = stats[pix];
      acc.x += s.x + log(s.y) - logit(b, u32(c), n);
    }
  }
  let total = workgroupSum4(li, acc);
  if (li == 0u) { outSums[b * nwg.x + wid.x] = total; }
}

// Row r = (b, k). Sums (Σ p·t, Σ p, Σ t) over the chunk.
@compute @workgroup_size(256)
fn dice_sums(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) li: u32) {
  let r = wid.y;
  let b = r / p.K;
  let k = r % p.K;
  var acc = vec4f(0.0);
  for (var i = 0u; i < ITEMS; i++) {
    let n = wid.x * CHUNK + i * WG + li;
    if (n >= p.N) { break; }
    let pix = b * p.N + n;
    let c = classAt(pix);
    if (c < 0) {
      acc.w += 1.0;
    } else {
      let s = stats[pix];
      let prob = exp(logit(b, k, n) - s.x) / s.y;
      let t = select(0.0, 1.0, u32(c) == k);
      acc += vec4f(prob * t, prob, t, 0.0);
    }
  }
  let total = workgroupSum4(li, acc);
  if (li == 0u) { outSums[r * nwg.x + wid.x] = total; }
}

// Row r = (b, k). Sums the focal terms of class k over the chunk.
@compute @workgroup_size(256)
fn focal_sums(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) li: u32) {
  let r = wid.y;
  let b = r / p.K;
  let k = r % p.K;
  var acc = vec4f(0.0);
  for (var i = 0u; i < ITEMS; i++) {
    let n = wid.x * CHUNK + i * WG + li;
    if (n >= p.N) { break; }
    let c = classAt(b * p.N + n);
    if (c < 0) {
      acc.w += 1.0;
    } else {
      acc.x += focalTerm(logit(b, k, n), select(0.0, 1.0, u32(c) == k));
    }
  }
  let total = workgroupSum4(li, acc);
  if (li == 0u) { outSums[r * nwg.x + wid.x] = total; }
}

// [rows, count] partial sums -> [rows, ceil(count / CHUNK)], one workgroup per (chunk, row).
@compute @workgroup_size(256)
fn sum_partials(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let r = wid.y;
  var acc = vec4f(0.0);
  for (var i = 0u; i < ITEMS; i++) {
    let j = wid.x * CHUNK + i * WG + li;
    if (j >= p.count) { break; }
    acc += sums[r * p.count + j];
  }
  let total = workgroupSum4(li, acc);
  if (li == 0u) { outSums[r * nwg.x + wid.x] = total; }
}

// Folds f(sums[r]) over `rows` rows in one workgroup; .w carries the count of bad labels.
fn foldRows(li: u32, rows: u32, dice: bool) -> vec4f {
  var acc = vec4f(0.0);
  for (var r = li; r < rows; r += WG) {
    let s = sums[r];
    var term = s.x;
    if (dice) { term = 1.0 - (2.0 * s.x + p.smoothing) / (s.y + s.z + p.smoothing); }
    acc += vec4f(term, 0.0, 0.0, s.w);
  }
  return workgroupSum4(li, acc);
}

fn writeLoss(total: vec4f, count: f32) {
  if (total.w > 0.0) {
    out[0] = nan();
  } else if (ACCUMULATE) {
    out[0] += total.x / count;
  } else {
    out[0] = total.x / count;
  }
}

@compute @workgroup_size(256)
fn ce_finalize(@builtin(local_invocation_index) li: u32) {
  let total = foldRows(li, p.B, false);
  if (li == 0u) { writeLoss(total, f32(p.B) * f32(p.N)); }
}

@compute @workgroup_size(256)
fn dice_finalize(@builtin(local_invocation_index) li: u32) {
  let total = foldRows(li, p.B * p.K, true);
  if (li == 0u) { writeLoss(total, f32(p.B) * f32(p.K)); }
}

@compute @workgroup_size(256)
fn focal_finalize(@builtin(local_invocation_index) li: u32) {
  let total = foldRows(li, p.B * p.K, false);
  if (li == 0u) { writeLoss(total, f32(p.B) * f32(p.K) * f32(p.N)); }
}

// ---- backward ----

fn writeGrad(i: u32, v: f32) {
  if (ACCUMULATE) { out[i] += v; } else { out[i] = v; }
}

fn writeNaNs(b: u32, n: u32) {
  for (var k = 0u; k < p.K; k++) { out[(b * p.K + k) * p.N + n] = nan(); }
}

// d/dx_k of the mean −log p[c] = (p_k − [k = c]) / (B·N). One invocation per pixel.
@compute @workgroup_size(256)
fn ce_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) li: u32) {
  let pix = linearWorkgroup(wid, nwg) * WG + li;
  if (pix >= p.B * p.N) { return; }
  let b = pix / p.N;
  let n = pix % p.N;
  let c = classAt(pix);
  if (c < 0) { writeNaNs(b, n); return; }
  let g = gradOut[0] / (f32(p.B) * f32(p.N));
  let s = pixelSoftmax(b, n);
  for (var k = 0u; k < p.K; k++) {
    let prob = exp(logit(b, k, n) - s.x) / s.y;
    writeGrad((b * p.K + k) * p.N + n, g * (prob - select(0.0, 1.0, u32(c) == k)));
  }
}

// dL/dp of row r's Dice term, before the 1/(B·K) of the mean: with I, P, T the row sums,
// num = 2I + smooth and den = P + T + smooth, d(1 − num/den)/dp = num/den² − 2t/den.
fn diceGradP(r: u32, t: f32) -> f32 {
  let s = rowSums[r];
  let num = 2.0 * s.x + p.smoothing;
  let den = s.y + s.z + p.smoothing;
  return num / (den * den) - 2.0 * t / den;
}

// Through the softmax: dx_k = p_k·(q_k − Σ_j p_j·q_j) with q = dL/dp. One invocation per pixel.
@compute @workgroup_size(256)
fn dice_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) li: u32) {
  let pix = linearWorkgroup(wid, nwg) * WG + li;
  if (pix >= p.B * p.N) { return; }
  let b = pix / p.N;
  let n = pix % p.N;
  let c = classAt(pix);
  if (c < 0) { writeNaNs(b, n); return; }
  let g = gradOut[0] / (f32(p.B) * f32(p.K));
  let s = pixelSoftmax(b, n);
  var pq = 0.0;
  for (var k = 0u; k < p.K; k++) {
    let prob = exp(logit(b, k, n) - s.x) / s.y;
    pq += prob * diceGradP(b * p.K + k, select(0.0, 1.0, u32(c) == k));
  }
  for (var k = 0u; k < p.K; k++) {
    let prob = exp(logit(b, k, n) - s.x) / s.y;
    let q = diceGradP(b * p.K + k, select(0.0, 1.0, u32(c) == k));
    writeGrad((b * p.K + k) * p.N + n, g * prob * (q - pq));
  }
}

// With z = −x·(2t − 1) the focal term is σ(z)^γ·softplus(z), so
// dℓ/dz = σ(z)^γ·(γ·σ(−z)·softplus(z) + σ(z)) and dℓ/dx = −(2t − 1)·dℓ/dz. One invocation per element.
@compute @workgroup_size(256)
fn focal_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  let e = linearWorkgroup(wid, nwg) * WG + li;
  if (e >= p.B * p.K * p.N) { return; }
  let r = e / p.N;
  let n = e % p.N;
  let b = r / p.K;
  let c = classAt(b * p.N + n);
  if (c < 0) { out[e] = nan(); return; }
  let pm = select(-1.0, 1.0, u32(c) == r % p.K);  // 2t − 1
  let z = -logits[e] * pm;
  let tail = softTail(z);
  let logSig = min(z, 0.0) - tail;       // log σ(z)
  let logSigNeg = min(-z, 0.0) - tail;   // log σ(−z)
  let softplus = max(z, 0.0) + tail;
  let dz = exp(p.gamma * logSig) * (p.gamma * exp(logSigNeg) * softplus + exp(logSig));
  let g = gradOut[0] / (f32(p.B) * f32(p.K) * f32(p.N));
  writeGrad(e, -pm * dz * g);
}
