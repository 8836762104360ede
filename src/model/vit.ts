// The Vision Transformer with a 3-D patch embedding, TransSeg's encoder (docs/method.md §4): a Conv3d
// whose kernel and stride both equal (D, P, P) turns a window of D slices into one grid of patch
// tokens; after that it is a plain 2-D ViT. With D = 1 it is exactly the 2-D model, which is how
// `classify` runs a pre-trained checkpoint before inflation. Parameter names are timm's.

import type { Gpu } from '../gpu/gpu.js';
import { relativePositionIndex } from './relative-position-index.js';
import { patchEmbed3d } from '../ops/conv.js';
import { add, gelu, scale } from '../ops/elementwise.js';
import { RelativePositionIndex } from '../ops/gather.js';
import { broadcastTo, mean } from '../ops/reduce.js';
import { concat, permute, reshape, slice } from '../ops/shape.js';
import { scope } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { Block } from '../nn/block.js';
import { LayerNorm } from '../nn/layernorm.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { truncatedNormal, uniform } from '../util/random.js';
import { tokenGrid, validateConfig, type VitConfig } from './config.js';

/** Conv3d with kernel = stride = (D, P, P): `patch_embed.proj.{weight,bias}`. */
class PatchProjection extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(gpu: Gpu, seed: number, embed: number, channels: number, depth: number, patch: number) {
    super(gpu, seed);
    const fanIn = channels * depth * patch * patch;
    const bound = 1 / Math.sqrt(fanIn); // PyTorch's default Conv init
    this.weight = this.param('weight', [embed, channels, depth, patch, patch], uniform(embed * fanIn, this.seedFor('weight'), -bound, bound));
    this.bias = this.param('bias', [embed], uniform(embed, this.seedFor('bias'), -bound, bound));
  }
}

class PatchEmbed extends Module {
  readonly proj: PatchProjection;
  constructor(gpu: Gpu, seed: number, c: VitConfig) {
    super(gpu, seed);
    this.proj = this.child('proj', new PatchProjection(gpu, this.seedFor('proj'), c.embedDim, c.inChannels, c.depthSlices, c.patchSize));
  }
}

/** vit-pytorch's classifier: Linear → GELU → Linear, named head.fc1 / head.fc2. */
class MlpHead extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(gpu: Gpu, seed: number, dim: number, hidden: number, classes: number) {
    super(gpu, seed);
    this.fc1 = this.child('fc1', new Linear(gpu, this.seedFor('fc1'), dim, hidden));
    this.fc2 = this.child('fc2', new Linear(gpu, this.seedFor('fc2'), hidden, classes));
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(gelu(this.fc1.forward(x)));
  }
}

export interface VitOptions {
  /** Build the final norm and classification head (for `classify`); the segmenter needs neither. */
  withHead?: boolean;
}

export class VisionTransformer extends Module {
  readonly config: VitConfig;
  readonly grid: [number, number];
  readonly patchEmbed: PatchEmbed;
  readonly clsToken: Tensor;
  readonly distToken: Tensor | null;
  readonly posEmbed: Tensor | null;
  readonly blocks: Block[];
  readonly norm: LayerNorm | null;
  readonly head: Linear | MlpHead | null;
  readonly headDist: Linear | null;
  private readonly relativeIndex: RelativePositionIndex | null;

  constructor(gpu: Gpu, seed: number, config: VitConfig, options: VitOptions = {}) {
    super(gpu, seed);
    const c = (this.config = validateConfig(config, 'model config'));
    const E = c.embedDim;
    this.grid = tokenGrid(c, c.imageSize);
    const tokens = this.grid[0] * this.grid[1] + c.prefixTokens;
    const init = 'vit' as const;

    this.patchEmbed = this.child('patch_embed', new PatchEmbed(gpu, this.seedFor('patch_embed'), c));
    this.clsToken = this.param('cls_token', [1, 1, E], truncatedNormal(E, this.seedFor('cls'), 0.02));
    this.distToken = c.prefixTokens === 2 ? this.param('dist_token', [1, 1, E], truncatedNormal(E, this.seedFor('dist'), 0.02)) : null;
    this.posEmbed = c.positionEmbedding ? this.param('pos_embed', [1, tokens, E], truncatedNormal(tokens * E, this.seedFor('pos'), 0.02)) : null;

    const [h, w] = this.grid;
    const rows = (2 * h - 1) * (2 * w - 1) + 3;
    this.relativeIndex = c.relativePositionBias ? new RelativePositionIndex(gpu, relativePositionIndex(h, w), tokens, rows) : null;
    this.blocks = Array.from({ length: c.depth }, (_, i) =>
      this.child(`blocks.${i}`, new Block(gpu, this.seedFor(`blocks.${i}`), E, {
        heads: c.heads, qkvBias: c.qkvBias, scale: c.attentionScale, init, mlpHidden: c.mlpHidden, eps: c.eps,
        layerScale: c.layerScale ? 0.1 : undefined, relativePositionRows: c.relativePositionBias ? rows : undefined,
      })),
    );

    const withHead = options.withHead ?? false;
    this.norm = withHead && c.finalNorm !== 'none' ? this.child(c.finalNorm, new LayerNorm(gpu, 0, E, c.eps)) : null;
    const head = c.head;
    this.head = !withHead || head.kind === 'none'
      ? null
      : head.kind === 'mlp'
        ? this.child('head', new MlpHead(gpu, this.seedFor('head'), E, head.hidden, head.classes))
        : this.child('head', new Linear(gpu, this.seedFor('head'), E, head.classes, { init }));
    this.headDist = withHead && head.kind === 'linear' && c.prefixTokens === 2
      ? this.child('head_dist', new Linear(gpu, this.seedFor('head_dist'), E, head.classes, { init }))
      : null;
  }

  /** x [B, C, D, H, W] → token sequence [B, prefix + h·w, E] before the first block. */
  embed(x: Tensor): Tensor {
    const c = this.config;
    const [B, C, D, H, W] = x.shape;
    if (x.rank !== 5 || C !== c.inChannels || D !== c.depthSlices || H !== c.imageSize[0] || W !== c.imageSize[1]) {
      throw new Error(
        `VisionTransformer: input must be [B, ${c.inChannels}, ${c.depthSlices}, ${c.imageSize.join(', ')}], got [${x.shape.join(', ')}]`,
      );
    }
    return scope(() => {
      const proj = this.patchEmbed.proj;
      const patches = patchEmbed3d(x, proj.weight, proj.bias); // [B, E, 1, h, w]
      const tokens = permute(reshape(patches, [B, c.embedDim, -1]), [0, 2, 1]); // row-major (h, w) order
      const prefix = [this.clsToken, this.distToken].filter((t): t is Tensor => t !== null).map((t) => broadcastTo(t, [B, 1, c.embedDim]));
      const seq = concat([...prefix, tokens], 1);
      return this.posEmbed ? add(seq, this.posEmbed) : seq;
    });
  }

  /** The output of every block, [B, prefix + h·w, E] each. */
  blockOutputs(x: Tensor): Tensor[] {
    return scope(() => {
      const outputs: Tensor[] = [];
      let h = this.embed(x);
      for (const block of this.blocks) {
        h = block.forward(h, this.relativeIndex ?? undefined);
        outputs.push(h);
      }
      return outputs;
    });
  }

  /** Feature maps [B, E, h, w] (prefix tokens dropped, no norm) of the blocks at `indices`. */
  features(x: Tensor, indices: readonly number[]): Tensor[] {
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= this.blocks.length) throw new Error(`features: block index ${i} outside 0..${this.blocks.length - 1}`);
    }
    const [h, w] = this.grid;
    const E = this.config.embedDim;
    return scope(() => {
      const outputs = this.blockOutputs(x);
      return indices.map((i) => {
        const tokens = slice(outputs[i], 1, this.config.prefixTokens, outputs[i].shape[1]);
        return reshape(permute(tokens, [0, 2, 1]), [x.shape[0], E, h, w]);
      });
    });
  }

  /** Class logits [B, classes] from the classification head (built with `withHead`). */
  classify(x: Tensor): Tensor {
    const head = this.head;
    if (!head) throw new Error('classify: this model was built without a classification head');
    const c = this.config;
    return scope(() => {
      const outputs = this.blockOutputs(x);
      let h = outputs[outputs.length - 1];
      const B = x.shape[0];
      const E = c.embedDim;
      const token = (t: Tensor, i: number) => reshape(slice(t, 1, i, i + 1), [B, E]);
      if (c.head.kind === 'linear' && c.head.pool === 'mean') {
        const pooled = mean(slice(h, 1, c.prefixTokens, h.shape[1]), [1]);
        return head.forward(this.norm ? this.norm.forward(pooled) : pooled);
      }
      if (this.norm) h = this.norm.forward(h);
      const logits = head.forward(token(h, 0));
      if (!this.headDist) return logits;
      return scale(add(logits, this.headDist.forward(token(h, 1))), 0.5); // DeiT: mean of both heads
    });
  }

  dispose(): void {
    this.relativeIndex?.dispose();
    super.dispose();
  }
}
