// A simple lower bound on the memory of one training step of the segmenter (ViT + UPerNet), in
// f32 bytes: parameters, their gradients and AdamW's two moments (4 values per parameter), plus
// the activations that any implementation that does not recompute must keep from the forward pass
// to the backward pass. For every op we count the inputs its backward rule needs, once per tensor
// even when several ops read it; views (reshape, permute), additions, concatenations, pooling and
// bilinear resizing need none of their inputs. Transient buffers (gradients in flight, workspaces,
// the pool's bucket rounding) are left out, which is what makes this a lower bound.

import type { VitConfig } from '../src/index.js';

export interface LowerBound {
  parameters: number;
  /** 16 bytes per parameter: the weight, its gradient, AdamW's exp_avg and exp_avg_sq. */
  stateBytes: number;
  activationBytes: number;
  totalBytes: number;
}

/** Saved floats of one training step's forward pass for a batch of `batch` windows. */
function savedActivations(c: VitConfig, batch: number, channels: number, classes: number): number {
  const [S] = c.imageSize;
  const g = S / c.patchSize;
  const E = c.embedDim;
  const tokens = g * g + c.prefixTokens;
  const area = (side: number) => side * side;

  // The input window: the patch embedding's weight gradient reads it.
  const input = c.inChannels * c.depthSlices * S * S;
  // Per block and token: the block input (LayerNorm 1), LayerNorm 1's output (the qkv product),
  // q, k and v, the attention output (attention and the projection), the per-head log-sum-exp,
  // the residual sum (LayerNorm 2), LayerNorm 2's output (fc1), fc1's output (GELU) and the GELU
  // output (fc2). The last block's output is the decoder's deepest feature map.
  const block = tokens * (8 * E + 2 * c.mlpHidden + c.heads);
  const encoder = c.depth * block + tokens * E;

  // UPerNet on the pyramid 4g, 2g, g, ⌊g/2⌋ (CH = channels). A ConvModule keeps its conv's
  // output (BatchNorm) and its ReLU output; its input is counted where it is made.
  const [l0, l1, l2, l3] = [4 * g, 2 * g, g, Math.floor(g / 2)].map(area);
  const CH = channels;
  const convModule = (pixels: number) => 2 * CH * pixels;
  // fpn1's BatchNorm, GELU and second ConvT inputs; levels 0 and 1 (level 2 is a block output,
  // level 3 is only pooled and concatenated).
  const neck = 3 * E * area(2 * g) + E * l0 + E * l1;
  const binPixels = [1, 2, 3, 6].reduce((s, b) => s + b * b, 0);
  // The PPM: pooled inputs of its 1×1 ConvModules, those, the concatenation the 3×3 one reads, that.
  const psp = E * binPixels + convModule(binPixels) + (E + 4 * CH) * l3 + convModule(l3);
  const laterals = convModule(l0) + convModule(l1) + convModule(l2);
  const fpn = CH * (l0 + l1 + l2) + convModule(l0) + convModule(l1) + convModule(l2); // top-down sums, fpn convs
  const fuse = 4 * CH * l0 + convModule(l0) + CH * l0; // fpn_bottleneck in, its ConvModule, conv_seg in (after dropout)
  const head = classes * S * S; // the logits at full size, for the loss
  const decoder = neck + psp + laterals + fpn + fuse + head;

  return batch * (input + encoder + decoder);
}

export function trainingLowerBound(c: VitConfig, parameters: number, batch: number, channels: number, classes: number): LowerBound {
  const stateBytes = 16 * parameters;
  const activationBytes = 4 * savedActivations(c, batch, channels, classes);
  return { parameters, stateBytes, activationBytes, totalBytes: stateBytes + activationBytes };
}
