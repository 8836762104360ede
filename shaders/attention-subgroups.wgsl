// Fused attention for CPU adapters with subgroups: the forward pass and the FlashAttention-2
// gradients of attention.wgsl (same math, same inputs and outputs; see that file), shaped for
// lavapipe. A separate file because `enable subgroups` applies to a whole module.
//
// On lavapipe a workgroup of 8 runs as one 8-wide SIMD vector, and each load from memory is
// expanded lane by lane (about 8 instructions per element per lane), while arithmetic costs one
// instruction per 8 lanes. attention.wgsl has every invocation read every key from workgroup
// memory: a load per multiply-add. Here:
// - a workgroup is one subgroup of 8 lanes; each lane owns two rows (queries in the forward pass
//   and for dQ, keys for dK and dV), held in registers for the whole pass;
// - the other side is walked in blocks of 8 rows: lane l loads row l of the block once, and
//   `subgroupShuffle` hands its vec4s to the other lanes (a register permute, no memory access);
// - no workgroup memory and no barriers (a barrier is a coroutine switch on a CPU).
// Rows are read as vec4s, so the host uses these kernels only when DH is a multiple of 4.
//
// Loops over a row's vec4s come in two kinds. Arithmetic loops run to DH / 4, a pipeline constant,
// so the compiler unrolls them and the rows stay in registers. Loops that load or store a row run
// to p.D4, the same number passed at run time, so they stay loops: each load expands into per-lane
// code, and unrolling them would multiply the shader's compile time (by 2 to 3 at DH = 64).
// They are the row functions below, whose results are copied into the registers in one assignment.

enable subgroups;

override DH: u32;                  // head dimension: a multiple of 4, at most 4 · MAX_D4
override HAS_BIAS: bool = false;
// attention_grad_q_subgroups also writes dBias[h] = Σ_b dS[b, h] (with HAS_BIAS): its grid then
// covers the heads only, and each workgroup walks the batch in order (see attention.wgsl).
override GRAD_BIAS: bool = false;

const MAX_D4 = 32u;
const ROWS = 16u;                  // rows per workgroup: lanes 0..7 own rows l and 8 + l

alias Row = array<vec4f, MAX_D4>;

struct Params {
  B: u32,
  H: u32,
  T: u32,
  D4: u32,                         // DH / 4, as a run-time value (see above)
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

// Inputs of every kernel; rows of q, k, v, dO (and out) are DH / 4 vec4s.
@group(0) @binding(1) var<storage, read> q: array<vec4f>;
@group(0) @binding(2) var<storage, read> k: array<vec4f>;
@group(0) @binding(3) var<storage, read> v: array<vec4f>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;  // [H, T, T]; a stand-in when !HAS_BIAS

// attention_forward_subgroups' outputs.
@group(0) @binding(5) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> lseOut: array<f32>;

// The gradient kernels' other inputs and outputs, as in attention.wgsl.
@group(0) @binding(5) var<storage, read> dO: array<vec4f>;
@group(0) @binding(6) var<storage, read> stats: array<vec2f>;  // (L_i, D_i) per row
@group(0) @binding(7) var<storage, read_write> dq: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> dk: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> dv: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> dBias: array<f32>;  // [H, T, T]; a stand-in when !GRAD_BIAS

/** Where one workgroup works: a (b, h) slice and its rows row0 .. row0 + 15. The same in every lane. */
struct Block {
  inGrid: bool,  // false for the padding workgroups of a split grid
  base: u32,     // (b·H + h)·T: row 0 of the slice in [B, H, T]
  h: u32,
  row0: u32,
}

fn rowBlock(wid: vec3u, nwg: vec3u) -> Block {
  let blocks = (p.T + ROWS - 1u) / ROWS;
  let g = wid.x + wid.y * nwg.x;
  let bh = g / blocks;
  let slices = select(p.B * p.H, p.H, GRAD_BIAS);  // with GRAD_BIAS, a workgroup's slice is b = 0's
  return Block(g < slices * blocks, bh * p.T, bh % p.H, (g % blocks) * ROWS);
}

// (x0 · y, x1 · y) for y = lane src's row.
fn dot2(x0: ptr<function, Row>, x1: ptr<function, Row>, y: ptr<function, Row>, src: u32) -> vec2f {
  var s0 = vec4f(0.0);
  var s1 = vec4f(0.0);
  for (var d = 0u; d < DH / 4u; d++) {
    let yd = subgroupShuffle((*y)[d], src);
    s0 = fma((*x0)[d], yd, s0);
    s1 = fma((*x1)[d], yd, s1);
  }
  return vec2f(dot(s0, vec4f(1.0)), dot(s1, vec4f(1.0)));
}

// acc0 += c.x · y and acc1 += c.y · y, for y = lane src's row.
fn axpy2(acc0: ptr<function, Row>, acc1: ptr<function, Row>, c: vec2f, y: ptr<function, Row>, src: u32) {
  for (var d = 0u; d < DH / 4u; d++) {
    let yd = subgroupShuffle((*y)[d], src);
    (*acc0)[d] = fma(vec4f(c.x), yd, (*acc0)[d]);
    (*acc1)[d] = fma(vec4f(c.y), yd, (*acc1)[d]);
  }
}

fn scaleRows(x0: ptr<function, Row>, x1: ptr<function, Row>, c: vec2f) {
  for (var d = 0u; d < DH / 4u; d++) {
    (*x0)[d] *= c.x;
    (*x1)[d] *= c.y;
  }
}

// Whole rows in and out, with loops to the run-time p.D4 (see above). `at` is the row's index in
// [B, H, T]; a stored row is multiplied by c.
fn qRow(at: u32) -> Row {
  var r: Row;
  for (var d = 0u; d < p.D4; d++) { r[d] = q[at * p.D4 + d]; }
  return r;
}

fn kRow(at: u32) -> Row {
  var r: Row;
  for (var d = 0u; d < p.D4; d++) { r[d] = k[at * p.D4 + d]; }
  return r;
}

fn vRow(at: u32) -> Row {
  var r: Row;
  for (var d = 0u; d < p.D4; d++) { r[d] = v[at * p.D4 + d]; }
  return r;
}

fn dORow(at: u32) -> Row {
  var r: Row;
  for (var d = 0u; d < p.D4; d++) { r[d] = dO[at * p.D4 + d]; }
  return r;
}

fn storeOut(at: u32, r: Row, c: f32) {
  for (var d = 0u; d < p.D4; d++) { out[at * p.D4 + d] = c * r[d]; }
}

fn storeDq(at: u32, r: Row, c: f32) {
  for (var d = 0u; d < p.D4; d++) { dq[at * p.D4 + d] = c * r[d]; }
}

fn storeDk(at: u32, r: Row, c: f32) {
  for (var d = 0u; d < p.D4; d++) { dk[at * p.D4 + d] = c * r[d]; }
}

fn storeDv(at: u32, r: Row, c: f32) {
  for (var d = 0u; d < p.D4; d++) { dv[at * p.D4 + d] = c * r[d]; }
}

/** bias[h, i, j] for the two (i, j) pairs, or 0 without a bias. */
fn bias2(h: u32, i: vec2u, j: vec2u) -> vec2f {
  if (!HAS_BIAS) { return vec2f(0.0); }
  let at = (h * p.T + i) * p.T + j;
  return vec2f(bias[at.x], bias[at.y]);
}

@compute @workgroup_size(8)
fn attention_forward_subgroups(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                               @builtin(subgroup_invocation_id) lane: u32) {
  let blk = rowBlock(wid, nwg);
  if (!blk.inGrid) { return; }
  let base = blk.base;
  // This lane's two query rows (clamped into the slice; rows past T are computed, not stored).
  let rows = blk.row0 + vec2u(lane, 8u + lane);
  let i = min(rows, vec2u(p.T - 1u));
  var q0 = qRow(base + i.x);
  var q1 = qRow(base + i.y);
  var acc0: Row;
  var acc1: Row;
  var m = vec2f(-3.0e38);  // running max of the logits; finite, so exp(m - m') is 0, not NaN
  var l = vec2f(0.0);      // running Σ exp(s - m)

  for (var j0 = 0u; j0 < p.T; j0 += 8u) {
    // Lane l holds key and value row j0 + l of this block.
    let j = min(j0 + lane, p.T - 1u);
    var kj = kRow(base + j);
    var vj = vRow(base + j);
    // Logits of the block first, so the accumulators are rescaled once per block. (Indexing s by
    // jj makes the compiler unroll this loop, which keeps the logits in registers: 1.6× faster.)
    var s: array<vec2f, 8>;
    var mNew = m;
    for (var jj = 0u; jj < 8u; jj++) {
      let key = min(j0 + jj, p.T - 1u);
      let sj = p.scale * dot2(&q0, &q1, &kj, jj) + bias2(blk.h, i, vec2u(key));
      s[jj] = select(vec2f(-3.0e38), sj, j0 + jj < p.T);
      mNew = max(mNew, s[jj]);
    }
    let correction = exp(m - mNew);
    l *= correction;
    scaleRows(&acc0, &acc1, correction);
    for (var jj = 0u; jj < 8u; jj++) {
      let pj = exp(s[jj] - mNew);
      l += pj;
      axpy2(&acc0, &acc1, pj, &vj, jj);
    }
    m = mNew;
  }

  let inv = 1.0 / l;
  if (rows.x < p.T) {
    storeOut(base + i.x, acc0, inv.x);
    lseOut[base + i.x] = m.x + log(l.x);
  }
  if (rows.y < p.T) {
    storeOut(base + i.y, acc1, inv.y);
    lseOut[base + i.y] = m.y + log(l.y);
  }
}

// dQ: each lane owns two query rows and walks the keys in blocks of 8. With GRAD_BIAS it does so
// for every batch element in turn and sums dS over them into dBias: each (h, i, j) is written by the
// lane that owns row i, in batch order, so the sum needs no atomics and is deterministic.
@compute @workgroup_size(8)
fn attention_grad_q_subgroups(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                              @builtin(subgroup_invocation_id) lane: u32) {
  let blk = rowBlock(wid, nwg);
  if (!blk.inGrid) { return; }
  if (!GRAD_BIAS) {
    gradQ(blk, blk.base, false, lane);
    return;
  }
  for (var b = 0u; b < p.B; b++) { gradQ(blk, blk.base + b * p.H * p.T, b > 0u, lane); }
}

// dQ for the two rows of this lane in the slice at `base`; dS added into dBias (after what an
// earlier batch element left there when `accumulate`) with GRAD_BIAS.
fn gradQ(blk: Block, base: u32, accumulate: bool, lane: u32) {
  let rows = blk.row0 + vec2u(lane, 8u + lane);
  let i = min(rows, vec2u(p.T - 1u));
  var q0 = qRow(base + i.x);
  var q1 = qRow(base + i.y);
  var g0 = dORow(base + i.x);
  var g1 = dORow(base + i.y);
  let st0 = stats[base + i.x];
  let st1 = stats[base + i.y];
  let L = vec2f(st0.x, st1.x);
  let D = vec2f(st0.y, st1.y);
  var acc0: Row;
  var acc1: Row;

  for (var j0 = 0u; j0 < p.T; j0 += 8u) {
    let j = min(j0 + lane, p.T - 1u);
    var kj = kRow(base + j);
    var vj = vRow(base + j);
    for (var jj = 0u; jj < 8u; jj++) {
      let key = min(j0 + jj, p.T - 1u);
      let sij = p.scale * dot2(&q0, &q1, &kj, jj) + bias2(blk.h, i, vec2u(key));
      let dp = dot2(&g0, &g1, &vj, jj);
      // dS = P ∘ (dO·Vᵀ − D); keys past T contribute nothing.
      let ds = select(vec2f(0.0), exp(sij - L) * (dp - D), j0 + jj < p.T);
      axpy2(&acc0, &acc1, ds, &kj, jj);
      if (GRAD_BIAS && j0 + jj < p.T) {
        let at = (blk.h * p.T + i) * p.T + key;
        if (rows.x < p.T) { dBias[at.x] = select(0.0, dBias[at.x], accumulate) + ds.x; }
        if (rows.y < p.T) { dBias[at.y] = select(0.0, dBias[at.y], accumulate) + ds.y; }
      }
    }
  }

  if (rows.x < p.T) { storeDq(base + i.x, acc0, p.scale); }
  if (rows.y < p.T) { storeDq(base + i.y, acc1, p.scale); }
}

// dK and dV: each lane owns two key rows and walks the queries in blocks of 8.
@compute @workgroup_size(8)
fn attention_grad_kv_subgroups(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                               @builtin(subgroup_invocation_id) lane: u32) {
  let blk = rowBlock(wid, nwg);
  if (!blk.inGrid) { return; }
  let base = blk.base;
  let rows = blk.row0 + vec2u(lane, 8u + lane);
  let j = min(rows, vec2u(p.T - 1u));
  var k0 = kRow(base + j.x);
  var k1 = kRow(base + j.y);
  var v0 = vRow(base + j.x);
  var v1 = vRow(base + j.y);
  var dk0: Row;
  var dk1: Row;
  var dv0: Row;
  var dv1: Row;

  for (var i0 = 0u; i0 < p.T; i0 += 8u) {
    // Lane l holds query row i0 + l of this block: q, dO and its (L, D).
    let i = min(i0 + lane, p.T - 1u);
    var qi = qRow(base + i);
    var gi = dORow(base + i);
    let st = stats[base + i];
    for (var ii = 0u; ii < 8u; ii++) {
      let query = min(i0 + ii, p.T - 1u);
      let sti = subgroupShuffle(st, ii);
      let sij = p.scale * dot2(&k0, &k1, &qi, ii) + bias2(blk.h, vec2u(query), j);
      let dp = dot2(&v0, &v1, &gi, ii);
      // Queries past T contribute nothing.
      let pij = select(vec2f(0.0), exp(sij - sti.x), i0 + ii < p.T);
      axpy2(&dv0, &dv1, pij, &gi, ii);
      axpy2(&dk0, &dk1, pij * (dp - sti.y), &qi, ii);
    }
  }

  if (rows.x < p.T) {
    storeDk(base + j.x, dk0, p.scale);
    storeDv(base + j.x, dv0, 1.0);
  }
  if (rows.y < p.T) {
    storeDk(base + j.y, dk1, p.scale);
    storeDv(base + j.y, dv1, 1.0);
  }
}
