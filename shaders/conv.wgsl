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
// `_registers` twin for CPU adapters, further down.

// conv_forward reads the weight [O, C, KH, KW] as [C, O, KH, KW] with each window rotated 180°:
// the input gradient of a stride-1 conv is this conv of the output gradient.
override FLIP: bool = false;
override HAS_BIAS: bool = false;

#include "grid.wgsl"
#include "workgroup-reduce.wgsl"

const BM = 64u;
const BN = 64u;
const BK = 16u;
const TM = 4u;
const TN = 4u;

// Geometry of a convolution, shared by conv_forward and conv_weight_grad.
struct Conv {
  M: u32,       // output channels: rows of the GEMM
  C: u32,       // input channels
  H: u32,       // input height and width
  W: u32,
  OH: u32,      // output height and width
  OW: u32,
  KH: u32,      // kernel window
  KW: u32,
  SH: u32,      // stride
  SW: u32,
  batch0: u32,  // conv_forward: first image of this dispatch (grids over 65535 images are split)
  images: u32,  // conv_weight_grad: images summed over
  chunk: u32,   // conv_weight_grad: reduction rows per split (a multiple of BK); the _registers
                // variant: output rows (image, oy) per split
  padH: i32,    // zero padding; negative crops (conv.ts packs the i32 bits as a u32)
  padW: i32,
}

@group(0) @binding(0) var<uniform> conv: Conv;
@group(0) @binding(1) var<storage, read> A: array<f32>;      // the GEMM's left operand
@group(0) @binding(2) var<storage, read> X: array<f32>;      // the image patches are gathered from
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

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

// ---- Variants for CPU adapters (lavapipe, SwiftShader). There a workgroup's invocations run as
// the lanes of a SIMD loop, a barrier is a coroutine switch, every storage load is a gather that
// costs about as much as 16 fmas, and integer division is done one lane at a time. So these
// kernels use no workgroup memory, hold a 16 × 8 block of results in registers per invocation
// (24 loads feed 128 fmas), and walk kernel windows with nested loops instead of dividing.
// A workgroup is 8 invocations, one SIMD vector; they take neighbouring pixels or taps.

// conv_forward: invocation `li` of workgroup (x, y, z) computes output channels 16y … 16y + 15 at
// the 8 pixels 64x + li + 8j (j < 8) of image z. The input channel is the innermost loop: for one
// tap (ky, kx) whether a pixel's window reaches outside the image does not depend on it.
@compute @workgroup_size(8)
fn conv_forward_registers(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let img = conv.batch0 + wid.z;
  let N = conv.OH * conv.OW;
  let area = conv.KH * conv.KW;
  let planeSize = conv.H * conv.W;
  var py: array<i32, 8>;  // top-left input row and column of each pixel's window
  var px: array<i32, 8>;
  for (var j = 0u; j < 8u; j++) {
    let n = min(wid.x * 64u + li + 8u * j, N - 1u);
    py[j] = i32((n / conv.OW) * conv.SH) - conv.padH;
    px[j] = i32((n % conv.OW) * conv.SW) - conv.padW;
  }
  // Tap t of input channel c of output channel m is at A[wRow[m] + c·cStride ± t] (see FLIP).
  var wRow: array<u32, 16>;
  for (var i = 0u; i < 16u; i++) {
    let m = min(wid.y * 16u + i, conv.M - 1u);
    wRow[i] = select(m * conv.C * area, m * area + area - 1u, FLIP);
  }
  let cStride = select(area, conv.M * area, FLIP);
  var acc: array<vec4f, 32>;  // channel i: pixels j < 4 in acc[2i], the others in acc[2i + 1]
  for (var ky = 0u; ky < conv.KH; ky++) {
    for (var kx = 0u; kx < conv.KW; kx++) {
      // Each pixel's input under this tap, in channel 0 of the image, and whether it is inside.
      var at: array<u32, 8>;
      var inside: array<bool, 8>;
      for (var j = 0u; j < 8u; j++) {
        let y = py[j] + i32(ky);
        let x = px[j] + i32(kx);
        inside[j] = y >= 0 && y < i32(conv.H) && x >= 0 && x < i32(conv.W);
        at[j] = img * conv.C * planeSize + u32(clamp(y, 0, i32(conv.H) - 1)) * conv.W + u32(clamp(x, 0, i32(conv.W) - 1));
      }
      let t = ky * conv.KW + kx;
      for (var c = 0u; c < conv.C; c++) {
        let plane = c * planeSize;
        var v: array<f32, 8>;
        for (var j = 0u; j < 8u; j++) { v[j] = select(0.0, X[at[j] + plane], inside[j]); }
        let v0 = vec4f(v[0], v[1], v[2], v[3]);
        let v1 = vec4f(v[4], v[5], v[6], v[7]);
        for (var i = 0u; i < 16u; i++) {
          let base = wRow[i] + c * cStride;
          let w = vec4f(A[select(base + t, base - t, FLIP)]);
          acc[2u * i] = fma(w, v0, acc[2u * i]);
          acc[2u * i + 1u] = fma(w, v1, acc[2u * i + 1u]);
        }
      }
    }
  }
  for (var i = 0u; i < 16u; i++) {
    let m = wid.y * 16u + i;
    if (m >= conv.M) { break; }
    for (var j = 0u; j < 8u; j++) {
      let n = wid.x * 64u + li + 8u * j;
      if (n >= N) { break; }
      var out = acc[2u * i + j / 4u][j % 4u];
      if (HAS_BIAS) { out += bias[m]; }
      Out[(img * conv.M + m) * N + n] = out;
    }
  }
}

// conv_weight_grad: invocation `li` of workgroup (x, y, z) sums dW[m, k] for channels 16y … 16y + 15
// and the 8 taps k = 64x + li + 8j (j < 8), over reduction chunk z: the output rows
// (image, oy) from z·chunk to (z + 1)·chunk, every pixel of each.
@compute @workgroup_size(8)
fn conv_weight_grad_registers(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let K = conv.C * conv.KH * conv.KW;
  let area = conv.KH * conv.KW;
  let pixels = conv.OH * conv.OW;
  var plane: array<u32, 8>;  // each tap's input channel plane, and its offset in the window
  var ky: array<i32, 8>;
  var kx: array<i32, 8>;
  for (var j = 0u; j < 8u; j++) {
    let k = min(wid.x * 64u + li + 8u * j, K - 1u);
    plane[j] = (k / area) * conv.H;
    ky[j] = i32((k % area) / conv.KW) - conv.padH;
    kx[j] = i32(k % conv.KW) - conv.padW;
  }
  var aRow: array<u32, 16>;
  for (var i = 0u; i < 16u; i++) { aRow[i] = min(wid.y * 16u + i, conv.M - 1u) * pixels; }
  var acc: array<vec4f, 32>;  // channel i: taps j < 4 in acc[2i], the others in acc[2i + 1]
  let rowEnd = min(conv.images * conv.OH, (wid.z + 1u) * conv.chunk);
  for (var row = wid.z * conv.chunk; row < rowEnd; row++) {
    let img = row / conv.OH;
    let oy = row % conv.OH;
    let aBase = img * conv.M * pixels + oy * conv.OW;
    var rowBase: array<u32, 8>;
    var rowOk: array<bool, 8>;
    for (var j = 0u; j < 8u; j++) {
      let y = i32(oy * conv.SH) + ky[j];
      rowOk[j] = y >= 0 && y < i32(conv.H);
      rowBase[j] = (img * conv.C * conv.H + plane[j] + u32(clamp(y, 0, i32(conv.H) - 1))) * conv.W;
    }
    for (var ox = 0u; ox < conv.OW; ox++) {
      var v: array<f32, 8>;
      for (var j = 0u; j < 8u; j++) {
        let x = i32(ox * conv.SW) + kx[j];
        v[j] = select(0.0, X[rowBase[j] + u32(clamp(x, 0, i32(conv.W) - 1))], rowOk[j] && x >= 0 && x < i32(conv.W));
      }
      let v0 = vec4f(v[0], v[1], v[2], v[3]);
      let v1 = vec4f(v[4], v[5], v[6], v[7]);
      for (var i = 0u; i < 16u; i++) {
        let a = vec4f(A[aBase + aRow[i] + ox]);
        acc[2u * i] = fma(a, v0, acc[2u * i]);
        acc[2u * i + 1u] = fma(a, v1, acc[2u * i + 1u]);
      }
    }
  }
  let base = wid.z * conv.M * K;
  for (var i = 0u; i < 16u; i++) {
    let m = wid.y * 16u + i;
    if (m >= conv.M) { break; }
    for (var j = 0u; j < 8u; j++) {
      let k = wid.x * 64u + li + 8u * j;
      if (k >= K) { break; }
      Out[base + m * K + k] = acc[2u * i + j / 4u][j % 4u];
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

// Kernel = stride: every input pixel (i, j) writes its own KH×KW block of the output, so this is
// one GEMM per image, [O·KH·KW × C] (the weight [C, O·KH·KW], transposed) times x[b] [C × H·W],
// whose rows are scattered into the output blocks.
struct ConvT {
  C: u32,       // input channels: the reduction
  O: u32,       // output channels
  H: u32,       // input height and width
  W: u32,
  KH: u32,      // kernel = stride
  KW: u32,
  batch0: u32,  // first image of this dispatch
}

@group(0) @binding(0) var<uniform> convT: ConvT;

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

// conv_transpose_forward for CPU adapters (see conv_forward_registers): invocation `li` of workgroup
// (x, y, z) computes GEMM rows 16y … 16y + 15 (row = (o, ky, kx)) at the 8 input pixels
// 64x + li + 8j (j < 8) of image z.
@compute @workgroup_size(8)
fn conv_transpose_registers(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let img = convT.batch0 + wid.z;
  let area = convT.KH * convT.KW;
  let M = convT.O * area;
  let N = convT.H * convT.W;
  var col: array<u32, 8>;
  for (var j = 0u; j < 8u; j++) { col[j] = min(wid.x * 64u + li + 8u * j, N - 1u); }
  var row: array<u32, 16>;
  for (var i = 0u; i < 16u; i++) { row[i] = min(wid.y * 16u + i, M - 1u); }
  var acc: array<vec4f, 32>;  // row i: pixels j < 4 in acc[2i], the others in acc[2i + 1]
  for (var c = 0u; c < convT.C; c++) {
    let plane = (img * convT.C + c) * N;
    let v0 = vec4f(X[plane + col[0]], X[plane + col[1]], X[plane + col[2]], X[plane + col[3]]);
    let v1 = vec4f(X[plane + col[4]], X[plane + col[5]], X[plane + col[6]], X[plane + col[7]]);
    for (var i = 0u; i < 16u; i++) {
      let w = vec4f(A[c * M + row[i]]);
      acc[2u * i] = fma(w, v0, acc[2u * i]);
      acc[2u * i + 1u] = fma(w, v1, acc[2u * i + 1u]);
    }
  }
  let OW = convT.W * convT.KW;
  for (var i = 0u; i < 16u; i++) {
    let m = wid.y * 16u + i;
    if (m >= M) { break; }
    let o = m / area;
    let ky = (m % area) / convT.KW;
    let kx = m % convT.KW;
    for (var j = 0u; j < 8u; j++) {
      let n = wid.x * 64u + li + 8u * j;
      if (n >= N) { break; }
      var out = acc[2u * i + j / 4u][j % 4u];
      if (HAS_BIAS) { out += bias[o]; }
      let y = (n / convT.W) * convT.KH + ky;
      let x = (n % convT.W) * convT.KW + kx;
      Out[((img * convT.O + o) * convT.H * convT.KH + y) * OW + x] = out;
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
