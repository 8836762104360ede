// CPU references of the convolutions (src/ops/conv.ts, shaders/conv.wgsl, shaders/conv-subgroups.wgsl):
// the textbook f64 loops, straight from PyTorch's definitions.

/** Conv2d, stride 1: out[b, o, y, x] = bias[o] + Σ w[o, c, ky, kx] · x[b, c, y + ky − p, x + kx − p] (zero outside). */
export function conv2dRef(
  x: Float64Array, w: Float64Array, bias: Float64Array | undefined,
  [B, C, H, W]: number[], [O, KH, KW]: number[], pad: number,
): Float64Array {
  const OH = H + 2 * pad - KH + 1, OW = W + 2 * pad - KW + 1;
  const out = new Float64Array(B * O * OH * OW);
  // Each weight tap adds its product to every output whose window puts that tap inside the image;
  // the loops over pixels are clamped to those outputs (the finite differences call this often).
  for (let b = 0; b < B; b++) for (let o = 0; o < O; o++) {
    const plane = out.subarray((b * O + o) * OH * OW, (b * O + o + 1) * OH * OW);
    plane.fill(bias ? bias[o] : 0);
    for (let c = 0; c < C; c++) for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
      const wv = w[((o * C + c) * KH + ky) * KW + kx];
      for (let oy = Math.max(0, pad - ky); oy < Math.min(OH, H + pad - ky); oy++) {
        const row = ((b * C + c) * H + oy + ky - pad) * W - pad + kx;
        for (let ox = Math.max(0, pad - kx); ox < Math.min(OW, W + pad - kx); ox++) plane[oy * OW + ox] += wv * x[row + ox];
      }
    }
  }
  return out;
}

/** The adjoint of conv2dRef's loop: gradients of Σ g · conv2d(x, w, bias). */
export function conv2dGradRef(
  x: ArrayLike<number>, w: ArrayLike<number>, g: ArrayLike<number>,
  [B, C, H, W]: number[], [O, KH, KW]: number[], pad: number,
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const OH = H + 2 * pad - KH + 1, OW = W + 2 * pad - KW + 1;
  const dx = new Float64Array(B * C * H * W), dw = new Float64Array(O * C * KH * KW), db = new Float64Array(O);
  for (let b = 0; b < B; b++) for (let o = 0; o < O; o++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    const gv = g[((b * O + o) * OH + oy) * OW + ox];
    db[o] += gv;
    for (let c = 0; c < C; c++) for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
      const y = oy + ky - pad, xx = ox + kx - pad;
      if (y < 0 || y >= H || xx < 0 || xx >= W) continue;
      const wi = ((o * C + c) * KH + ky) * KW + kx, xi = ((b * C + c) * H + y) * W + xx;
      dx[xi] += gv * w[wi];
      dw[wi] += gv * x[xi];
    }
  }
  return { dx, dw, db };
}

/** Conv3d with kernel = stride = (D, PH, PW): out[b, e, 0, i, j] = bias[e] + Σ w[e, c, d, ky, kx] · x[b, c, d, i·PH + ky, j·PW + kx]. */
export function patchEmbedRef(
  x: Float64Array, w: Float64Array, bias: Float64Array,
  [B, C, D, H, W]: number[], [E, PH, PW]: number[],
): Float64Array {
  const OH = H / PH, OW = W / PW;
  const out = new Float64Array(B * E * OH * OW);
  for (let b = 0; b < B; b++) for (let e = 0; e < E; e++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    let s = bias[e];
    for (let c = 0; c < C; c++) for (let d = 0; d < D; d++) for (let ky = 0; ky < PH; ky++) for (let kx = 0; kx < PW; kx++) {
      s += w[(((e * C + c) * D + d) * PH + ky) * PW + kx] * x[(((b * C + c) * D + d) * H + i * PH + ky) * W + j * PW + kx];
    }
    out[((b * E + e) * OH + i) * OW + j] = s;
  }
  return out;
}

/** ConvTranspose2d with kernel = stride: out[b, o, i·KH + ky, j·KW + kx] = bias[o] + Σ_c x[b, c, i, j] · w[c, o, ky, kx]. */
export function convTransposeRef(
  x: Float64Array, w: Float64Array, bias: Float64Array | undefined,
  [B, C, H, W]: number[], [O, KH, KW]: number[],
): Float64Array {
  const OH = H * KH, OW = W * KW;
  const out = new Float64Array(B * O * OH * OW);
  for (let b = 0; b < B; b++) for (let o = 0; o < O; o++) for (let y = 0; y < OH; y++) for (let xx = 0; xx < OW; xx++) {
    out[((b * O + o) * OH + y) * OW + xx] = bias ? bias[o] : 0;
  }
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
    for (let o = 0; o < O; o++) for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
      out[((b * O + o) * OH + i * KH + ky) * OW + j * KW + kx] +=
        x[((b * C + c) * H + i) * W + j] * w[((c * O + o) * KH + ky) * KW + kx];
    }
  }
  return out;
}
