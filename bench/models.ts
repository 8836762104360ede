// The whole-model cases: ViT-Tiny/16 or ViT-B/16 with UPerNet, random weights, a random batch of
// windows. Each case gets a fresh GPU context, so its first step compiles every shader it uses
// (the time to the first step) and the allocator's peak is the case's own.

import { backward, DEFAULT_SETTINGS, Gpu, noGrad, ops, PRESETS, random, scope, Segmenter, Tensor, train, type VitConfig } from '../src/index.js';
import type { BenchCase, ModelName } from './cases.js';
import { trainingLowerBound, type LowerBound } from './memory.js';
import { measure, type Timing, type TimingPolicy } from './timing.js';

const { diceFocalLoss } = ops;
const { segmenterOptimizer } = train;
const { randn } = random;

export type ModelCase = Extract<BenchCase, { kind: 'model' }>;

/** BCV, the paper's main dataset: 13 organs and the background. */
export const CLASSES = 14;
const SLICES = 5;
const PRESET: Record<ModelName, string> = {
  'vit-tiny': 'vit_tiny_patch16_224', 'beit-tiny': 'vit_tiny_patch16_224', 'vit-base': 'vit_base_patch16_224',
};
/** BEiT's encoder blocks (TransSeg's default) at ViT-Tiny's width: no absolute position embedding. */
const BEIT_BLOCKS = { layerScale: true, positionEmbedding: false, relativePositionBias: true } as const;

/** The encoder as `transseg train --no-pretrained --preset P --image-size S` builds it: one channel, 5 slices. */
export function modelConfig(model: ModelName, image: number): VitConfig {
  return {
    ...PRESETS[PRESET[model]], ...(model === 'beit-tiny' ? BEIT_BLOCKS : {}), inChannels: 1, depthSlices: SLICES,
    imageSize: [image, image], finalNorm: 'none', head: { kind: 'none' },
  };
}

export interface ModelResult {
  /** null for 'memory': nothing runs. */
  timing: Timing | null;
  /** Building the model and optimiser and uploading the weights and the batch. */
  setupMs: number;
  /** The allocator's peak of live bytes over the case. */
  peakBytes: number;
  /** Live plus pooled bytes at the end: what the pool holds from the driver. */
  heldBytes: number;
  /** Count-only cases: the largest storage binding a kernel would have needed. */
  largestBindingBytes: number | null;
  lowerBound: LowerBound | null;
}

/**
 * Makes `gpu` skip its kernels: dispatches are dropped (neither compiled nor checked against the
 * adapter's binding limits); uploads and copies still run. The allocator's count is the same as in
 * a real run because it depends only on which tensors the host code makes and frees, never on
 * computed values (a training step reads nothing back); the suite checks this against the real
 * run wherever it has both. Returns the largest binding a dropped dispatch asked for.
 */
function countOnly(gpu: Gpu): () => number {
  let largest = 0;
  gpu.dispatch = (spec) => {
    for (const b of spec.buffers) largest = Math.max(largest, b.byteLength);
  };
  return () => largest;
}

/** A model case ready to run: its steps on a context of its own. */
export interface PreparedModel {
  gpu: Gpu;
  config: VitConfig;
  parameters: number;
  /** Building the model and optimiser and uploading the weights and the batch. */
  setupMs: number;
  /** The trainer's step (Trainer.run with accumulate 1): forward, Dice + focal loss, backward, clipped AdamW; no read-back. */
  trainStep(): Promise<void>;
  /** Eval mode, no gradients. */
  forwardStep(): Promise<void>;
  dispose(): void;
}

export async function prepareModel(c: ModelCase, gpu: Gpu): Promise<PreparedModel> {
  const t0 = performance.now();
  const config = modelConfig(c.model, c.image);
  const model = new Segmenter(gpu, 1, config, { classes: CLASSES });
  const optimizer = c.mode === 'forward' ? null : segmenterOptimizer(model, DEFAULT_SETTINGS);
  const x = Tensor.fromArray(gpu, randn(c.batch * SLICES * c.image * c.image, 2), [c.batch, 1, SLICES, c.image, c.image]);
  const labels = Float32Array.from({ length: c.batch * c.image * c.image }, (_, i) => (i * 7919) % CLASSES);
  const y = Tensor.fromArray(gpu, labels, [c.batch, c.image, c.image]);
  await gpu.sync();
  let steps = 0;
  return {
    gpu, config, parameters: model.parameters().reduce((n, p) => n + p.size, 0), setupMs: performance.now() - t0,
    async trainStep() {
      model.train(true);
      scope(() => backward(diceFocalLoss(model.forward(x, { dropoutSeed: steps++ }), y)));
      optimizer!.step({ clip: DEFAULT_SETTINGS.clip })?.dispose();
      optimizer!.zeroGrad();
      await gpu.sync();
    },
    async forwardStep() {
      model.train(false);
      scope(() => noGrad(() => model.forward(x)));
      await gpu.sync();
    },
    dispose() {
      x.dispose();
      y.dispose();
      optimizer?.dispose();
      model.dispose();
    },
  };
}

export async function runModelCase(c: ModelCase, policy: TimingPolicy): Promise<ModelResult> {
  const gpu = await Gpu.create();
  const largestBinding = c.mode === 'memory' ? countOnly(gpu) : null;
  const m = await prepareModel(c, gpu);
  try {
    let timing: Timing | null = null;
    if (c.mode === 'memory') await m.trainStep();
    // The first step is the warm-up: on a fresh context it is the time to the first step.
    else timing = await measure(c.mode === 'train' ? m.trainStep : m.forwardStep, { ...policy, warmup: 1 });
    const mem = gpu.memory();
    return {
      timing, setupMs: m.setupMs, peakBytes: mem.peakLiveBytes, heldBytes: mem.liveBytes + mem.pooledBytes,
      largestBindingBytes: largestBinding?.() ?? null,
      lowerBound: c.mode === 'forward' ? null : trainingLowerBound(m.config, m.parameters, c.batch, m.config.embedDim, CLASSES),
    };
  } finally {
    m.dispose();
    gpu.destroy();
  }
}
