// Convolutions and their backward rules: conv2d (stride 1, zero padding), the 3-D patch embedding
// (a Conv3d whose kernel and stride are one whole patch) and the transposed conv whose kernel equals
// its stride (the 2×2 stride-2 up-sampling). All are implicit GEMMs (shaders/conv.wgsl), and a few
// kernels serve every pass because the passes pair up:
//   - the input gradient of a stride-1 conv is a stride-1 conv of the output gradient, with the
//     weight's channel axes swapped and each window rotated 180° (conv_forward with FLIP);
//   - a conv with kernel = stride (a patch conv) and the transposed conv with kernel = stride are
//     each other's input gradient;
//   - every weight gradient correlates one tensor with the patches of another (conv_weight_grad).

import { uniforms, type DispatchSpec, type Gpu } from '../gpu/gpu.js';
import { needsGrad, record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { fmt } from './layout.js';
import { cpuSubgroups } from './subgroups.js';
import { winogradConv, winogradTile, winogradWeightGrad } from './winograd.js';

/** Output tile edge (BM = BN in conv.wgsl) and reduction step (BK). */
const TILE = 64;
const TILE_K = 16;
/** The weight gradient's reduction is split into chunks of at least this many rows... */
const MIN_SPLIT_ROWS = 256;
/** ...until about this many workgroups run, enough to fill a large GPU. */
const TARGET_WORKGROUPS = 256;
/**
 * The `_cpu` kernels for CPU adapters: a workgroup covers 16 rows (channels) × 64 columns
 * (pixels or taps) of its GEMM's result. Their weight gradient splits its reduction until about
 * CPU_TARGET_WORKGROUPS run, enough for the cores of a large CPU.
 */
const CPU_ROWS = 16;
const CPU_COLS = 64;
const CPU_TARGET_WORKGROUPS = 32;

/**
 * The file of the GEMM kernels: conv.wgsl, or conv-subgroups.wgsl for the `_cpu` kernels on
 * a CPU adapter with subgroups (same entry points, shared values shuffled instead of loaded).
 */
function shaderFor(gpu: Gpu): 'conv' | 'conv-subgroups' {
  return cpuSubgroups(gpu) ? 'conv-subgroups' : 'conv';
}

/**
 * A conv reading x [B, C, H, W] through a KH×KW window at stride SH×SW with zero padding
 * padH×padW (negative crops), producing [B, M, OH, OW].
 */
interface Geometry {
  B: number;
  C: number;
  H: number;
  W: number;
  M: number;
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  padH: number;
  padW: number;
  OH: number;
  OW: number;
}

function geometry(g: Omit<Geometry, 'OH' | 'OW'>): Geometry {
  return {
    ...g,
    OH: Math.floor((g.H + 2 * g.padH - g.KH) / g.SH) + 1,
    OW: Math.floor((g.W + 2 * g.padW - g.KW) / g.SW) + 1,
  };
}

function convUniforms(g: Geometry, batch0: number, chunk: number): ArrayBuffer {
  // The paddings are i32 in WGSL; `>>> 0` gives the bits of a negative one as a u32.
  return uniforms([g.M, g.C, g.H, g.W, g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, batch0, g.B, chunk, g.padH >>> 0, g.padW >>> 0]);
}

/**
 * Dispatches a kernel whose grid is `tiles` per image, with one image per z: in chunks of at most
 * 65535 images (the per-dimension limit), each told its first image `batch0`.
 */
function dispatchPerImage(
  gpu: Gpu, images: number, tiles: [number, number], spec: (batch0: number) => Omit<DispatchSpec<'conv' | 'conv-subgroups'>, 'workgroups'>,
): void {
  const maxZ = gpu.limits.maxComputeWorkgroupsPerDimension;
  for (let batch0 = 0; batch0 < images; batch0 += maxZ) {
    gpu.dispatch({ ...spec(batch0), workgroups: [tiles[0], tiles[1], Math.min(maxZ, images - batch0)] });
  }
}

/**
 * out [B, M, OH, OW] = weight [M, C, KH, KW] ⋆ x (+ bias [M]). With `flip` the weight is
 * [C, M, KH, KW] and is read channel-swapped and rotated. `shape` relabels the output.
 */
function convForward(
  x: Tensor, weight: Tensor, g: Geometry, flip: boolean, bias?: Tensor, shape: readonly number[] = [g.B, g.M, g.OH, g.OW],
): Tensor {
  const out = Tensor.empty(x.gpu, shape);
  const cpu = x.gpu.info.cpu;
  const [rows, cols] = cpu ? [CPU_ROWS, CPU_COLS] : [TILE, TILE];
  dispatchPerImage(x.gpu, g.B, [Math.ceil((g.OH * g.OW) / cols), Math.ceil(g.M / rows)], (batch0) => ({
    shader: shaderFor(x.gpu),
    entry: cpu ? 'conv_forward_cpu' : 'conv_forward',
    constants: { FLIP: flip ? 1 : 0, HAS_BIAS: bias ? 1 : 0 },
    uniforms: convUniforms(g, batch0, 0),
    // The bias binding is part of the pipeline layout either way; without a bias, the weight stands in.
    buffers: [weight, x, out, bias ?? weight],
  }));
  return out;
}

/**
 * The gradient of the weight of the conv `g`, shaped `shape`: dW[m, c, ky, kx] = Σ over images and
 * output pixels of a[b, m, oy, ox] · x[b, c, oy·SH + ky − padH, ox·SW + kx − padW].
 */
function weightGrad(a: Tensor, x: Tensor, g: Geometry, shape: readonly number[]): Tensor {
  const N = g.C * g.KH * g.KW;
  const cpu = x.gpu.info.cpu;
  let grid: [number, number];
  let chunk: number;
  let splits: number;
  if (cpu) {
    // The reduction is split by whole output rows (image, oy).
    grid = [Math.ceil(N / CPU_COLS), Math.ceil(g.M / CPU_ROWS)];
    const rows = g.B * g.OH;
    chunk = Math.ceil(rows / Math.min(rows, Math.ceil(CPU_TARGET_WORKGROUPS / (grid[0] * grid[1]))));
    splits = Math.ceil(rows / chunk);
  } else {
    grid = [Math.ceil(N / TILE), Math.ceil(g.M / TILE)];
    const rows = g.B * g.OH * g.OW;
    const wanted = Math.max(1, Math.min(Math.ceil(rows / MIN_SPLIT_ROWS), Math.ceil(TARGET_WORKGROUPS / (grid[0] * grid[1]))));
    chunk = Math.ceil(rows / wanted / TILE_K) * TILE_K;
    splits = Math.ceil(rows / chunk);
  }
  const dW = Tensor.empty(x.gpu, shape);
  const partials = splits === 1 ? dW : Tensor.empty(x.gpu, [splits, g.M * N]);
  x.gpu.dispatch({
    shader: shaderFor(x.gpu),
    entry: cpu ? 'conv_weight_grad_cpu' : 'conv_weight_grad',
    uniforms: convUniforms(g, 0, chunk),
    buffers: [a, x, partials],
    workgroups: [grid[0], grid[1], splits],
  });
  if (partials !== dW) {
    x.gpu.dispatch({
      shader: 'conv',
      entry: 'sum_partials',
      uniforms: uniforms([dW.size, splits]),
      buffers: [partials, dW],
      workgroups: Math.ceil(dW.size / 256),
    });
    partials.dispose();
  }
  return dW;
}

/** A transposed conv with kernel = stride: x [B, C, H, W] and weight [C, O, KH, KW] give [B, O, H·KH, W·KW]. */
interface TransposeDims {
  B: number;
  C: number;
  H: number;
  W: number;
  O: number;
  KH: number;
  KW: number;
}

function transposeForward(
  x: Tensor, weight: Tensor, d: TransposeDims, bias?: Tensor, shape: readonly number[] = [d.B, d.O, d.H * d.KH, d.W * d.KW],
): Tensor {
  const out = Tensor.empty(x.gpu, shape);
  const cpu = x.gpu.info.cpu;
  const [rows, cols] = cpu ? [CPU_ROWS, CPU_COLS] : [TILE, TILE];
  dispatchPerImage(x.gpu, d.B, [Math.ceil((d.H * d.W) / cols), Math.ceil((d.O * d.KH * d.KW) / rows)], (batch0) => ({
    shader: shaderFor(x.gpu),
    entry: cpu ? 'conv_transpose_forward_cpu' : 'conv_transpose_forward',
    constants: { HAS_BIAS: bias ? 1 : 0 },
    uniforms: uniforms([d.C, d.O, d.H, d.W, d.KH, d.KW, batch0]),
    buffers: [weight, x, out, bias ?? weight],
  }));
  return out;
}

/** The gradient of a per-channel bias: t [B, C, ...] summed over every axis but the channel. */
function channelSum(t: Tensor): Tensor {
  const [B, C] = t.shape;
  const out = Tensor.empty(t.gpu, [C]);
  t.gpu.dispatch({
    shader: 'conv',
    entry: 'channel_sum',
    uniforms: uniforms([C, B, t.size / (B * C)]),
    buffers: [t, out],
    workgroups: C,
  });
  return out;
}

function checkRank(op: string, name: string, t: Tensor, layout: string): void {
  if (t.rank !== layout.split(',').length || t.size === 0) {
    throw new Error(`${op}: ${name} must be a non-empty [${layout}], got ${fmt(t.shape)}`);
  }
}

function checkBias(op: string, bias: Tensor | undefined, n: number): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== n)) throw new Error(`${op}: bias must be [${n}], got ${fmt(bias.shape)}`);
}

export interface Conv2dOptions {
  /** Zero padding on every side of H and W. */
  padding: number;
}

/**
 * PyTorch's Conv2d with stride 1, dilation 1, groups 1 and zero padding:
 * x [B, C, H, W], weight [O, C, kh, kw], bias [O] → [B, O, H + 2p − kh + 1, W + 2p − kw + 1].
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | undefined, options: Conv2dOptions): Tensor {
  const op = 'conv2d';
  const pad = options.padding;
  checkRank(op, 'x', x, 'B, C, H, W');
  checkRank(op, 'weight', weight, 'O, C, kh, kw');
  const [B, C, H, W] = x.shape;
  const [O, Cw, KH, KW] = weight.shape;
  if (Cw !== C) throw new Error(`${op}: weight ${fmt(weight.shape)} expects ${Cw} input channels, x ${fmt(x.shape)} has ${C}`);
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`${op}: padding must be a non-negative integer, got ${pad}`);
  checkBias(op, bias, O);
  const g = geometry({ B, C, H, W, M: O, KH, KW, SH: 1, SW: 1, padH: pad, padW: pad });
  if (g.OH < 1 || g.OW < 1) throw new Error(`${op}: a ${KH}×${KW} kernel with padding ${pad} does not fit x ${fmt(x.shape)}`);

  // 3×3 pad 1 keeps the size; Winograd (winograd.ts) does it with fewer multiplies where that pays.
  const tile = KH === 3 && KW === 3 && pad === 1 ? winogradTile(x.gpu, x.shape, O) : 0;
  const out = tile ? winogradConv(x, weight, tile, false, bias) : convForward(x, weight, g, false, bias);
  // Gradients no one needs (of an input image, a frozen weight) are not computed.
  const need = [needsGrad(x), needsGrad(weight), bias !== undefined && needsGrad(bias)];
  return record({
    op,
    inputs: bias ? [x, weight, bias] : [x, weight],
    output: out,
    save: [x, weight],
    backward: (gradOut, [xs, ws]) => {
      // Padding kh − 1 − p turns each output-gradient window into exactly the outputs an input pixel fed.
      const back = geometry({ B, C: O, H: g.OH, W: g.OW, M: C, KH, KW, SH: 1, SW: 1, padH: KH - 1 - pad, padW: KW - 1 - pad });
      const dx = !need[0] ? null : tile ? winogradConv(gradOut, ws, tile, true) : convForward(gradOut, ws, back, true);
      const dW = !need[1] ? null : tile ? winogradWeightGrad(gradOut, xs, tile) : weightGrad(gradOut, xs, g, weight.shape);
      return bias ? [dx, dW, need[2] ? channelSum(gradOut) : null] : [dx, dW];
    },
  });
}

/**
 * PyTorch's Conv3d with kernel = stride = (D, P, P) over x [B, C, D, H, W]: weight [E, C, D, P, P]
 * and bias [E] embed each D×P×P patch, giving [B, E, 1, H/P, W/P] (rectangular P×P' patches work
 * too). The patches tile the volume, so with depth folded into channels this is a conv2d with
 * kernel = stride = P, and its input gradient is the transposed conv with the same weight.
 */
export function patchEmbed3d(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  const op = 'patchEmbed3d';
  checkRank(op, 'x', x, 'B, C, D, H, W');
  checkRank(op, 'weight', weight, 'E, C, D, P, P');
  const [B, C, D, H, W] = x.shape;
  const [E, Cw, Dw, PH, PW] = weight.shape;
  if (Cw !== C || Dw !== D) {
    throw new Error(`${op}: weight ${fmt(weight.shape)} must span x's ${C} channels and depth ${D}; x is ${fmt(x.shape)}`);
  }
  if (H % PH !== 0 || W % PW !== 0) {
    throw new Error(`${op}: H and W of x ${fmt(x.shape)} must be multiples of the patch size ${PH}×${PW}`);
  }
  checkBias(op, bias, E);
  const g = geometry({ B, C: C * D, H, W, M: E, KH: PH, KW: PW, SH: PH, SW: PW, padH: 0, padW: 0 });

  const out = convForward(x, weight, g, false, bias, [B, E, 1, g.OH, g.OW]);
  const need = [needsGrad(x), needsGrad(weight), needsGrad(bias)];
  return record({
    op,
    inputs: [x, weight, bias],
    output: out,
    save: [x, weight],
    backward: (gradOut, [xs, ws]) => {
      const back = { B, C: E, H: g.OH, W: g.OW, O: C * D, KH: PH, KW: PW };
      return [
        need[0] ? transposeForward(gradOut, ws, back, undefined, x.shape) : null,
        need[1] ? weightGrad(gradOut, xs, g, weight.shape) : null,
        need[2] ? channelSum(gradOut) : null,
      ];
    },
  });
}

/**
 * PyTorch's ConvTranspose2d with kernel = stride (2×2 stride 2 in UNETR's decoder), no padding:
 * x [B, Cin, H, W], weight [Cin, Cout, kh, kw], bias [Cout] → [B, Cout, kh·H, kw·W]. Each input
 * pixel writes its own kh×kw block; the input gradient is the patch conv with the same weight.
 */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const op = 'convTranspose2d';
  checkRank(op, 'x', x, 'B, Cin, H, W');
  checkRank(op, 'weight', weight, 'Cin, Cout, kh, kw');
  const [B, C, H, W] = x.shape;
  const [Cw, O, KH, KW] = weight.shape;
  if (Cw !== C) throw new Error(`${op}: weight ${fmt(weight.shape)} expects ${Cw} input channels, x ${fmt(x.shape)} has ${C}`);
  checkBias(op, bias, O);

  const out = transposeForward(x, weight, { B, C, H, W, O, KH, KW }, bias);
  const need = [needsGrad(x), needsGrad(weight), bias !== undefined && needsGrad(bias)];
  return record({
    op,
    inputs: bias ? [x, weight, bias] : [x, weight],
    output: out,
    save: [x, weight],
    backward: (gradOut, [xs, ws]) => {
      // The patch conv reading gradOut: weight [Cin, Cout, kh, kw] is its [M, C, KH, KW].
      const patches = geometry({ B, C: O, H: H * KH, W: W * KW, M: C, KH, KW, SH: KH, SW: KW, padH: 0, padW: 0 });
      const dx = need[0] ? convForward(gradOut, ws, patches, false) : null;
      const dW = need[1] ? weightGrad(xs, gradOut, patches, weight.shape) : null;
      return bias ? [dx, dW, need[2] ? channelSum(gradOut) : null] : [dx, dW];
    },
  });
}
