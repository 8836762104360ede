// Batched matrix multiplication for CPU adapters with subgroups: C[b] = op(A[b]) · op(B[b]) (+ bias),
// the same product and layouts as matmul.wgsl (Aᵀ when TRANS_A, Bᵀ when TRANS_B, B's batch
// stride 0 when shared). A separate file because `enable subgroups` applies to a whole module.
//
// Why it looks like this (lavapipe, Mesa 25): a workgroup of 8 invocations runs as one 8-wide SIMD
// vector, and every load from memory is expanded lane by lane, about 8 instructions per element
// per lane, while a multiply-add costs two instructions for all 8 lanes. So the kernel loads little:
// - a workgroup is one subgroup of 8 lanes and computes a 32×32 tile of C; lane l owns columns
//   4l .. 4l+3 of the tile for all 32 rows (128 accumulators);
// - the A values a row needs are the same in every lane, so each lane loads a different part of
//   the tile's A (4 rows × 4 k-steps) and `subgroupBroadcast` hands it to the others (a register
//   shuffle, no memory access);
// - operands are read as vec4s along their contiguous dimension (k for A, n for B; m for Aᵀ, k for
//   Bᵀ), so the host uses this kernel only when that dimension is a multiple of 4;
// - no workgroup memory and no barriers (a barrier is a coroutine switch on a CPU).
// Per 4 k-steps a lane loads 8 vec4s and does 512 multiply-adds. Larger tiles (64×32, 32×64)
// measured no faster and compile two to three times longer.

enable subgroups;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;

#include "matmul-params.wgsl"

@group(0) @binding(1) var<storage, read> A: array<vec4f>;
@group(0) @binding(2) var<storage, read> B: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

// A lane's share of op(A) for k-steps k0 .. k0+3: a[g][kk] = op(A)[r0 + row(g, lane), k0 + kk], with
// row(g, lane) = 8g + lane for A (a vec4 along k per row) and 4·lane + g for Aᵀ (a vec4 along m
// per k, transposed). Rows past M are clamped to real ones (their results are not stored); k-steps
// past K (possible with Aᵀ, where K need not be a multiple of 4) read as 0.
fn loadA(base: u32, r0: u32, k0: u32, lane: u32) -> mat4x4f {
  var a: mat4x4f;
  if (TRANS_A) {
    let row = min(r0 + 4u * lane, p.M - 4u);
    for (var kk = 0u; kk < 4u; kk++) {
      let k = k0 + kk;
      a[kk] = select(vec4f(0.0), A[(base + min(k, p.K - 1u) * p.M + row) / 4u], k < p.K);
    }
    return transpose(a);
  }
  for (var g = 0u; g < 4u; g++) {
    let row = min(r0 + 8u * g + lane, p.M - 1u);
    a[g] = A[(base + row * p.K + k0) / 4u];
  }
  return a;
}

// The lane's four columns c0 + 4·lane + j of op(B) for k-steps k0 .. k0+3: b[kk][j]. Clamped and
// zero-filled as in loadA.
fn loadB(base: u32, c0: u32, k0: u32, lane: u32) -> mat4x4f {
  var b: mat4x4f;
  if (TRANS_B) {
    for (var j = 0u; j < 4u; j++) {
      let col = min(c0 + 4u * lane + j, p.N - 1u);
      b[j] = B[(base + col * p.K + k0) / 4u];
    }
    return transpose(b);
  }
  let col = min(c0 + 4u * lane, p.N - 4u);
  for (var kk = 0u; kk < 4u; kk++) {
    let k = k0 + kk;
    b[kk] = select(vec4f(0.0), B[(base + min(k, p.K - 1u) * p.N + col) / 4u], k < p.K);
  }
  return b;
}

// acc + a.x·b[0] + a.y·b[1] + a.z·b[2] + a.w·b[3]: four k-steps of one row, four columns.
fn mac4(acc: vec4f, a: vec4f, b: mat4x4f) -> vec4f {
  return fma(vec4f(a.w), b[3], fma(vec4f(a.z), b[2], fma(vec4f(a.y), b[1], fma(vec4f(a.x), b[0], acc))));
}

// Eight rows at once: row j uses lane j's A values (subgroupBroadcast wants a constant lane).
fn mac8(acc: ptr<function, array<vec4f, 8>>, a: vec4f, b: mat4x4f) {
  (*acc)[0] = mac4((*acc)[0], subgroupBroadcast(a, 0u), b);
  (*acc)[1] = mac4((*acc)[1], subgroupBroadcast(a, 1u), b);
  (*acc)[2] = mac4((*acc)[2], subgroupBroadcast(a, 2u), b);
  (*acc)[3] = mac4((*acc)[3], subgroupBroadcast(a, 3u), b);
  (*acc)[4] = mac4((*acc)[4], subgroupBroadcast(a, 4u), b);
  (*acc)[5] = mac4((*acc)[5], subgroupBroadcast(a, 5u), b);
  (*acc)[6] = mac4((*acc)[6], subgroupBroadcast(a, 6u), b);
  (*acc)[7] = mac4((*acc)[7], subgroupBroadcast(a, 7u), b);
}

@compute @workgroup_size(8)
fn matmul_subgroups(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let batch = p.batch0 + wid.z;
  let r0 = wid.y * 32u;
  let c0 = wid.x * 32u;
  let baseA = batch * p.strideA;
  let baseB = batch * p.strideB;
  // accG[j] holds the lane's four columns of tile row row(G, j) (see loadA).
  var acc0: array<vec4f, 8>;
  var acc1: array<vec4f, 8>;
  var acc2: array<vec4f, 8>;
  var acc3: array<vec4f, 8>;
  for (var k0 = 0u; k0 < p.K; k0 += 4u) {
    let a = loadA(baseA, r0, k0, lane);
    let b = loadB(baseB, c0, k0, lane);
    mac8(&acc0, a[0], b);
    mac8(&acc1, a[1], b);
    mac8(&acc2, a[2], b);
    mac8(&acc3, a[3], b);
  }

  // Each store expands into per-lane code too: the loop over the tile's rows is kept rolled
  // (unrolled, it would double the compile time), reading the accumulators from an array.
  var acc = array<array<vec4f, 8>, 4>(acc0, acc1, acc2, acc3);
  let baseC = batch * p.M * p.N;
  for (var i = 0u; i < p.tileRows; i++) {
    let row = r0 + i;
    if (row >= p.M) { break; }
    // Tile row i is row(g, j) of loadA.
    let v = select(acc[i / 8u][i % 8u], acc[i % 4u][i / 4u], TRANS_A);
    for (var c = 0u; c < 4u; c++) {
      let col = c0 + 4u * lane + c;
      if (col >= p.N) { continue; }
      var x = v[c];
      if (HAS_BIAS) { x += bias[col]; }
      C[baseC + row * p.N + col] = x;
    }
  }
}
