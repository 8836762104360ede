// The convolution kernels for CPU adapters (lavapipe, SwiftShader): the GEMMs of conv.wgsl (see
// its header) shaped for a CPU. There a workgroup's invocations run as the lanes of a SIMD loop, a
// barrier is a coroutine switch, every storage load is a gather that costs about as much as 16
// fmas, and integer division is done one lane at a time. So these kernels use no workgroup memory,
// hold a 16 × 8 block of results in registers per invocation, and walk kernel windows with nested
// loops instead of dividing. A workgroup is 8 invocations, one SIMD vector; they take neighbouring
// pixels or taps.
//
// Each step of a reduction needs 8 values of the patches (a different pixel or tap per lane) and
// 16 values of the other operand that every lane shares: `tileColumn` gives those 16. It comes
// from tile-column.wgsl (every lane loads all 16: 24 loads feed 128 fmas) or, in
// conv-subgroups.wgsl, from tile-column-subgroups.wgsl (each lane loads 2 and the lanes shuffle
// them: 10 loads feed 128 fmas, 2.6× faster on lavapipe).

// conv_forward: invocation `li` of workgroup (x, y, z) computes output channels 16y … 16y + 15 at
// the 8 pixels 64x + li + 8j (j < 8) of image z. The input channel is the innermost loop: for one
// tap (ky, kx) whether a pixel's window reaches outside the image does not depend on it.
@compute @workgroup_size(8)
fn conv_forward_cpu(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
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
  let wOwn = ownRows(&wRow, li);
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
        // (With FLIP the offset may wrap below 0 as a u32; adding it to a row wraps back.)
        let w = tileColumn(&wRow, wOwn, select(c * cStride + t, c * cStride - t, FLIP));
        for (var i = 0u; i < 16u; i++) {
          acc[2u * i] = fma(vec4f(w[i]), v0, acc[2u * i]);
          acc[2u * i + 1u] = fma(vec4f(w[i]), v1, acc[2u * i + 1u]);
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
fn conv_weight_grad_cpu(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
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
  let aOwn = ownRows(&aRow, li);
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
      let a = tileColumn(&aRow, aOwn, aBase + ox);
      for (var i = 0u; i < 16u; i++) {
        acc[2u * i] = fma(vec4f(a[i]), v0, acc[2u * i]);
        acc[2u * i + 1u] = fma(vec4f(a[i]), v1, acc[2u * i + 1u]);
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

// conv_transpose_forward for CPU adapters (see conv_forward_cpu): invocation `li` of workgroup
// (x, y, z) computes GEMM rows 16y … 16y + 15 (row = (o, ky, kx)) at the 8 input pixels
// 64x + li + 8j (j < 8) of image z.
@compute @workgroup_size(8)
fn conv_transpose_forward_cpu(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let img = convT.batch0 + wid.z;
  let area = convT.KH * convT.KW;
  let M = convT.O * area;
  let N = convT.H * convT.W;
  var col: array<u32, 8>;
  for (var j = 0u; j < 8u; j++) { col[j] = min(wid.x * 64u + li + 8u * j, N - 1u); }
  var row: array<u32, 16>;
  for (var i = 0u; i < 16u; i++) { row[i] = min(wid.y * 16u + i, M - 1u); }
  let own = ownRows(&row, li);
  var acc: array<vec4f, 32>;  // row i: pixels j < 4 in acc[2i], the others in acc[2i + 1]
  for (var c = 0u; c < convT.C; c++) {
    let plane = (img * convT.C + c) * N;
    let v0 = vec4f(X[plane + col[0]], X[plane + col[1]], X[plane + col[2]], X[plane + col[3]]);
    let v1 = vec4f(X[plane + col[4]], X[plane + col[5]], X[plane + col[6]], X[plane + col[7]]);
    let w = tileColumn(&row, own, c * M);
    for (var i = 0u; i < 16u; i++) {
      acc[2u * i] = fma(vec4f(w[i]), v0, acc[2u * i]);
      acc[2u * i + 1u] = fma(vec4f(w[i]), v1, acc[2u * i + 1u]);
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
