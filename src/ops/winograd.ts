// Winograd F(2×2, 3×3) for conv2d's 3×3, stride-1, pad-1 convolutions (shaders/winograd.wgsl has
// the transforms and their algebra): the conv becomes 16 matrix products run by matmul, with 2.25×
// fewer multiply-adds than the direct conv, between an input and an output transform. The input
// gradient is the same conv of the output gradient with the weight rotated and its channel axes
// swapped; the weight gradient is the transposed map, 16 more products summed over the tiles.
// conv.ts decides when to take this path (`useWinograd`).

import { uniforms, type Gpu } from '../gpu/gpu.js';
import { Tensor } from '../tensor/tensor.js';
import { matmul } from './matmul.js';

/** How conv2d computes its 3×3 stride-1 pad-1 convolutions on a device (`setConv3x3Algorithm`). */
export type Conv3x3Algorithm = 'auto' | 'direct' | 'winograd';

const algorithms = new WeakMap<Gpu, Conv3x3Algorithm>();

/**
 * Chooses the 3×3 conv algorithm for `gpu`: 'auto' (the default) takes Winograd where it measured
 * faster, 'direct' and 'winograd' force one path (A/B benchmarks, tests).
 */
export function setConv3x3Algorithm(gpu: Gpu, algorithm: Conv3x3Algorithm): void {
  algorithms.set(gpu, algorithm);
}

/**
 * On a CPU adapter the 16 products reach the matmul rate only with the subgroup kernel, which
 * wants channel counts that are multiples of 4; and the transforms, which load and store every
 * element a few times, pay off only once a product is long and tall: measured on lavapipe
 * (docs/performance.md, "Winograd"), the 192→192 FPN conv and the 768→192 fusion conv gain,
 * while below MIN_CHANNEL_PRODUCT the direct conv was as fast.
 */
const MIN_CHANNEL_PRODUCT = 64 * 64;

/**
 * Whether a 3×3 pad-1 conv of C → O channels takes the Winograd path on `gpu`. Never where the
 * transformed weight [16, O, C] would not fit one binding (the tiles are chunked, the weight not).
 */
export function useWinograd(gpu: Gpu, C: number, O: number): boolean {
  const algorithm = algorithms.get(gpu) ?? 'auto';
  if (algorithm === 'direct' || 16 * 4 * C * O > gpu.limits.maxStorageBufferBindingSize) return false;
  return algorithm === 'winograd' || (C % 4 === 0 && O % 4 === 0 && C * O >= MIN_CHANNEL_PRODUCT);
}

/** Transformed tensors are kept under this many bytes (a chunk of the batch's tiles at a time). */
const MAX_CHUNK_BYTES = 32 * 2 ** 20;

/** A batch of images [B, ·, H, W] cut into 2×2 output tiles, processed in chunks of `cols` tiles. */
interface Tiling {
  B: number;
  H: number;
  W: number;
  tilesW: number;
  tilesImage: number;
  tiles: number;
  /** Tiles per chunk: a multiple of 4, so every transformed row suits the vec4 matmul. */
  cols: number;
}

/** The tiling of [B, ·, H, W] whose transformed tensors have at most `channels` rows. */
function tiling(gpu: Gpu, B: number, H: number, W: number, channels: number): Tiling {
  const tilesW = Math.ceil(W / 2);
  const tilesImage = Math.ceil(H / 2) * tilesW;
  const tiles = B * tilesImage;
  const maxBytes = Math.min(MAX_CHUNK_BYTES, gpu.limits.maxStorageBufferBindingSize);
  const maxCols = Math.max(4, Math.floor(maxBytes / (16 * 4 * channels) / 4) * 4);
  // Equal chunks, each a multiple of 4 tiles.
  const chunks = Math.ceil(tiles / maxCols);
  const cols = Math.ceil(tiles / chunks / 4) * 4;
  return { B, H, W, tilesW, tilesImage, tiles, cols };
}

function winoUniforms(t: Tiling, channels: number, t0: number, rows = 0): ArrayBuffer {
  return uniforms([channels, t.H, t.W, t.tilesW, t.tilesImage, t.tiles, t0, t.cols, rows]);
}

/** [16, ·] transformed weight: U[ξ, o, c] of weight [O, C, 3, 3], or with `flip` U[ξ, c, o] of it rotated. */
function transformWeight(weight: Tensor, flip: boolean): Tensor {
  const [O, C] = weight.shape;
  const U = Tensor.empty(weight.gpu, flip ? [16, C, O] : [16, O, C]);
  weight.gpu.dispatch({
    shader: 'winograd',
    entry: 'weight_transform',
    constants: { FLIP: flip ? 1 : 0 },
    uniforms: uniforms([C, 0, 0, 0, 0, 0, 0, 0, O]),
    buffers: [weight, U],
    workgroups: [Math.ceil(C / 64), O, 1],
  });
  return U;
}

/** [16, channels, cols]: the chunk of tiles from t0 of x [B, channels, H, W], transformed by `entry`. */
function transformTiles(x: Tensor, t: Tiling, t0: number, entry: 'input_transform' | 'grad_output_transform'): Tensor {
  const channels = x.shape[1];
  const V = Tensor.empty(x.gpu, [16, channels, t.cols]);
  x.gpu.dispatch({
    shader: 'winograd',
    entry,
    uniforms: winoUniforms(t, channels, t0),
    buffers: [x, V],
    workgroups: [Math.ceil(t.cols / 64), channels, 1],
  });
  return V;
}

/**
 * The 3×3 pad-1 conv of x [B, C, H, W] by weight [O, C, 3, 3] (+ bias [O]) → [B, O, H, W]; with
 * `flip` the weight is read as [C, O, 3, 3] rotated 180° (the input gradient of the conv whose
 * weight it is), giving [B, O', H, W] with O' = weight.shape[1].
 */
export function winogradConv(x: Tensor, weight: Tensor, flip: boolean, bias?: Tensor): Tensor {
  const gpu = x.gpu;
  const [B, C, H, W] = x.shape;
  const O = flip ? weight.shape[1] : weight.shape[0];
  const out = Tensor.empty(gpu, [B, O, H, W]);
  const t = tiling(gpu, B, H, W, Math.max(C, O));
  const U = transformWeight(weight, flip);
  for (let t0 = 0; t0 < t.tiles; t0 += t.cols) {
    const V = transformTiles(x, t, t0, 'input_transform');
    const M = matmul(U, V);
    V.dispose();
    gpu.dispatch({
      shader: 'winograd',
      entry: 'output_transform',
      constants: { HAS_BIAS: bias ? 1 : 0 },
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
 * is dy [B, O, H, W]: per chunk of tiles, dU = dZ · Vᵀ (16 products), inverse-transformed and
 * added up.
 */
export function winogradWeightGrad(dy: Tensor, x: Tensor): Tensor {
  const gpu = x.gpu;
  const [B, C, H, W] = x.shape;
  const O = dy.shape[1];
  const dW = Tensor.empty(gpu, [O, C, 3, 3]);
  const t = tiling(gpu, B, H, W, Math.max(C, O));
  for (let t0 = 0; t0 < t.tiles; t0 += t.cols) {
    const dZ = transformTiles(dy, t, t0, 'grad_output_transform');
    const V = transformTiles(x, t, t0, 'input_transform');
    const dU = matmul(dZ, V, { transB: true });
    dZ.dispose();
    V.dispose();
    gpu.dispatch({
      shader: 'winograd',
      entry: 'weight_grad_transform',
      constants: { ACCUMULATE: t0 > 0 ? 1 : 0 },
      uniforms: uniforms([C, 0, 0, 0, 0, 0, 0, 0, O]),
      buffers: [dU, dW],
      workgroups: [Math.ceil(C / 64), O, 1],
    });
    dU.dispose();
  }
  return dW;
}
