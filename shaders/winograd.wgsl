// Winograd F(2×2, 3×3): the transforms around a 3×3, stride-1, pad-1 convolution done as 16
// independent matrix products (src/ops/winograd.ts runs the products with matmul). With the
// output cut into 2×2 tiles, tile t of output channel o is
//     Y = Aᵀ [ Σ_c (G g[o, c] Gᵀ) ⊙ (Bᵀ d[c, t] B) ] A
// where d[c, t] is the 4×4 input patch around the tile (zero outside the image) and ⊙ multiplies
// element by element: for each of the 16 elements ξ the sum over c is a product
// U[ξ] [O, C] · V[ξ] [C, tiles], 2.25× fewer multiply-adds than the direct conv's 9 per output.
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]   G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
//   Aᵀ = [1 1 1 0; 0 1 −1 −1]                        (Lavin & Gray, 2016)
// The weight gradient is the transpose of that linear map (the dual F(3×3, 2×2)):
//     dg[o, c] = Gᵀ [ Σ_t (A dy[o, t] Aᵀ) ⊙ (Bᵀ d[c, t] B) ] G
// again 16 products, dZ[ξ] [O, tiles] · V[ξ] [C, tiles]ᵀ.
//
// Transformed tensors are [16, channels, tileCols]: element ξ = 4i + j of the 4×4 tile, channel,
// tile. Tiles are numbered over the whole batch (image, tile row, tile column); a dispatch covers
// the tiles t0 .. t0 + tileCols − 1 (the host splits the batch to keep a binding under the device's
// limit) and tiles past the last real one read as zeros, so tileCols can be a multiple of 4 (the
// vec4 matmul kernel's condition).
//   weight_transform         U[ξ, o, c] = (G g[o, c] Gᵀ)[ξ]; with FLIP U[ξ, c, o] of g rotated 180°
//                            (the input gradient is the same conv of dy with that weight)
//   input_transform          V[ξ, c, t] = (Bᵀ d[c, t] B)[ξ]
//   output_transform         out[b, o, 2ty + i, 2tx + j] = (Aᵀ M[·, o, t] A)[i, j] (+ bias[o])
//   grad_output_transform    dZ[ξ, o, t] = (A dy[o, t] Aᵀ)[ξ]
//   weight_grad_transform    dW[o, c] (+)= Gᵀ dU[·, o, c] G, 3×3 (ACCUMULATE adds to dW)
// Invocations work on one (channel, tile) or (row, column) pair each; tiles run along x, so
// neighbouring lanes read and write neighbouring transformed elements.

override FLIP: bool = false;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

struct Wino {
  channels: u32,  // channels of the tensor transformed (or read back, for output_transform)
  H: u32,         // image height and width (the conv's input and output)
  W: u32,
  tilesW: u32,    // ⌈W / 2⌉
  tilesImage: u32,// ⌈H / 2⌉·⌈W / 2⌉
  tiles: u32,     // real tiles in the batch
  t0: u32,        // first tile of this dispatch
  tileCols: u32,  // tiles per row of the transformed matrices (a multiple of 4, ≥ the tiles covered)
  rows: u32,      // weight transforms: the other channel count (O for U[ξ, o, c])
}

@group(0) @binding(0) var<uniform> wino: Wino;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;

// The image pixel (image, channel, y, x), 0 outside the image.
fn pixel(base: u32, y: i32, x: i32) -> f32 {
  if (y < 0 || y >= i32(wino.H) || x < 0 || x >= i32(wino.W)) { return 0.0; }
  return src[base + u32(y) * wino.W + u32(x)];
}

// The tile's image, and its top-left output pixel.
struct Tile { image: u32, y: i32, x: i32 }

fn tileAt(t: u32) -> Tile {
  let r = t % wino.tilesImage;
  return Tile(t / wino.tilesImage, i32(2u * (r / wino.tilesW)), i32(2u * (r % wino.tilesW)));
}

// Element ξ = 4i + j of a transformed tile is at ξ·stride + at: row i of the 4×4 tile is m[i].
fn loadTransformed(stride: u32, at: u32) -> mat4x4f {
  var m: mat4x4f;
  for (var i = 0u; i < 4u; i++) {
    m[i] = vec4f(src[(4u * i) * stride + at], src[(4u * i + 1u) * stride + at],
                 src[(4u * i + 2u) * stride + at], src[(4u * i + 3u) * stride + at]);
  }
  return m;
}

fn storeTransformed(stride: u32, at: u32, m: mat4x4f) {
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) { dst[(4u * i + j) * stride + at] = m[i][j]; }
  }
}

// Bᵀ v for a column v of the 4×4 tile (and, applied to rows, d B).
fn bt(v: vec4f) -> vec4f {
  return vec4f(v.x - v.z, v.y + v.z, v.z - v.y, v.y - v.w);
}

@compute @workgroup_size(64)
fn input_transform(@builtin(global_invocation_id) id: vec3u) {
  let col = id.x;
  let c = id.y;
  if (col >= wino.tileCols || c >= wino.channels) { return; }
  let t = wino.t0 + col;
  var d: mat4x4f;  // d[i] = row i of the patch
  if (t < wino.tiles) {
    let tile = tileAt(t);
    let base = (tile.image * wino.channels + c) * wino.H * wino.W;
    for (var i = 0; i < 4; i++) {
      let y = tile.y - 1 + i;
      d[i] = vec4f(pixel(base, y, tile.x - 1), pixel(base, y, tile.x), pixel(base, y, tile.x + 1), pixel(base, y, tile.x + 2));
    }
  }
  // Rows: e = Bᵀ d (mixing rows), then each row times B (mixing columns).
  let e = mat4x4f(d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]);
  storeTransformed(wino.channels * wino.tileCols, c * wino.tileCols + col, mat4x4f(bt(e[0]), bt(e[1]), bt(e[2]), bt(e[3])));
}

@compute @workgroup_size(64)
fn output_transform(@builtin(global_invocation_id) id: vec3u) {
  let col = id.x;
  let o = id.y;
  let t = wino.t0 + col;
  if (col >= wino.tileCols || t >= wino.tiles || o >= wino.channels) { return; }
  let m = loadTransformed(wino.channels * wino.tileCols, o * wino.tileCols + col);
  // m[i] = row i of the 4×4 product tile. Aᵀ m: two rows; then each times A: two columns.
  let r0 = m[0] + m[1] + m[2];
  let r1 = m[1] - m[2] - m[3];
  let y = mat2x2f(vec2f(r0.x + r0.y + r0.z, r0.y - r0.z - r0.w), vec2f(r1.x + r1.y + r1.z, r1.y - r1.z - r1.w));
  let b = select(0.0, bias[o], HAS_BIAS);
  let tile = tileAt(t);
  let base = (tile.image * wino.channels + o) * wino.H * wino.W;
  for (var i = 0u; i < 2u; i++) {
    let oy = u32(tile.y) + i;
    if (oy >= wino.H) { break; }
    for (var j = 0u; j < 2u; j++) {
      let ox = u32(tile.x) + j;
      if (ox < wino.W) { dst[base + oy * wino.W + ox] = y[i][j] + b; }
    }
  }
}

@compute @workgroup_size(64)
fn grad_output_transform(@builtin(global_invocation_id) id: vec3u) {
  let col = id.x;
  let o = id.y;
  if (col >= wino.tileCols || o >= wino.channels) { return; }
  let t = wino.t0 + col;
  var g = mat2x2f();  // g[i] = row i of the 2×2 output-gradient tile
  if (t < wino.tiles) {
    let tile = tileAt(t);
    let base = (tile.image * wino.channels + o) * wino.H * wino.W;
    g = mat2x2f(vec2f(pixel(base, tile.y, tile.x), pixel(base, tile.y, tile.x + 1)),
                vec2f(pixel(base, tile.y + 1, tile.x), pixel(base, tile.y + 1, tile.x + 1)));
  }
  // A g: four rows (A = [1 0; 1 1; 1 −1; 0 −1]); then each row times Aᵀ: four columns.
  storeTransformed(wino.channels * wino.tileCols, o * wino.tileCols + col,
                   mat4x4f(at2(g[0]), at2(g[0] + g[1]), at2(g[0] - g[1]), at2(-g[1])));
}

// A r for a row r of the 2×2 output-gradient tile, as a row of A g Aᵀ.
fn at2(r: vec2f) -> vec4f {
  return vec4f(r.x, r.x + r.y, r.x - r.y, -r.y);
}

// Weight transforms: invocation (c, o) of the weight g [O, C, 3, 3] (O = wino.rows, C = wino.channels).
@compute @workgroup_size(64)
fn weight_transform(@builtin(global_invocation_id) id: vec3u) {
  let c = id.x;
  let o = id.y;
  let C = wino.channels;
  let O = wino.rows;
  if (c >= C || o >= O) { return; }
  let base = (o * C + c) * 9u;
  var g: mat3x3f;  // g[i] = row i of the 3×3 kernel, rotated 180° with FLIP
  for (var i = 0u; i < 3u; i++) {
    let r = vec3f(src[base + 3u * i], src[base + 3u * i + 1u], src[base + 3u * i + 2u]);
    if (FLIP) { g[2u - i] = r.zyx; } else { g[i] = r; }
  }
  // G g: four rows; then each row times Gᵀ: four columns.
  storeTransformed(O * C, select(o * C + c, c * O + o, FLIP),
                   mat4x4f(g3(g[0]), g3(0.5 * (g[0] + g[1] + g[2])), g3(0.5 * (g[0] - g[1] + g[2])), g3(g[2])));
}

// G r for a row r of the 3×3 kernel, as a row of G g Gᵀ.
fn g3(r: vec3f) -> vec4f {
  return vec4f(r.x, 0.5 * (r.x + r.y + r.z), 0.5 * (r.x - r.y + r.z), r.z);
}

@compute @workgroup_size(64)
fn weight_grad_transform(@builtin(global_invocation_id) id: vec3u) {
  let c = id.x;
  let o = id.y;
  let C = wino.channels;
  let O = wino.rows;
  if (c >= C || o >= O) { return; }
  let at = o * C + c;
  let u = loadTransformed(O * C, at);  // u[i] = row i of the 4×4 gradient tile dU
  // Gᵀ u: three rows (Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1]); then each times G: three columns.
  let rows = array<vec4f, 3>(u[0] + 0.5 * (u[1] + u[2]), 0.5 * (u[1] - u[2]), 0.5 * (u[1] + u[2]) + u[3]);
  let base = at * 9u;
  for (var i = 0u; i < 3u; i++) {
    let r = rows[i];
    let v = vec3f(r.x + 0.5 * (r.y + r.z), 0.5 * (r.y - r.z), 0.5 * (r.y + r.z) + r.w);
    for (var j = 0u; j < 3u; j++) {
      let k = base + 3u * i + j;
      if (ACCUMULATE) { dst[k] += v[j]; } else { dst[k] = v[j]; }
    }
  }
}
