// Building a VisionTransformer from an adapted (canonical) checkpoint and loading its weights.

import type { Gpu } from '../gpu/gpu.js';
import type { VitConfig } from './config.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { loadWeights } from './load-weights.js';
import { VisionTransformer } from './vit.js';

/** Names a classification head owns; a model built without a head leaves them unused. */
export const HEAD_TENSORS = /^(norm|fc_norm|head|head_dist)\./;

/**
 * Loads canonical tensors into a VisionTransformer. A 2-D patch kernel [E, C, P, P] is accepted
 * for a model of depth 1 (it is the same Conv3d kernel with D = 1).
 */
export function loadVitWeights(model: VisionTransformer, tensors: Map<string, HostTensor>, source: string): void {
  const hasHead = model.head !== null;
  loadWeights(model, tensors, source, {
    ignore: (name) => !hasHead && HEAD_TENSORS.test(name),
    reshape: (name, shape, expected) =>
      name === 'patch_embed.proj.weight' && shape.length === 4 && expected.length === 5 && expected[2] === 1
        ? [shape[0], shape[1], 1, shape[2], shape[3]]
        : shape,
  });
}

/**
 * A checkpoint in canonical form: what src/checkpoint/ makes of a foreign file (its
 * AdaptedCheckpoint is one). Stated here so that model/ does not depend on checkpoint/.
 */
export interface CanonicalCheckpoint {
  config: VitConfig;
  tensors: Map<string, HostTensor>;
}

/** The 2-D model of a checkpoint, with its classification head, weights loaded. */
export function pretrainedVit(gpu: Gpu, checkpoint: CanonicalCheckpoint, source: string, config: VitConfig = checkpoint.config): VisionTransformer {
  const model = new VisionTransformer(gpu, 0, config, { withHead: true });
  try {
    loadVitWeights(model, checkpoint.tensors, source);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
