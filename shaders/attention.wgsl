// Fused scaled-dot-product attention, flash style: out = softmax(scale·q·kᵀ + bias)·v per (b, h).
// q, k, v, out are [B, H, T, DH] row-major; bias is [H, T, T], shared by the batch.
//
// The T×T probabilities never reach memory. The forward pass walks the keys in tiles staged in
// workgroup memory and keeps an online softmax per query row (running max m, running sum l,
// unnormalised output acc, all in registers); it saves L = m + log(l) per row. The backward pass
// (FlashAttention-2) recomputes P = exp(S − L) tile by tile:
//   D_i = Σ_d dO_id·O_id                                   (attention_row_stats)
//   dS = P ∘ (dO·Vᵀ − D),  dQ = scale·dS·K                 (attention_grad_q: one query row each)
//   dV = Pᵀ·dO,  dK = scale·dSᵀ·Q                          (attention_grad_kv: one key row each)
//   dBias[h] = Σ_b dS[b, h]                                (attention_grad_q with GRAD_BIAS)
// Every output element is written by one invocation that sums in a fixed order: no atomics, so
// results are deterministic. For dBias that invocation is the one that owns query row i: with
// GRAD_BIAS, attention_grad_q's grid covers the heads only and each workgroup walks the batch in
// order, adding dS[b, h, i, :] into dBias as it goes. dS is then never stored per batch element
// nor recomputed by a kernel of its own.
//
// Work grids are 1-D (split over x and y when long). In the row-block kernels, workgroup g covers
// row block g % blocks of the (b, h) slice g / blocks, so B·H may exceed 65535.

override DH: u32;                          // head dimension, 1..MAX_DH
override HAS_BIAS: bool = false;
override GRAD_BIAS: bool = false;          // attention_grad_q also writes dBias (with HAS_BIAS)

const MAX_DH = 128u;
const ROWS = 64u;                          // query (or key) rows per workgroup, one per invocation
const TILE = 1024u;                        // floats per staged tile: 4 KiB (WebGPU guarantees 16)
const MAX_TILE_ROWS = 32u;
override TILE_ROWS: u32 = min(MAX_TILE_ROWS, TILE / DH);  // rows of k/v (or q/dO) per tile

struct Params {
  B: u32,
  H: u32,
  T: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

// Inputs of the forward and backward kernels.
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;  // a stand-in when !HAS_BIAS, never read

// attention_forward's outputs.
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> lseOut: array<f32>;  // L [B, H, T]

// The backward kernels' inputs after q, k, v, bias: the output gradient and the row statistics
// (L_i, D_i) interleaved, so that the kernels stay within 8 storage bindings.
@group(0) @binding(5) var<storage, read> dO: array<f32>;
@group(0) @binding(6) var<storage, read> stats: array<vec2f>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;
@group(0) @binding(8) var<storage, read_write> dBias: array<f32>;  // a stand-in when !GRAD_BIAS

// attention_row_stats' bindings.
@group(0) @binding(1) var<storage, read> rsOut: array<f32>;
@group(0) @binding(2) var<storage, read> rsGrad: array<f32>;
@group(0) @binding(3) var<storage, read> rsLse: array<f32>;
@group(0) @binding(4) var<storage, read_write> rsStats: array<vec2f>;

var<workgroup> Ks: array<f32, TILE>;       // [TILE_ROWS][DH] keys
var<workgroup> Vs: array<f32, TILE>;       // [TILE_ROWS][DH] values
var<workgroup> Qs: array<f32, TILE>;       // [TILE_ROWS][DH] queries (attention_grad_kv)
var<workgroup> Gs: array<f32, TILE>;       // [TILE_ROWS][DH] output gradients (attention_grad_kv)
var<workgroup> Ss: array<vec2f, MAX_TILE_ROWS>;  // (L, D) of the staged query rows

/** Where one workgroup of a row-block grid works (uniform across the workgroup). */
struct Block {
  inGrid: bool,  // false for the padding workgroups of a split grid
  bh: u32,       // the (b, h) slice: b·H + h
  row0: u32,     // its first row; invocation li owns row row0 + li (which may be >= T)
}

fn rowBlock(wid: vec3u, nwg: vec3u) -> Block {
  let blocks = (p.T + ROWS - 1u) / ROWS;
  let g = wid.x + wid.y * nwg.x;
  let slices = select(p.B * p.H, p.H, GRAD_BIAS);  // with GRAD_BIAS, a workgroup's slice is b = 0's
  return Block(g < slices * blocks, g / blocks, (g % blocks) * ROWS);
}

/** Copies rows r0 .. r0+n of one (b, h) slice of k and v into Ks and Vs. */
fn stageKV(base: u32, r0: u32, n: u32, li: u32) {
  for (var e = li; e < n * DH; e += ROWS) {
    Ks[e] = k[base + r0 * DH + e];
    Vs[e] = v[base + r0 * DH + e];
  }
}

@compute @workgroup_size(ROWS)
fn attention_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) li: u32) {
  let blk = rowBlock(wid, nwg);
  if (!blk.inGrid) { return; }
  let i = blk.row0 + li;
  let valid = i < p.T;
  let base = blk.bh * p.T * DH;
  let biasRow = (blk.bh % p.H) * p.T * p.T + i * p.T;

  var qi: array<f32, MAX_DH>;
  var acc: array<f32, MAX_DH>;
  for (var d = 0u; d < DH; d++) {
    qi[d] = 0.0;
    if (valid) { qi[d] = q[base + i * DH + d]; }
    acc[d] = 0.0;
  }
  var m = -3.0e38;  // running max of the logits; finite, so exp(m - m') is 0 rather than NaN
  var l = 0.0;      // running Σ exp(s - m)
  var s: array<f32, MAX_TILE_ROWS>;

  for (var j0 = 0u; j0 < p.T; j0 += TILE_ROWS) {
    let n = min(TILE_ROWS, p.T - j0);
    stageKV(base, j0, n, li);
    workgroupBarrier();
    // Logits of this tile first, so the accumulator is rescaled once per tile, not once per key.
    var mNew = m;
    for (var j = 0u; j < n; j++) {
      var qk = 0.0;
      for (var d = 0u; d < DH; d++) { qk = fma(qi[d], Ks[j * DH + d], qk); }
      s[j] = p.scale * qk;
      if (HAS_BIAS && valid) { s[j] += bias[biasRow + j0 + j]; }
      mNew = max(mNew, s[j]);
    }
    let correction = exp(m - mNew);
    l *= correction;
    for (var d = 0u; d < DH; d++) { acc[d] *= correction; }
    for (var j = 0u; j < n; j++) {
      let pj = exp(s[j] - mNew);
      l += pj;
      for (var d = 0u; d < DH; d++) { acc[d] = fma(pj, Vs[j * DH + d], acc[d]); }
    }
    m = mNew;
    workgroupBarrier();
  }

  if (valid) {
    let inv = 1.0 / l;
    for (var d = 0u; d < DH; d++) { out[base + i * DH + d] = acc[d] * inv; }
    lseOut[blk.bh * p.T + i] = m + log(l);
  }
}

// Per row r of [B·H·T]: (L_r, D_r = Σ_d dO_rd·O_rd), the statistics both gradient kernels need.
@compute @workgroup_size(ROWS)
fn attention_row_stats(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) li: u32) {
  let r = (wid.x + wid.y * nwg.x) * ROWS + li;
  if (r >= p.B * p.H * p.T) { return; }
  var delta = 0.0;
  for (var d = 0u; d < DH; d++) { delta = fma(rsGrad[r * DH + d], rsOut[r * DH + d], delta); }
  rsStats[r] = vec2f(rsLse[r], delta);
}

// dQ: each invocation owns a query row i and walks the key tiles; with GRAD_BIAS, for every batch
// element in turn, summing dS into dBias.
@compute @workgroup_size(ROWS)
fn attention_grad_q(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) li: u32) {
  let blk = rowBlock(wid, nwg);
  if (!blk.inGrid) { return; }
  if (!GRAD_BIAS) {
    gradQ(blk.bh, blk.row0 + li, false, li);
    return;
  }
  for (var b = 0u; b < p.B; b++) { gradQ(b * p.H + blk.bh, blk.row0 + li, b > 0u, li); }
}

// dQ row i of slice bh; dS added into dBias (after what an earlier batch element left there when
// `accumulate`) with GRAD_BIAS.
fn gradQ(bh: u32, i: u32, accumulate: bool, li: u32) {
  let valid = i < p.T;
  let base = bh * p.T * DH;
  let biasRow = (bh % p.H) * p.T * p.T + i * p.T;

  var qi: array<f32, MAX_DH>;
  var gi: array<f32, MAX_DH>;  // dO row i
  var acc: array<f32, MAX_DH>;
  var st = vec2f(0.0);
  if (valid) { st = stats[bh * p.T + i]; }
  for (var d = 0u; d < DH; d++) {
    qi[d] = 0.0;
    gi[d] = 0.0;
    if (valid) {
      qi[d] = q[base + i * DH + d];
      gi[d] = dO[base + i * DH + d];
    }
    acc[d] = 0.0;
  }

  for (var j0 = 0u; j0 < p.T; j0 += TILE_ROWS) {
    let n = min(TILE_ROWS, p.T - j0);
    stageKV(base, j0, n, li);
    workgroupBarrier();
    for (var j = 0u; j < n; j++) {
      var qk = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < DH; d++) {
        qk = fma(qi[d], Ks[j * DH + d], qk);
        dp = fma(gi[d], Vs[j * DH + d], dp);
      }
      var sij = p.scale * qk;
      if (HAS_BIAS && valid) { sij += bias[biasRow + j0 + j]; }
      let ds = exp(sij - st.x) * (dp - st.y);
      for (var d = 0u; d < DH; d++) { acc[d] = fma(ds, Ks[j * DH + d], acc[d]); }
      if (GRAD_BIAS && valid) {
        let at = biasRow + j0 + j;
        dBias[at] = select(0.0, dBias[at], accumulate) + ds;
      }
    }
    workgroupBarrier();
  }

  if (valid) {
    for (var d = 0u; d < DH; d++) { dq[base + i * DH + d] = p.scale * acc[d]; }
  }
}

// dK and dV: each invocation owns a key row j and walks the query tiles.
@compute @workgroup_size(ROWS)
fn attention_grad_kv(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) li: u32) {
  let blk = rowBlock(wid, nwg);
  if (!blk.inGrid) { return; }
  let j = blk.row0 + li;
  let valid = j < p.T;
  let base = blk.bh * p.T * DH;
  let biasCol = (blk.bh % p.H) * p.T * p.T + j;

  var kj: array<f32, MAX_DH>;
  var vj: array<f32, MAX_DH>;
  var dkAcc: array<f32, MAX_DH>;
  var dvAcc: array<f32, MAX_DH>;
  for (var d = 0u; d < DH; d++) {
    kj[d] = 0.0;
    vj[d] = 0.0;
    if (valid) {
      kj[d] = k[base + j * DH + d];
      vj[d] = v[base + j * DH + d];
    }
    dkAcc[d] = 0.0;
    dvAcc[d] = 0.0;
  }

  for (var i0 = 0u; i0 < p.T; i0 += TILE_ROWS) {
    let n = min(TILE_ROWS, p.T - i0);
    for (var e = li; e < n * DH; e += ROWS) {
      Qs[e] = q[base + i0 * DH + e];
      Gs[e] = dO[base + i0 * DH + e];
    }
    if (li < n) { Ss[li] = stats[blk.bh * p.T + i0 + li]; }
    workgroupBarrier();
    for (var i = 0u; i < n; i++) {
      var qk = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < DH; d++) {
        qk = fma(Qs[i * DH + d], kj[d], qk);
        dp = fma(Gs[i * DH + d], vj[d], dp);
      }
      var sij = p.scale * qk;
      if (HAS_BIAS && valid) { sij += bias[biasCol + (i0 + i) * p.T]; }
      let pij = exp(sij - Ss[i].x);
      let ds = pij * (dp - Ss[i].y);
      for (var d = 0u; d < DH; d++) {
        dvAcc[d] = fma(pij, Gs[i * DH + d], dvAcc[d]);
        dkAcc[d] = fma(ds, Qs[i * DH + d], dkAcc[d]);
      }
    }
    workgroupBarrier();
  }

  if (valid) {
    for (var d = 0u; d < DH; d++) {
      dk[base + j * DH + d] = p.scale * dkAcc[d];
      dv[base + j * DH + d] = dvAcc[d];
    }
  }
}
