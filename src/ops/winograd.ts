// Winograd F(m×m, 3×3), m = 2 or 4, for conv2d's 3×3, stride-1, pad-1 convolutions
// (shaders/winograd.wgsl has the transforms and their algebra): the conv becomes (m + 2)² matrix
// products run by matmul, with 2.25× (m = 2) or 4× (m = 4) fewer multiply-adds than the direct
// conv, between an input and an output transform. The input
// gradient is the same conv of the output gradient with the weight rotated and its channel axes
// swapped; the weight gradient is the transposed map, as many products summed over the tiles.
// conv.ts decides when to take this path (`winogradTile`).

import { uniforms, type Gpu } from '../gpu/gpu.js';
import { Tensor } from '../tensor/tensor.js';
import { matmul } from './matmul.js';
import { cpuSubgroups } from './subgroups.js';

/** How conv2d computes its 3×3 stride-1 pad-1 convolutions on a device (`setConv3x3Algorithm`). */
export const CONV_3X3_ALGORITHMS = ['auto', 'direct', 'winograd-2x2', 'winograd-4x4'] as const;
export type Conv3x3Algorithm = (typeof CONV_3X3_ALGORITHMS)[number];

const algorithms = new WeakMap<Gpu, Conv3x3Algorithm>();

/**
 * Chooses the 3×3 conv algorithm for `gpu`: 'auto' (the default) takes Winograd where it measured
 * faster, the others force one path (A/B benchmarks, tests).
 */
export function setConv3x3Algorithm(gpu: Gpu, algorithm: Conv3x3Algorithm): void {
  algorithms.set(gpu, algorithm);
}

/**
 * On a CPU adapter the products reach the matmul rate only with the subgroup kernel, which wants
 * channel counts that are multiples of 4; and the transforms, which load and store every element
 * a few times, pay off only once a product is long and tall: measured on lavapipe
 * (docs/performance.md, "Winograd"), from 64→64 channels up Winograd gained, at 32→32 it was even.
 */
const MIN_CHANNEL_PRODUCT = 64 * 64;
/**
 * F(4×4) does 36 products per 16 outputs where F(2×2) does 16 per 4, but its weight transforms
 * and products cost per call what a batch with few tiles cannot pay back (the PPM bottleneck's
 * 7² maps, batch 4: 16 tiles); below this many 4×4 tiles F(2×2) measured faster.
 */
const MIN_TILES_4X4 = 32;

/**
 * The output tile edge m of the Winograd F(m×m, 3×3) that a 3×3 pad-1 conv of x [B, C, H, W] to O
 * channels takes on `gpu`, or 0 for the direct conv. Never Winograd where the transformed weight
 * [(m + 2)², O, C] would not fit one binding (the tiles are chunked, the weight is not).
 */
export function winogradTile(gpu: Gpu, [B, C, H, W]: readonly number[], O: number): 0 | 2 | 4 {
  const algorithm = algorithms.get(gpu) ?? 'auto';
  const fits = (m: number) => 4 * (m + 2) ** 2 * C * O <= gpu.limits.maxStorageBufferBindingSize;
  if (algorithm !== 'auto') {
    const m = algorithm === 'winograd-2x2' ? 2 : algorithm === 'winograd-4x4' ? 4 : 0;
    return m !== 0 && fits(m) ? m : 0;
  }
  if (C % 4 !== 0 || O % 4 !== 0 || C * O < MIN_CHANNEL_PRODUCT) return 0;
  if (B * Math.ceil(H / 4) * Math.ceil(W / 4) >= MIN_TILES_4X4 && fits(4)) return 4;
  // On a CPU adapter without subgroups the products run on the register matmul, about 3× slower:
  // there F(2×2)'s 2.25× fewer multiply-adds measured slower than the direct conv (the PPM's 7²).
  if (gpu.info.cpu && !cpuSubgroups(gpu)) return 0;
  return fits(2) ? 2 : 0;
}

/** Transformed tensors are kept under this many bytes (a chunk of the batch's tiles at a time). */
const MAX_CHUNK_BYTES = 32 * 2 ** 20;

/** A batch of images [B, ·, H, W] cut into m×m output tiles, processed in chunks of `cols` tiles. */
interface Tiling {
  /** The output tile edge m. */
  m: 2 | 4;
  /** Elements of a transformed tile, (m + 2)²: the number of products. */
  elements: number;
  H: number;
  W: number;
  tilesW: number;
  tilesImage: number;
  tiles: number;
  /** Tiles per chunk: a multiple of 4, so every transformed row suits the vec4 matmul. */
  cols: number;
}

/** The tiling of [B, ·, H, W] whose transformed tensors have at most `channels` rows. */
function tiling(gpu: Gpu, m: 2 | 4, B: number, H: number, W: number, channels: number): Tiling {
  const elements = (m + 2) ** 2;
  const tilesW = Math.ceil(W / m);
  const tilesImage = Math.ceil(H / m) * tilesW;
  const tiles = B * tilesImage;
  const maxBytes = Math.min(MAX_CHUNK_BYTES, gpu.limits.maxStorageBufferBindingSize);
  const maxCols = Math.max(4, Math.floor(maxBytes / (elements * 4 * channels) / 4) * 4);
  // Equal chunks, each a multiple of 4 tiles.
  const chunks = Math.ceil(tiles / maxCols);
  const cols = Math.ceil(tiles / chunks / 4) * 4;
  return { m, elements, H, W, tilesW, tilesImage, tiles, cols };
}

function winoUniforms(t: Tiling, channels: number, t0: number): ArrayBuffer {
  return uniforms([channels, t.H, t.W, t.tilesW, t.tilesImage, t.tiles, t0, t.cols]);
}

/** The uniforms of the weight transforms: weight [O, C, 3, 3]. */
function weightUniforms(O: number, C: number): ArrayBuffer {
  return uniforms([C, 0, 0, 0, 0, 0, 0, 0, O]);
}

/** [n², ·] transformed weight: U[ξ, o, c] of weight [O, C, 3, 3], or with `flip` U[ξ, c, o] of it rotated. */
function transformWeight(weight: Tensor, m: 2 | 4, flip: boolean): Tensor {
  const [O, C] = weight.shape;
  const n2 = (m + 2) ** 2;
  const U = Tensor.empty(weight.gpu, flip ? [n2, C, O] : [n2, O, C]);
  weight.gpu.dispatch({
    shader: 'winograd',
    entry: 'weight_transform',
    constants: { F4: m === 4 ? 1 : 0, FLIP: flip ? 1 : 0 },
    uniforms: weightUniforms(O, C),
    buffers: [weight, U],
    workgroups: [Math.ceil(C / 64), O, 1],
  });
  return U;
}

/** [n², channels, cols]: the chunk of tiles from t0 of x [B, channels, H, W], transformed by `entry`. */
function transformTiles(x: Tensor, t: Tiling, t0: number, entry: 'input_transform' | 'grad_output_transform'): Tensor {
  const channels = x.shape[1];
  const V = Tensor.empty(x.gpu, [t.elements, channels, t.cols]);
  x.gpu.dispatch({
    shader: 'winograd',
    entry,
    constants: { F4: t.m === 4 ? 1 : 0 },
    uniforms: winoUniforms(t, channels, t0),
    buffers: [x, V],
    workgroups: [Math.ceil(t.cols / 64), channels, 1],
  });
  return V;
}

/**
 * The 3×3 pad-1 conv of x [B, C, H, W] by weight [O, C, 3, 3] (+ bias [O]) → [B, O, H, W] with
 * m×m output tiles; with `flip` the weight is read as [C, O, 3, 3] rotated 180° (the input gradient
 * of the conv whose weight it is), giving [B, O', H, W] with O' = weight.shape[1].
 */
export function winogradConv(x: Tensor, weight: Tensor, m: 2 | 4, flip: boolean, bias?: Tensor): Tensor {
  const gpu = x.gpu;
  const [B, C, H, W] = x.shape;
  const O = flip ? weight.shape[1] : weight.shape[0];
  const out = Tensor.empty(gpu, [B, O, H, W]);
  const t = tiling(gpu, m, B, H, W, Math.max(C, O));
  const U = transformWeight(weight, m, flip);
  for (let t0 = 0; t0 < t.tiles; t0 += t.cols) {
    const V = transformTiles(x, t, t0, 'input_transform');
    const M = matmul(U, V);
    V.dispose();
    gpu.dispatch({
      shader: 'winograd',
      entry: 'output_transform',
      constants: { F4: m === 4 ? 1 : 0, HAS_BIAS: bias ? 1 : 0 },
      uniforms: winoUniforms(t, O, t0),
      // The bias binding is part of the pipeline layout either way; without a bias, M stands in.
      buffers: [M, out, bias ?? M],
      workgroups: [Math.ceil(t.cols / 64), O, 1],
    });
    M.dispose();
  }
  U.dispose();
  return out;
}

/**
 * The weight gradient [O, C, 3, 3] of the 3×3 pad-1 conv of x [B, C, H, W] whose output gradient
 * is dy [B, O, H, W], with m×m tiles: per chunk of tiles, dU = dZ · Vᵀ ((m + 2)² products),
 * inverse-transformed and added up. V, x's transformed tiles, is the forward's input transform done
 * again: keeping it from the forward would hold (m + 2)²/m² times x (2.25× for m = 4, 100 MB for
 * UPerNet's fusion conv) until backward, for a transform that costs a few percent of the step.
 */
export function winogradWeightGrad(dy: Tensor, x: Tensor, m: 2 | 4): Tensor {
  const gpu = x.gpu;
  const [B, C, H, W] = x.shape;
  const O = dy.shape[1];
  const dW = Tensor.empty(gpu, [O, C, 3, 3]);
  const t = tiling(gpu, m, B, H, W, Math.max(C, O));
  for (let t0 = 0; t0 < t.tiles; t0 += t.cols) {
    const dZ = transformTiles(dy, t, t0, 'grad_output_transform');
    const V = transformTiles(x, t, t0, 'input_transform');
    const dU = matmul(dZ, V, { transB: true });
    dZ.dispose();
    V.dispose();
    gpu.dispatch({
      shader: 'winograd',
      entry: 'weight_grad_transform',
      constants: { F4: m === 4 ? 1 : 0, ACCUMULATE: t0 > 0 ? 1 : 0 },
      uniforms: weightUniforms(O, C),
      buffers: [dU, dW],
      workgroups: [Math.ceil(C / 64), O, 1],
    });
    dU.dispose();
  }
  return dW;
}
