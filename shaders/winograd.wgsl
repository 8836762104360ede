// Winograd F(m×m, 3×3), m = 2 or 4 (F4): the transforms around a 3×3, stride-1, pad-1
// convolution done as n² independent matrix products, n = m + 2 (src/ops/winograd.ts runs the
// products with matmul). With the output cut into m×m tiles, tile t of output channel o is
//     Y = Aᵀ [ Σ_c (G g[o, c] Gᵀ) ⊙ (Bᵀ d[c, t] B) ] A
// where d[c, t] is the n×n input patch around the tile (zero outside the image) and ⊙ multiplies
// element by element: for each of the n² elements ξ the sum over c is a product
// U[ξ] [O, C] · V[ξ] [C, tiles]: n² multiply-adds per m² outputs and input channel instead of 9·m²
// (2.25× fewer for m = 2, 4× for m = 4). The matrices (Lavin & Gray, 2016), for m = 2:
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]   G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
//   Aᵀ = [1 1 1 0; 0 1 −1 −1]
// and for m = 4 (interpolation points 0, ±1, ±2, ∞):
//   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
//   G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1]
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
// The weight gradient is the transpose of that linear map (the dual F(3×3, m×m)):
//     dg[o, c] = Gᵀ [ Σ_t (A dy[o, t] Aᵀ) ⊙ (Bᵀ d[c, t] B) ] G
// again n² products, dZ[ξ] [O, tiles] · V[ξ] [C, tiles]ᵀ.
//
// Transformed tensors are [n², channels, tileCols]: element ξ = n·i + j of the n×n tile, channel,
// tile. Tiles are numbered over the whole batch (image, tile row, tile column); a dispatch covers
// the tiles t0 .. t0 + tileCols − 1 (the host splits the batch to keep a binding under the device's
// limit) and tiles past the last real one read as zeros, so tileCols can be a multiple of 4 (the
// vec4 matmul kernel's condition).
//   weight_transform         U[ξ, o, c] = (G g[o, c] Gᵀ)[ξ]; with FLIP U[ξ, c, o] of g rotated 180°
//                            (the input gradient is the same conv of dy with that weight)
//   input_transform          V[ξ, c, t] = (Bᵀ d[c, t] B)[ξ]
//   output_transform         out[b, o, m·ty + i, m·tx + j] = (Aᵀ M[·, o, t] A)[i, j] (+ bias[o])
//   grad_output_transform    dZ[ξ, o, t] = (A dy[o, t] Aᵀ)[ξ]
//   weight_grad_transform    dW[o, c] (+)= Gᵀ dU[·, o, c] G, 3×3 (ACCUMULATE adds to dW)
// Invocations work on one (channel, tile) or (row, column) pair each; tiles run along x, so
// neighbouring lanes read and write neighbouring transformed elements. Every matrix is applied as
// straight-line code on each column and then on each row; the loops run to pipeline constants, so
// the compiler can unroll them and keep the tiles in registers.

override F4: bool = false;
override FLIP: bool = false;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

// The output tile edge m and the input tile edge n = m + 2.
override M_TILE = select(2u, 4u, F4);
override N_TILE = M_TILE + 2u;

struct Wino {
  channels: u32,  // channels of the tensor transformed (or read back, for output_transform)
  H: u32,         // image height and width (the conv's input and output)
  W: u32,
  tilesW: u32,    // ⌈W / m⌉
  tilesImage: u32,// ⌈H / m⌉·⌈W / m⌉
  tiles: u32,     // real tiles in the batch
  t0: u32,        // first tile of this dispatch
  tileCols: u32,  // tiles per row of the transformed matrices (a multiple of 4, ≥ the tiles covered)
  rows: u32,      // weight transforms: the other channel count (O for U[ξ, o, c])
}

@group(0) @binding(0) var<uniform> wino: Wino;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;

// An n-vector (the first n of 6 values) and an n×n tile as rows; m-vectors are vec4s.
alias Vec6 = array<f32, 6>;
alias Tile6 = array<Vec6, 6>;

// Bᵀ v.
fn applyBT(v: Vec6) -> Vec6 {
  if (F4) {
    return Vec6(4.0 * v[0] - 5.0 * v[2] + v[4], v[3] + v[4] - 4.0 * (v[1] + v[2]), 4.0 * (v[1] - v[2]) + v[4] - v[3],
                2.0 * (v[3] - v[1]) + v[4] - v[2], 2.0 * (v[1] - v[3]) + v[4] - v[2], 4.0 * v[1] - 5.0 * v[3] + v[5]);
  }
  return Vec6(v[0] - v[2], v[1] + v[2], v[2] - v[1], v[1] - v[3], 0.0, 0.0);
}

// G v for a 3-vector v.
fn applyG(v: vec3f) -> Vec6 {
  if (F4) {
    return Vec6(v.x / 4.0, -(v.x + v.y + v.z) / 6.0, (v.y - v.x - v.z) / 6.0,
                v.x / 24.0 + v.y / 12.0 + v.z / 6.0, v.x / 24.0 - v.y / 12.0 + v.z / 6.0, v.z);
  }
  return Vec6(v.x, 0.5 * (v.x + v.y + v.z), 0.5 * (v.x - v.y + v.z), v.z, 0.0, 0.0);
}

// Gᵀ v: 3 values.
fn applyGT(v: Vec6) -> vec3f {
  if (F4) {
    return vec3f(v[0] / 4.0 - (v[1] + v[2]) / 6.0 + (v[3] + v[4]) / 24.0, (v[2] - v[1]) / 6.0 + (v[3] - v[4]) / 12.0,
                 (v[3] + v[4] - v[1] - v[2]) / 6.0 + v[5]);
  }
  return vec3f(v[0] + 0.5 * (v[1] + v[2]), 0.5 * (v[1] - v[2]), 0.5 * (v[1] + v[2]) + v[3]);
}

// Aᵀ v: m values.
fn applyAT(v: Vec6) -> vec4f {
  if (F4) {
    return vec4f(v[0] + v[1] + v[2] + v[3] + v[4], v[1] - v[2] + 2.0 * (v[3] - v[4]),
                 v[1] + v[2] + 4.0 * (v[3] + v[4]), v[1] - v[2] + 8.0 * (v[3] - v[4]) + v[5]);
  }
  return vec4f(v[0] + v[1] + v[2], v[1] - v[2] - v[3], 0.0, 0.0);
}

// A v for an m-vector v.
fn applyA(v: vec4f) -> Vec6 {
  if (F4) {
    return Vec6(v.x, v.x + v.y + v.z + v.w, v.x - v.y + v.z - v.w,
                v.x + 2.0 * v.y + 4.0 * v.z + 8.0 * v.w, v.x - 2.0 * v.y + 4.0 * v.z - 8.0 * v.w, v.w);
  }
  return Vec6(v.x, v.x + v.y, v.x - v.y, -v.y, 0.0, 0.0);
}

// The image pixel (image, channel, y, x), 0 outside the image.
fn pixel(base: u32, y: i32, x: i32) -> f32 {
  if (y < 0 || y >= i32(wino.H) || x < 0 || x >= i32(wino.W)) { return 0.0; }
  return src[base + u32(y) * wino.W + u32(x)];
}

// The tile's image, and its top-left output pixel.
struct Tile { image: u32, y: i32, x: i32 }

fn tileAt(t: u32) -> Tile {
  let r = t % wino.tilesImage;
  return Tile(t / wino.tilesImage, i32(M_TILE * (r / wino.tilesW)), i32(M_TILE * (r % wino.tilesW)));
}

// Element ξ = n·i + j of a transformed tile is at ξ·stride + at.
fn loadTransformed(stride: u32, at: u32) -> Tile6 {
  var m: Tile6;
  for (var i = 0u; i < N_TILE; i++) {
    for (var j = 0u; j < N_TILE; j++) { m[i][j] = src[(N_TILE * i + j) * stride + at]; }
  }
  return m;
}

fn storeTransformed(stride: u32, at: u32, m: Tile6) {
  for (var i = 0u; i < N_TILE; i++) {
    for (var j = 0u; j < N_TILE; j++) { dst[(N_TILE * i + j) * stride + at] = m[i][j]; }
  }
}

// Column j of an n×n tile.
fn column(m: Tile6, j: u32) -> Vec6 {
  return Vec6(m[0][j], m[1][j], m[2][j], m[3][j], m[4][j], m[5][j]);
}

@compute @workgroup_size(64)
fn input_transform(@builtin(global_invocation_id) id: vec3u) {
  let col = id.x;
  let c = id.y;
  if (col >= wino.tileCols || c >= wino.channels) { return; }
  let t = wino.t0 + col;
  var d: Tile6;  // d[i] = row i of the patch
  if (t < wino.tiles) {
    let tile = tileAt(t);
    let base = (tile.image * wino.channels + c) * wino.H * wino.W;
    for (var i = 0u; i < N_TILE; i++) {
      for (var j = 0u; j < N_TILE; j++) { d[i][j] = pixel(base, tile.y - 1 + i32(i), tile.x - 1 + i32(j)); }
    }
  }
  // Bᵀ d column by column, then each row times B (Bᵀ applied to the row).
  var e: Tile6;
  for (var j = 0u; j < N_TILE; j++) {
    let v = applyBT(column(d, j));
    for (var i = 0u; i < N_TILE; i++) { e[i][j] = v[i]; }
  }
  for (var i = 0u; i < N_TILE; i++) { e[i] = applyBT(e[i]); }
  storeTransformed(wino.channels * wino.tileCols, c * wino.tileCols + col, e);
}

@compute @workgroup_size(64)
fn output_transform(@builtin(global_invocation_id) id: vec3u) {
  let col = id.x;
  let o = id.y;
  let t = wino.t0 + col;
  if (col >= wino.tileCols || t >= wino.tiles || o >= wino.channels) { return; }
  let m = loadTransformed(wino.channels * wino.tileCols, o * wino.tileCols + col);
  // Aᵀ m column by column (m rows), then each row times A.
  var r: Tile6;
  for (var j = 0u; j < N_TILE; j++) {
    let v = applyAT(column(m, j));
    for (var i = 0u; i < M_TILE; i++) { r[i][j] = v[i]; }
  }
  let b = select(0.0, bias[o], HAS_BIAS);
  let tile = tileAt(t);
  let base = (tile.image * wino.channels + o) * wino.H * wino.W;
  for (var i = 0u; i < M_TILE; i++) {
    let y = applyAT(r[i]);
    let oy = u32(tile.y) + i;
    for (var j = 0u; j < M_TILE; j++) {
      let ox = u32(tile.x) + j;
      if (oy < wino.H && ox < wino.W) { dst[base + oy * wino.W + ox] = y[j] + b; }
    }
  }
}

@compute @workgroup_size(64)
fn grad_output_transform(@builtin(global_invocation_id) id: vec3u) {
  let col = id.x;
  let o = id.y;
  if (col >= wino.tileCols || o >= wino.channels) { return; }
  let t = wino.t0 + col;
  var g: array<vec4f, 4>;  // g[i] = row i of the m×m output-gradient tile
  if (t < wino.tiles) {
    let tile = tileAt(t);
    let base = (tile.image * wino.channels + o) * wino.H * wino.W;
    for (var i = 0u; i < M_TILE; i++) {
      for (var j = 0u; j < M_TILE; j++) { g[i][j] = pixel(base, tile.y + i32(i), tile.x + i32(j)); }
    }
  }
  // A g column by column (n rows), then each row times Aᵀ (A applied to the row).
  var rows: array<vec4f, 6>;
  for (var j = 0u; j < M_TILE; j++) {
    let v = applyA(vec4f(g[0][j], g[1][j], g[2][j], g[3][j]));
    for (var i = 0u; i < N_TILE; i++) { rows[i][j] = v[i]; }
  }
  var z: Tile6;
  for (var i = 0u; i < N_TILE; i++) { z[i] = applyA(rows[i]); }
  storeTransformed(wino.channels * wino.tileCols, o * wino.tileCols + col, z);
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
  // G g column by column (n rows), then each row times Gᵀ (G applied to the row).
  var rows: array<vec3f, 6>;
  for (var j = 0u; j < 3u; j++) {
    let v = applyG(vec3f(g[0][j], g[1][j], g[2][j]));
    for (var i = 0u; i < N_TILE; i++) { rows[i][j] = v[i]; }
  }
  var u: Tile6;
  for (var i = 0u; i < N_TILE; i++) { u[i] = applyG(rows[i]); }
  storeTransformed(O * C, select(o * C + c, c * O + o, FLIP), u);
}

@compute @workgroup_size(64)
fn weight_grad_transform(@builtin(global_invocation_id) id: vec3u) {
  let c = id.x;
  let o = id.y;
  let C = wino.channels;
  let O = wino.rows;
  if (c >= C || o >= O) { return; }
  let at = o * C + c;
  let u = loadTransformed(O * C, at);
  // Gᵀ u column by column (3 rows), then each row times G (Gᵀ applied to the row).
  var r: array<Vec6, 3>;
  for (var j = 0u; j < N_TILE; j++) {
    let v = applyGT(column(u, j));
    for (var i = 0u; i < 3u; i++) { r[i][j] = v[i]; }
  }
  for (var i = 0u; i < 3u; i++) {
    let v = applyGT(r[i]);
    for (var j = 0u; j < 3u; j++) {
      let k = at * 9u + 3u * i + j;
      if (ACCUMULATE) { dst[k] += v[j]; } else { dst[k] = v[j]; }
    }
  }
}
