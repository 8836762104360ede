// Elementwise kernels: binary arithmetic with NumPy broadcasting, the broadcast copy (the adjoint
// of a sum), and the unary ops with their derivatives. All use a 1-D grid of 256-wide workgroups
// that may be split over (x, y) when it exceeds 65535 workgroups.
//
// Broadcasting: the output's index space is described by up to 8 dimensions (after the host has
// merged dimensions that every operand walks contiguously) and, per operand, a stride along each
// dimension; a broadcast dimension has stride 0. Their number is the override constant RANK, so the
// loop over them unrolls and its uniform loads have constant addresses (on lavapipe, one load per
// SIMD vector instead of one per lane).
//
// The `_vec4` twins do the same work four elements at a time. The host picks them where every
// operand walks the innermost dimension contiguously and sizes, strides and offsets split into
// whole vec4s (counted in vec4s for the strided ones); on lavapipe a vec4 load costs about what a
// scalar one does.

override OP: u32 = 0u;
override RANK: u32 = 1u;

// Binary ops (entry `binary`).
const ADD = 0u;
const SUB = 1u;
const MUL = 2u;
const DIV = 3u;

// Unary ops (entries `unary` and `unary_grad`); the numbering matches src/ops/elementwise.ts.
const SCALE = 0u;
const ADD_SCALAR = 1u;
const NEG = 2u;
const RELU = 3u;
const GELU = 4u;
const EXP = 5u;
const LOG = 6u;
const SQRT = 7u;
const SQUARE = 8u;

const SQRT1_2 = 0.70710678118654752;      // 1/√2
const INV_SQRT_2PI = 0.39894228040143268; // 1/√(2π)
const INV_SQRT_PI = 0.56418958354775629;  // 1/√π

fn linearIndex(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * 256u + lid;
}

// ---------------------------------------------------------------------------------------------
// Strided kernels: `binary` and `broadcast`.

struct Strided {
  shape: array<vec4u, 2>,   // sizes of the (merged) output dimensions, outermost first
  strideA: array<vec4u, 2>, // elements of operand a per step along each dimension
  strideB: array<vec4u, 2>, // the same for operand b (unused by `broadcast`)
  n: u32,                   // output elements (vec4s for `binary_vec4`)
  alpha: f32,               // `broadcast` multiplies by it (1/count for a mean's gradient)
}

@group(0) @binding(0) var<uniform> sp: Strided;

fn at(v: array<vec4u, 2>, k: u32) -> u32 {
  return v[k / 4u][k % 4u];
}

// Offsets of output element i in operand a (.x) and operand b (.y): peel i's coordinates off from
// the innermost dimension outwards and weight each by the operand's stride.
fn offsets(i: u32) -> vec2u {
  var rest = i;
  var off = vec2u(0u);
  for (var d = RANK; d > 0u; d--) {
    let size = at(sp.shape, d - 1u);
    let c = rest % size;
    rest /= size;
    off += c * vec2u(at(sp.strideA, d - 1u), at(sp.strideB, d - 1u));
  }
  return off;
}

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

fn binaryOp(x: vec4f, y: vec4f) -> vec4f {
  switch OP {
    case ADD: { return x + y; }
    case SUB: { return x - y; }
    case MUL: { return x * y; }
    case DIV: { return x / y; }
    default: { return vec4f(0.0); }
  }
}

@compute @workgroup_size(256)
fn binary(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) lid: u32) {
  let i = linearIndex(wid, nwg, lid);
  if (i >= sp.n) { return; }
  let off = offsets(i);
  c[i] = binaryOp(vec4f(a[off.x]), vec4f(b[off.y])).x; // one op for both kernels; unused lanes fold away
}

@group(0) @binding(1) var<storage, read> a4: array<vec4f>;
@group(0) @binding(2) var<storage, read> b4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> c4: array<vec4f>;

@compute @workgroup_size(256)
fn binary_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let i = linearIndex(wid, nwg, lid);
  if (i >= sp.n) { return; }
  let off = offsets(i);
  c4[i] = binaryOp(a4[off.x], b4[off.y]);
}

@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn broadcast(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let i = linearIndex(wid, nwg, lid);
  if (i >= sp.n) { return; }
  dst[i] = sp.alpha * src[offsets(i).x];
}

// ---------------------------------------------------------------------------------------------
// Unary kernels over contiguous arrays.

struct Flat {
  n: u32, // elements (vec4s for the `_vec4` twins)
  s: f32, // the scalar of `scale` and `addScalar`
}

@group(0) @binding(0) var<uniform> fp: Flat;

// ---- Φ, the standard normal CDF, for GELU -----------------------------------------------------
// Φ(x) = ½·(1 + erf(x/√2)) = ½·erfc(-x/√2), from W. J. Cody's rational Chebyshev approximations
// ("Rational Chebyshev approximations for the error function", Math. Comp. 23, 1969, arranged as
// in his CALERF; the coefficients are good to 18 digits). Two choices keep f32 accurate to a few
// ulps, relative, wherever the device's exp is:
// - away from 0, Φ(-|x|) = ½·erfc(|x|/√2) is computed directly, never as 1 + erf, which cancels
//   in the left tail;
// - erfc(y) = e^{-y²}·R(y) takes e^{-y²} = e^{-x²/2} from x itself (`gaussian`), so the rounding
//   of x/√2 is not magnified by the exponential.

// e^{-x²/2} without the rounding error of x², which exp would multiply by x²/2: with t = x cut to
// sixteenths, t² is exact in f32 and x² = t² + (x - t)(x + t).
fn gaussian(x: f32) -> f32 {
  let t = trunc(x * 16.0) / 16.0;
  return exp(-0.5 * t * t) * exp(-0.5 * (x - t) * (x + t));
}

// erf(z) = z·P(z²)/Q(z²) for |z| <= 0.46875.
fn erfSmall(z: f32) -> f32 {
  let w = z * z;
  let p = (((0.185777706184603153 * w + 3.16112374387056560) * w + 113.864154151050156) * w
           + 377.485237685302021) * w + 3209.37758913846947;
  let q = (((w + 23.6012909523441209) * w + 244.024637934444173) * w + 1282.61652607737228) * w
          + 2844.23683343917062;
  return z * p / q;
}

// e^{y²}·erfc(y) for 0.46875 < y.
fn erfcScaled(y: f32) -> f32 {
  if (y <= 4.0) {
    let p = (((((((2.15311535474403846e-8 * y + 0.564188496988670089) * y + 8.88314979438837594) * y
             + 66.1191906371416295) * y + 298.635138197400131) * y + 881.95222124176909) * y
             + 1712.04761263407058) * y + 2051.07837782607147) * y + 1230.33935479799725;
    let q = (((((((y + 15.7449261107098347) * y + 117.693950891312499) * y + 537.181101862009858) * y
             + 1621.38957456669019) * y + 3290.79923573345963) * y + 4362.61909014324716) * y
             + 3439.36767414372164) * y + 1230.33935480374942;
    return p / q;
  }
  // (1/√π - w·P(w)/Q(w))/y with w = 1/y²
  let w = 1.0 / (y * y);
  let p = ((((0.0163153871373020978 * w + 0.305326634961232344) * w + 0.360344899949804439) * w
           + 0.125781726111229246) * w + 0.0160837851487422766) * w + 6.58749161529837803e-4;
  let q = ((((w + 2.56852019228982242) * w + 1.87295284992346047) * w + 0.527905102951428412) * w
          + 0.0605183413124413191) * w + 0.00233520497626869185;
  return (INV_SQRT_PI - w * p / q) / y;
}

fn normalCdf(x: f32) -> f32 {
  let y = abs(x) * SQRT1_2;
  if (y <= 0.46875) { return 0.5 + 0.5 * erfSmall(x * SQRT1_2); }
  if (y >= 10.0) { return select(1.0, 0.0, x < 0.0); } // Φ(-14.1) ≈ 1e-45: below every f32
  let tail = 0.5 * erfcScaled(y) * gaussian(x);          // Φ(-|x|)
  return select(1.0 - tail, tail, x < 0.0);
}

fn unaryOp(x: f32) -> f32 {
  switch OP {
    case SCALE: { return x * fp.s; }
    case ADD_SCALAR: { return x + fp.s; }
    case NEG: { return -x; }
    case RELU: { return select(x, 0.0, x <= 0.0); }   // NaN passes through, as in PyTorch
    case GELU: { return x * normalCdf(x); }           // = 0.5·x·(1 + erf(x/√2))
    case EXP: { return exp(x); }
    case LOG: { return log(x); }
    case SQRT: { return sqrt(x); }
    case SQUARE: { return x * x; }
    default: { return 0.0; }
  }
}

@group(0) @binding(1) var<storage, read> ux: array<f32>;
@group(0) @binding(2) var<storage, read_write> uy: array<f32>;

@compute @workgroup_size(256)
fn unary(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = linearIndex(wid, nwg, lid);
  if (i < fp.n) { uy[i] = unaryOp(ux[i]); }
}

@group(0) @binding(1) var<storage, read> ux4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> uy4: array<vec4f>;

@compute @workgroup_size(256)
fn unary_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let i = linearIndex(wid, nwg, lid);
  if (i < fp.n) {
    let x = ux4[i];
    uy4[i] = vec4f(unaryOp(x.x), unaryOp(x.y), unaryOp(x.z), unaryOp(x.w));
  }
}

// dx = dy · f'(·), from the saved input x or output y, whichever the op's derivative needs
// (the same choice as PyTorch's derivative formulas).
fn unaryGrad(v: f32, g: f32) -> f32 {
  switch OP {
    case RELU: { return select(g, 0.0, v <= 0.0); }     // v = y; the gradient at 0 is 0
    case GELU: { return g * (normalCdf(v) + v * gaussian(v) * INV_SQRT_2PI); } // v = x: Φ + x·φ
    case EXP: { return g * v; }                         // v = y
    case LOG: { return g / v; }                         // v = x
    case SQRT: { return g / (2.0 * v); }                // v = y
    case SQUARE: { return g * (2.0 * v); }              // v = x
    default: { return 0.0; }
  }
}

@group(0) @binding(1) var<storage, read> saved: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn unary_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let i = linearIndex(wid, nwg, lid);
  if (i < fp.n) { dx[i] = unaryGrad(saved[i], dy[i]); }
}

@group(0) @binding(1) var<storage, read> saved4: array<vec4f>;
@group(0) @binding(2) var<storage, read> dy4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> dx4: array<vec4f>;

@compute @workgroup_size(256)
fn unary_grad_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) lid: u32) {
  let i = linearIndex(wid, nwg, lid);
  if (i < fp.n) {
    let v = saved4[i];
    let g = dy4[i];
    dx4[i] = vec4f(unaryGrad(v.x, g.x), unaryGrad(v.y, g.y), unaryGrad(v.z, g.z), unaryGrad(v.w, g.w));
  }
}
