// Batched matrix multiplication, register-blocked: C[b] = op(A[b]) · op(B[b]) (+ bias).
// op(X) is X or Xᵀ (TRANS_A / TRANS_B). A workgroup of 16×16 invocations computes a 64×64 tile
// of C; each invocation holds a 4×4 block of accumulators in registers, so every value read
// from workgroup memory is used four times. K is walked in steps of 16 through workgroup tiles.
//
// Layouts (row-major): A is M×K (K×M when TRANS_A), B is K×N (N×K when TRANS_B), C is M×N.
// B's batch stride may be 0 (one matrix shared by every batch: a Linear layer's weight).

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;

const BM = 64u;
const BN = 64u;
const BK = 16u;
const TM = 4u;
const TN = 4u;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  strideA: u32,  // elements between batches of A
  strideB: u32,  // 0 when B is shared
  batch0: u32,   // first batch of this dispatch (grids over 65535 batches are split in chunks)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

var<workgroup> As: array<f32, 1024>;  // [BK][BM]
var<workgroup> Bs: array<f32, 1024>;  // [BK][BN]

fn loadA(base: u32, row: u32, k: u32) -> f32 {
  if (row >= p.M || k >= p.K) { return 0.0; }
  if (TRANS_A) { return A[base + k * p.M + row]; }
  return A[base + row * p.K + k];
}

fn loadB(base: u32, k: u32, col: u32) -> f32 {
  if (k >= p.K || col >= p.N) { return 0.0; }
  if (TRANS_B) { return B[base + col * p.K + k]; }
  return B[base + k * p.N + col];
}

@compute @workgroup_size(16, 16)
fn matmul(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
          @builtin(local_invocation_index) li: u32) {
  let batch = p.batch0 + wid.z;
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;
  let baseA = batch * p.strideA;
  let baseB = batch * p.strideB;

  var acc: array<f32, 16>;
  for (var i = 0u; i < 16u; i++) { acc[i] = 0.0; }

  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    // Each of the 256 invocations stages 4 elements of each tile. The index split is chosen so
    // that neighbouring invocations read neighbouring addresses in global memory.
    for (var s = 0u; s < 4u; s++) {
      let e = li + s * 256u;
      if (TRANS_A) {
        let kk = e / BM; let mm = e % BM;
        As[kk * BM + mm] = loadA(baseA, row0 + mm, k0 + kk);
      } else {
        let mm = e / BK; let kk = e % BK;
        As[kk * BM + mm] = loadA(baseA, row0 + mm, k0 + kk);
      }
      if (TRANS_B) {
        let nn = e / BK; let kk = e % BK;
        Bs[kk * BN + nn] = loadB(baseB, k0 + kk, col0 + nn);
      } else {
        let kk = e / BN; let nn = e % BN;
        Bs[kk * BN + nn] = loadB(baseB, k0 + kk, col0 + nn);
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < TM; i++) { a[i] = As[kk * BM + lid.y * TM + i]; }
      for (var j = 0u; j < TN; j++) { b[j] = Bs[kk * BN + lid.x * TN + j]; }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]); }
      }
    }
    workgroupBarrier();
  }

  let baseC = batch * p.M * p.N;
  for (var i = 0u; i < TM; i++) {
    let row = row0 + lid.y * TM + i;
    if (row >= p.M) { continue; }
    for (var j = 0u; j < TN; j++) {
      let col = col0 + lid.x * TN + j;
      if (col >= p.N) { continue; }
      var v = acc[i * TN + j];
      if (HAS_BIAS) { v += bias[col]; }
      C[baseC + row * p.N + col] = v;
    }
  }
}

// Gradient of the fused bias: column sums of dC viewed as rows×N. One invocation per column,
// so neighbouring invocations read neighbouring addresses.
struct BiasParams { rows: u32, N: u32 }
@group(0) @binding(0) var<uniform> bp: BiasParams;
@group(0) @binding(1) var<storage, read> dC: array<f32>;
@group(0) @binding(2) var<storage, read_write> dBias: array<f32>;

@compute @workgroup_size(64)
fn bias_grad(@builtin(global_invocation_id) gid: vec3u) {
  let col = gid.x;
  if (col >= bp.N) { return; }
  var s = 0.0;
  for (var r = 0u; r < bp.rows; r++) { s += dC[r * bp.N + col]; }
  dBias[col] = s;
}
