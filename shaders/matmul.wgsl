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

#include "matmul-params.wgsl"

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

// The same product for CPU adapters (lavapipe, SwiftShader): no workgroup memory and no barriers,
// since there a barrier is a coroutine switch and the CPU caches already do what shared tiles do
// on a GPU. An 8×8 workgroup covers a 64×64 tile; invocation (x, y) owns rows y + 8i and columns
// x + 8j (i, j < 8), so the 8 invocations a CPU runs side by side in SIMD lanes read neighbouring
// columns of B, and each A value they read is the same (a broadcast). Row and column offsets are
// clamped into the matrices once, before the k loop, instead of branching inside it; results
// outside C are simply not written.
@compute @workgroup_size(8, 8)
fn matmul_cpu(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let batch = p.batch0 + wid.z;
  let r = wid.y * 64u + lid.y;
  let c = wid.x * 64u + lid.x;
  // A[row, k] = A[aRow[i] + k·aStep]; B[k, col] = B[bCol[j] + k·bStep].
  let aStep = select(1u, p.M, TRANS_A);
  let bStep = select(p.N, 1u, TRANS_B);
  var aRow: array<u32, 8>;
  var bCol: array<u32, 8>;
  for (var i = 0u; i < 8u; i++) {
    aRow[i] = batch * p.strideA + min(r + 8u * i, p.M - 1u) * select(p.K, 1u, TRANS_A);
    bCol[i] = batch * p.strideB + min(c + 8u * i, p.N - 1u) * select(1u, p.K, TRANS_B);
  }
  var lo: array<vec4f, 8>;  // columns c, c+8, c+16, c+24 of rows r + 8i
  var hi: array<vec4f, 8>;  // columns c+32 … c+56
  for (var k = 0u; k < p.K; k++) {
    let ka = k * aStep;
    let kb = k * bStep;
    let b0 = vec4f(B[bCol[0] + kb], B[bCol[1] + kb], B[bCol[2] + kb], B[bCol[3] + kb]);
    let b1 = vec4f(B[bCol[4] + kb], B[bCol[5] + kb], B[bCol[6] + kb], B[bCol[7] + kb]);
    for (var i = 0u; i < 8u; i++) {
      let a = vec4f(A[aRow[i] + ka]);
      lo[i] = fma(a, b0, lo[i]);
      hi[i] = fma(a, b1, hi[i]);
    }
  }
  let baseC = batch * p.M * p.N;
  for (var i = 0u; i < 8u; i++) {
    let row = r + 8u * i;
    if (row >= p.M) { continue; }
    for (var j = 0u; j < 8u; j++) {
      let col = c + 8u * j;
      if (col >= p.N) { continue; }
      var v = select(hi[i][j % 4u], lo[i][j % 4u], j < 4u);
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
