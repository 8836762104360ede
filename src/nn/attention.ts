// Multi-head self-attention as timm's ViT `Attention`: one qkv projection (rows q|k|v, each
// split head-major), fused flash-style attention, and an output projection.

import type { Gpu } from '../gpu/gpu.js';
import { attention } from '../ops/attention.js';
import { relativePositionBias, type RelativePositionIndex } from '../ops/gather.js';
import { permute, reshape, split } from '../ops/shape.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { truncatedNormal } from '../util/random.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export interface AttentionOptions {
  heads: number;
  qkvBias?: boolean;
  /** Multiplies q·kᵀ; defaults to headDim^-0.5 (timm). vit-pytorch used dim^-0.5. */
  scale?: number;
  init?: 'torch' | 'vit';
  /** Rows of a learned relative-position bias table (BEiT); none when absent. */
  relativePositionRows?: number;
}

export class MultiHeadAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly heads: number;
  readonly scale: number;
  /** [rows, heads], BEiT's `relative_position_bias_table`. */
  readonly relativePositionTable: Tensor | null;

  constructor(gpu: Gpu, seed: number, readonly dim: number, options: AttentionOptions) {
    super(gpu, seed);
    if (dim % options.heads !== 0) throw new Error(`attention: dim ${dim} is not divisible by ${options.heads} heads`);
    this.heads = options.heads;
    this.scale = options.scale ?? (dim / options.heads) ** -0.5;
    this.qkv = this.child('qkv', new Linear(gpu, this.seedFor('qkv'), dim, 3 * dim, { bias: options.qkvBias ?? true, init: options.init }));
    this.proj = this.child('proj', new Linear(gpu, this.seedFor('proj'), dim, dim, { init: options.init }));
    const rows = options.relativePositionRows;
    this.relativePositionTable = rows
      ? this.param('relative_position_bias_table', [rows, this.heads], truncatedNormal(rows * this.heads, this.seedFor('rpb'), 0.02))
      : null;
  }

  /** x: [B, T, E]; `relativeIndex` is required when the block has a relative-position table. */
  forward(x: Tensor, relativeIndex?: RelativePositionIndex): Tensor {
    const [B, T, E] = x.shape;
    const H = this.heads;
    if (this.relativePositionTable && !relativeIndex) throw new Error('attention: a relative-position table needs its index');
    return scope(() => {
      const bias = this.relativePositionTable ? relativePositionBias(this.relativePositionTable, relativeIndex!) : undefined;
      // [B, T, 3E] → [B, T, 3, H, Dh] → [3, B, H, T, Dh] → q, k, v [B, H, T, Dh]
      const qkv = permute(reshape(this.qkv.forward(x), [B, T, 3, H, E / H]), [2, 0, 3, 1, 4]);
      const [q, k, v] = split(qkv, [1, 1, 1], 0).map((part) => reshape(part, [B, H, T, E / H]));
      const out = attention(q, k, v, { scale: this.scale, bias });
      // [B, H, T, Dh] → [B, T, H, Dh] → [B, T, E]
      return this.proj.forward(reshape(permute(out, [0, 2, 1, 3]), [B, T, E]));
    });
  }
}
