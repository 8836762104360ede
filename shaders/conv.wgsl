// Convolutions as implicit GEMMs: the im2col matrix is never stored; tiles of it are gathered
// straight from the image into workgroup memory. The tiling is matmul.wgsl's: a workgroup of 16×16
// invocations computes a 64×64 tile of the result, each invocation a 4×4 block of accumulators in
// registers, walking the reduction 16 at a time.
//
// Three GEMMs and two sums cover the forward and backward passes of conv2d, the patch embedding
// and the transposed conv (src/ops/conv.ts says which is which):
//   conv_forward            out[b, m, oy, ox] = Σ_k weight[m, k] · patch[b, k, (oy, ox)]  (+ bias[m])
//   conv_weight_grad        dW[m, k]          = Σ_(b, oy, ox) A[b, m, oy, ox] · patch[b, k, (oy, ox)]
//   conv_transpose_forward  y[b, o, i·KH + ky, j·KW + kx] = Σ_c W[c, o, ky, kx] · x[b, c, i, j]  (+ bias[o])
//   sum_partials            adds the split parts of conv_weight_grad's long reduction
//   channel_sum             the bias gradient, Σ over images and pixels of each channel
// where k = (c, ky, kx) walks a kernel window and patch[b, k, (oy, ox)] is the input pixel
// x[b, c, oy·SH + ky − padH, ox·SW + kx − padW] (zero outside the image). Each GEMM has a
// `_cpu` twin for CPU adapters (lib/conv-cpu.wgsl; conv-subgroups.wgsl has the same twins
// for CPU adapters with subgroups).

#include "conv-bindings.wgsl"
#include "conv-cpu.wgsl"
#include "tile-column.wgsl"
#include "grid.wgsl"
#include "workgroup-reduce.wgsl"

const BM = 64u;
const BN = 64u;
const BK = 16u;
const TM = 4u;
const TN = 4u;

var<workgroup> As: array<f32, 1024>;  // [BK][BM]
var<workgroup> Bs: array<f32, 1024>;  // [BK][BN]

// acc += this invocation's 4×4 block of As[BK][rows]ᵀ · Bs[BK][cols].
fn multiplyTiles(lid: vec3u, acc: ptr<function, array<f32, 16>>) {
  for (var kk = 0u; kk < BK; kk++) {
    var a: array<f32, 4>;
    var b: array<f32, 4>;
    for (var i = 0u; i < TM; i++) { a[i] = As[kk * BM + lid.y * TM + i]; }
    for (var j = 0u; j < TN; j++) { b[j] = Bs[kk * BN + lid.x * TN + j]; }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { (*acc)[i * TN + j] = fma(a[i], b[j], (*acc)[i * TN + j]); }
    }
  }
}

// patch[img, k, n] of the header: k = (c, ky, kx) in the window, n = (oy, ox) the output pixel.
// Callers keep k and n in range.
fn patchValue(img: u32, k: u32, n: u32) -> f32 {
  let area = conv.KH * conv.KW;
  let c = k / area;
  let t = k % area;
  let y = i32((n / conv.OW) * conv.SH + t / conv.KW) - conv.padH;
  let x = i32((n % conv.OW) * conv.SW + t % conv.KW) - conv.padW;
  if (y < 0 || y >= i32(conv.H) || x < 0 || x >= i32(conv.W)) { return 0.0; }
  return X[((img * conv.C + c) * conv.H + u32(y)) * conv.W + u32(x)];
}

// Row m, column k of the weight as an [M × C·KH·KW] matrix (see FLIP).
fn weight(m: u32, k: u32, K: u32) -> f32 {
  if (m >= conv.M || k >= K) { return 0.0; }
  if (FLIP) {
    let area = conv.KH * conv.KW;
    let o = k / area;
    let t = k % area;
    return A[(o * conv.M + m) * area + (area - 1u - t)];
  }
  return A[m * K + k];
}

@compute @workgroup_size(16, 16)
fn conv_forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let img = conv.batch0 + wid.z;
  let K = conv.C * conv.KH * conv.KW;
  let N = conv.OH * conv.OW;
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;

  var acc: array<f32, 16>;  // zero-initialised
  for (var k0 = 0u; k0 < K; k0 += BK) {
    // Each invocation stages 4 elements of each tile; neighbours take neighbouring addresses:
    // consecutive k within a weight row, consecutive output pixels within a patch row.
    for (var s = 0u; s < 4u; s++) {
      let e = li + s * 256u;
      let am = e / BK;
      let ak = e % BK;
      As[ak * BM + am] = weight(row0 + am, k0 + ak, K);
      let bk = e / BN;
      let bn = e % BN;
      var v = 0.0;
      if (k0 + bk < K && col0 + bn < N) { v = patchValue(img, k0 + bk, col0 + bn); }
      Bs[bk * BN + bn] = v;
    }
    workgroupBarrier();
    multiplyTiles(lid, &acc);
    workgroupBarrier();
  }

  for (var i = 0u; i < TM; i++) {
    let m = row0 + lid.y * TM + i;
    if (m >= conv.M) { continue; }
    for (var j = 0u; j < TN; j++) {
      let n = col0 + lid.x * TN + j;
      if (n >= N) { continue; }
      var v = acc[i * TN + j];
      if (HAS_BIAS) { v += bias[m]; }
      Out[(img * conv.M + m) * N + n] = v;
    }
  }
}

// The weight gradient: the reduction runs over every (image, output pixel) pair, which is long
// while the result is small, so it is split into chunks (wid.z) whose partial results land in
// Out[z] and are added up by sum_partials. A [images, M, OH, OW] is what the patches are
// correlated with: the output gradient (or, for a transposed conv, its input).
@compute @workgroup_size(16, 16)
fn conv_weight_grad(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                    @builtin(local_invocation_index) li: u32) {
  let N = conv.C * conv.KH * conv.KW;
  let pixels = conv.OH * conv.OW;
  let rowEnd = min(conv.images * pixels, (wid.z + 1u) * conv.chunk);
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;

  var acc: array<f32, 16>;  // zero-initialised
  for (var r0 = wid.z * conv.chunk; r0 < rowEnd; r0 += BK) {
    // Both tiles are staged with neighbouring invocations on neighbouring reduction rows r,
    // i.e. neighbouring pixels of one image.
    for (var s = 0u; s < 4u; s++) {
      let e = li + s * 256u;
      let rr = e % BK;
      let r = r0 + rr;
      let img = r / pixels;
      let q = r % pixels;
      let am = e / BK;
      var a = 0.0;
      if (r < rowEnd && row0 + am < conv.M) { a = A[(img * conv.M + row0 + am) * pixels + q]; }
      As[rr * BM + am] = a;
      let bn = e / BK;
      var b = 0.0;
      if (r < rowEnd && col0 + bn < N) { b = patchValue(img, col0 + bn, q); }
      Bs[rr * BN + bn] = b;
    }
    workgroupBarrier();
    multiplyTiles(lid, &acc);
    workgroupBarrier();
  }

  let base = wid.z * conv.M * N;
  for (var i = 0u; i < TM; i++) {
    let m = row0 + lid.y * TM + i;
    if (m >= conv.M) { continue; }
    for (var j = 0u; j < TN; j++) {
      let n = col0 + lid.x * TN + j;
      if (n < N) { Out[base + m * N + n] = acc[i * TN + j]; }
    }
  }
}


@compute @workgroup_size(16, 16)
fn conv_transpose_forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                          @builtin(local_invocation_index) li: u32) {
  let img = convT.batch0 + wid.z;
  let area = convT.KH * convT.KW;
  let M = convT.O * area;
  let N = convT.H * convT.W;
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;

  var acc: array<f32, 16>;  // zero-initialised
  for (var k0 = 0u; k0 < convT.C; k0 += BK) {
    // Both operands are contiguous along the GEMM's rows or columns, not along the reduction.
    for (var s = 0u; s < 4u; s++) {
      let e = li + s * 256u;
      let ak = e / BM;
      let am = e % BM;
      var a = 0.0;
      if (k0 + ak < convT.C && row0 + am < M) { a = A[(k0 + ak) * M + row0 + am]; }
      As[ak * BM + am] = a;
      let bk = e / BN;
      let bn = e % BN;
      var b = 0.0;
      if (k0 + bk < convT.C && col0 + bn < N) { b = X[(img * convT.C + k0 + bk) * N + col0 + bn]; }
      Bs[bk * BN + bn] = b;
    }
    workgroupBarrier();
    multiplyTiles(lid, &acc);
    workgroupBarrier();
  }

  let OW = convT.W * convT.KW;
  for (var i = 0u; i < TM; i++) {
    let m = row0 + lid.y * TM + i;
    if (m >= M) { continue; }
    let o = m / area;
    let ky = (m % area) / convT.KW;
    let kx = m % convT.KW;
    for (var j = 0u; j < TN; j++) {
      let n = col0 + lid.x * TN + j;
      if (n >= N) { continue; }
      var v = acc[i * TN + j];
      if (HAS_BIAS) { v += bias[o]; }
      let y = (n / convT.W) * convT.KH + ky;
      let x = (n % convT.W) * convT.KW + kx;
      Out[((img * convT.O + o) * convT.H * convT.KH + y) * OW + x] = v;
    }
  }
}

// Adds the split partial results of conv_weight_grad: total[i] = Σ_z partials[z, i], in order.
struct Partials { count: u32, splits: u32 }
@group(0) @binding(0) var<uniform> part: Partials;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> total: array<f32>;

@compute @workgroup_size(256)
fn sum_partials(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let i = linearWorkgroup(wid, nwg) * 256u + li;
  if (i >= part.count) { return; }
  var s = 0.0;
  for (var z = 0u; z < part.splits; z++) { s += partials[z * part.count + i]; }
  total[i] = s;
}

// The bias gradient: sums[c] = Σ over images and pixels of G[b, c, pixel], one workgroup per
// channel; each invocation sums a strided share, then workgroupSum adds the shares.
struct Channels { channels: u32, images: u32, pixels: u32 }
@group(0) @binding(0) var<uniform> chan: Channels;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> sums: array<f32>;

@compute @workgroup_size(256)
fn channel_sum(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) li: u32) {
  let c = linearWorkgroup(wid, nwg);
  if (c >= chan.channels) { return; }
  // The share strides over (image, pixel) pairs, so that many small images are spread evenly too.
  var s = 0.0;
  for (var i = li; i < chan.images * chan.pixels; i += 256u) {
    let b = i / chan.pixels;
    s += G[(b * chan.channels + c) * chan.pixels + i % chan.pixels];
  }
  let total = workgroupSum(li, s);
  if (li == 0u) { sums[c] = total; }
}
