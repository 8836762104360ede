// The demo's stand-in for an ImageNet checkpoint: a small 2-D ViT in timm's layout, trained from
// scratch on axial slices of phantom volumes (drawn from the 'pretrain' seed streams, so never a
// dataset case) on a slice-level task: by default which structure of the shapes phantoms covers
// the most pixels of a slice, or none; the demo counts the discs of the depth phantoms
// (src/synthetic/depth-phantom.ts). The gray slice
// is clip-scaled to [0, 1], replicated to RGB and normalised as the model's config says, which is
// how an ImageNet model sees a CT slice. Inflation then hands what it learnt to the 3-D segmenter.

import { backward, noGrad } from '../autograd/tape.js';
import type { Gpu } from '../gpu/gpu.js';
import { clipScale } from '../data/intensity.js';
import { generatePhantom, PHANTOM_CLIP, PHANTOM_LABELS, phantomSeed, type Phantom, type PhantomOptions, type PhantomStream } from './phantom.js';
import { resizeArea } from '../data/resize.js';
import { validateConfig, type VitConfig } from '../model/config.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { readWeights } from '../model/load-weights.js';
import { VisionTransformer } from '../model/vit.js';
import { crossEntropyLoss } from '../ops/loss.js';
import { AdamW } from '../optim/adamw.js';
import { linearWarmupDecay } from '../optim/schedule.js';
import { scope } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { randn, rng } from '../util/random.js';

/** The slice-level classes: 0 none, then the structure covering the most pixels. */
export const SLICE_CLASSES = ['none', ...PHANTOM_LABELS.slice(1)] as const;

/** A structure must cover at least this many pixels (native grid) to name its slice. */
const MIN_PIXELS = 8;

/** The small timm ViT pre-trained here (timm layout: qkv bias, pos embed, CLS, final norm, linear head). */
export const PHANTOM_VIT: VitConfig = {
  embedDim: 64, depth: 4, heads: 4, mlpHidden: 128, patchSize: 4, imageSize: [32, 32], inChannels: 3, depthSlices: 1,
  eps: 1e-6, qkvBias: true, layerScale: false, positionEmbedding: true, relativePositionBias: false, prefixTokens: 1,
  finalNorm: 'norm', head: { kind: 'linear', classes: SLICE_CLASSES.length, pool: 'token' },
  normalization: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
};

/** The class of axial slice `k` of a phantom label volume ([X, Y, Z], x fastest). */
export function sliceClass(label: Float32Array, dims: readonly [number, number, number], k: number): number {
  const plane = dims[0] * dims[1];
  const counts = new Array<number>(SLICE_CLASSES.length).fill(0);
  for (let i = k * plane; i < (k + 1) * plane; i++) counts[label[i]]++;
  let best = 0;
  for (let c = 1; c < counts.length; c++) if (counts[c] >= MIN_PIXELS && (best === 0 || counts[c] > counts[best])) best = c;
  return best;
}

/** Where pre-training slices come from, and the slice-level task on them. */
export interface SliceSource {
  /** The slice classes, 'none' (an empty slice) first; the model's head has one logit per class. */
  classes: readonly string[];
  /** Phantom number `seed` of this family. */
  generate: (seed: number) => Phantom;
  /** The class of axial slice k of a label volume. */
  sliceClass: (label: Float32Array, dims: readonly [number, number, number], k: number) => number;
}

/** The default task: which of sphere, capsule and torus covers the most of a slice of the shapes phantoms. */
export function shapesSource(phantom: PhantomOptions = {}): SliceSource {
  return { classes: SLICE_CLASSES, generate: (seed) => generatePhantom(seed, phantom), sliceClass };
}

/** Axial slices resized to `size`×`size`, intensities clip-scaled to [0, 1], with their classes. */
export interface SliceSet {
  size: number;
  /** [N, size, size] in C order (rows are y). */
  images: Float32Array;
  classes: Int32Array;
  /** Class names; SLICE_CLASSES when absent. */
  names?: readonly string[];
}

/** Every axial slice of `volumes` phantoms of one seed stream. */
export function phantomSlices(stream: PhantomStream, seed: number, volumes: number, size: number, source: SliceSource = shapesSource()): SliceSet {
  const images: Float32Array[] = [];
  const classes: number[] = [];
  const scale = clipScale(PHANTOM_CLIP.min, PHANTOM_CLIP.max);
  for (let v = 0; v < volumes; v++) {
    const { image, label, dims } = source.generate(phantomSeed(stream, seed, v));
    // A volume [Z, Y, X] in C order is Z planes of [Y, X].
    images.push(scale(resizeArea(image, dims[2], [dims[1], dims[0]], [size, size]), 1));
    for (let k = 0; k < dims[2]; k++) classes.push(source.sliceClass(label, dims, k));
  }
  const all = new Float32Array(classes.length * size * size);
  let offset = 0;
  for (const part of images) {
    all.set(part, offset);
    offset += part.length;
  }
  return { size, images: all, classes: Int32Array.from(classes), names: source.classes };
}

/** Slice indices grouped by class; throws when a class has none. */
function byClass(set: SliceSet, what: string): number[][] {
  const names = set.names ?? SLICE_CLASSES;
  const groups = names.map(() => [] as number[]);
  set.classes.forEach((c, i) => groups[c].push(i));
  const empty = groups.findIndex((g) => g.length === 0);
  if (empty >= 0) throw new Error(`pretrain2d: the ${what} slices hold no '${names[empty]}' slice; use more volumes`);
  return groups;
}

/** The first n slices of every class, n the size of the rarest: chance accuracy is 1 / classes. */
export function balancedSlices(set: SliceSet): number[] {
  const groups = byClass(set, 'evaluation');
  const n = Math.min(...groups.map((g) => g.length));
  return groups.flatMap((g) => g.slice(0, n)).sort((a, b) => a - b);
}

/** Model input [B, C, 1, H, W] for the slices `indices`: gray replicated to C channels, then normalised. */
export function sliceInput(set: SliceSet, indices: readonly number[], config: VitConfig): Float32Array {
  const plane = set.size * set.size;
  const { inChannels: C, normalization } = config;
  const out = new Float32Array(indices.length * C * plane);
  indices.forEach((slice, b) => {
    const src = set.images.subarray(slice * plane, (slice + 1) * plane);
    for (let c = 0; c < C; c++) {
      const dst = out.subarray((b * C + c) * plane, (b * C + c + 1) * plane);
      const [mean, std] = [normalization.mean[c], normalization.std[c]];
      for (let i = 0; i < plane; i++) dst[i] = (src[i] - mean) / std;
    }
  });
  return out;
}

/** Class logits [indices.length, classes] of the model, without recording a tape. */
export async function sliceLogits(model: VisionTransformer, set: SliceSet, indices: readonly number[]): Promise<Float32Array> {
  const { inChannels, imageSize } = model.config;
  const logits = noGrad(() => scope(() => {
    const x = Tensor.fromArray(model.gpu, sliceInput(set, indices, model.config), [indices.length, inChannels, 1, ...imageSize]);
    return model.classify(x);
  }));
  const values = await logits.read();
  logits.dispose();
  return values;
}

/** Fraction of `indices` whose arg-max logit is their class, evaluated in batches of `batch`. */
export async function sliceAccuracy(model: VisionTransformer, set: SliceSet, indices: readonly number[], batch = 64): Promise<number> {
  const K = (set.names ?? SLICE_CLASSES).length;
  let correct = 0;
  for (let start = 0; start < indices.length; start += batch) {
    const chunk = indices.slice(start, start + batch);
    const logits = await sliceLogits(model, set, chunk);
    chunk.forEach((slice, b) => {
      const row = logits.subarray(b * K, (b + 1) * K);
      if (row.indexOf(Math.max(...row)) === set.classes[slice]) correct++;
    });
  }
  return correct / indices.length;
}

export interface PretrainProgress {
  /** Steps done (1-based). */
  step: number;
  steps: number;
  loss: number;
  stepsPerSecond: number;
}

export interface Pretrain2dOptions {
  /** Optimiser steps. */
  steps: number;
  /** Seeds the model's initialisation, the phantom streams and the batch sampling. */
  seed: number;
  /** Slices per step, balanced over the classes; default 8. */
  batchSize?: number;
  /** Peak learning rate of AdamW; default 3e-3. */
  lr?: number;
  /** Warm-up steps of the linear schedule; default a tenth of `steps`. */
  warmup?: number;
  /** Phantoms whose slices are trained on; default 48. */
  trainVolumes?: number;
  /** Phantoms (another seed stream) whose slices measure held-out accuracy; default 8. */
  heldOutVolumes?: number;
  /** Size and spacing of the shapes phantoms (the default source). */
  phantom?: PhantomOptions;
  /** The slices and the task; default shapesSource(phantom). */
  source?: SliceSource;
  /**
   * 'lecun' (default): block matrices re-drawn with std 1/√fan_in, which learns from the first
   * step (see prepareTraining); 'timm': timm's std-0.02 weights kept, slower to start but at the
   * scale a model trained from scratch has, so fine-tuning compares like with like.
   */
  init?: 'lecun' | 'timm';
  /** The model; default PHANTOM_VIT. It must be 2-D (depthSlices 1) with a linear head over the source's classes. */
  config?: VitConfig;
  onProgress?: (progress: PretrainProgress) => void;
}

export interface Pretrain2dResult {
  /** The trained model, with its head; the caller disposes it. */
  model: VisionTransformer;
  /** Training loss of every step. */
  losses: number[];
  /** Accuracy on the balanced held-out slices (chance is 1 / SLICE_CLASSES.length). */
  heldOutAccuracy: number;
  heldOut: { slices: SliceSet; indices: number[] };
  /** Training throughput, excluding data generation and evaluation. */
  stepsPerSecond: number;
}

function checkOptions(o: Pretrain2dOptions): Required<Omit<Pretrain2dOptions, 'onProgress' | 'phantom'>> {
  const config = validateConfig(o.config ?? PHANTOM_VIT, 'pretrain2d: options.config');
  const head = config.head;
  const source = o.source ?? shapesSource(o.phantom);
  if (config.depthSlices !== 1 || head.kind !== 'linear' || head.classes !== source.classes.length || head.pool !== 'token') {
    throw new Error(`pretrain2d: options.config must be a 2-D model (depthSlices 1) with a linear CLS-token head over ${source.classes.length} classes, ` +
      `got depthSlices ${config.depthSlices}, head ${JSON.stringify(head)}`);
  }
  if (config.imageSize[0] !== config.imageSize[1]) throw new Error(`pretrain2d: options.config.imageSize must be square, got [${config.imageSize.join(', ')}]`);
  const resolved = {
    steps: o.steps, seed: o.seed, batchSize: o.batchSize ?? 8, lr: o.lr ?? 3e-3, warmup: o.warmup ?? Math.round(o.steps / 10),
    trainVolumes: o.trainVolumes ?? 48, heldOutVolumes: o.heldOutVolumes ?? 8, config, source, init: o.init ?? 'lecun',
  };
  for (const key of ['steps', 'batchSize', 'trainVolumes', 'heldOutVolumes'] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 1) throw new Error(`pretrain2d: options.${key} must be a positive integer, got ${resolved[key]}`);
  }
  if (!Number.isInteger(resolved.warmup) || resolved.warmup < 0 || resolved.warmup > resolved.steps) {
    throw new Error(`pretrain2d: options.warmup must be an integer in 0..steps (${resolved.steps}), got ${resolved.warmup}`);
  }
  if (!(resolved.lr > 0) || !Number.isFinite(resolved.lr)) throw new Error(`pretrain2d: options.lr must be a positive number, got ${resolved.lr}`);
  return resolved;
}

/**
 * Trains PHANTOM_VIT (or `options.config`) from scratch (see prepareTraining) with AdamW, a
 * linear warm-up/decay schedule, gradient clipping at 1 and cross-entropy on class-balanced
 * batches, then measures the accuracy on the balanced held-out slices.
 */
export async function pretrain2d(gpu: Gpu, options: Pretrain2dOptions): Promise<Pretrain2dResult> {
  const o = checkOptions(options);
  const size = o.config.imageSize[0];
  const train = phantomSlices('pretrain', o.seed, o.trainVolumes, size, o.source);
  const groups = byClass(train, 'training');
  const heldOutSlices = phantomSlices('pretrain-heldout', o.seed, o.heldOutVolumes, size, o.source);
  const heldOut = { slices: heldOutSlices, indices: balancedSlices(heldOutSlices) };

  const model = new VisionTransformer(gpu, o.seed, o.config, { withHead: true });
  try {
    const losses: number[] = [];
    const started = performance.now();
    const optimizer = prepareTraining(model, o.seed, o.init);
    try {
      const random = rng(o.seed);
      for (let step = 0; step < o.steps; step++) {
        // Slot b of step s takes class (b + s) mod K, a random slice of it: balanced over steps
        // whatever the batch size.
        const indices = Array.from({ length: o.batchSize }, (_, b) => {
          const group = groups[(b + step) % groups.length];
          return group[Math.floor(random() * group.length)];
        });
        optimizer.setLearningRate(linearWarmupDecay(step, { warmup: o.warmup, total: o.steps, peak: o.lr }));
        losses.push(await trainStep(model, optimizer, train, indices));
        const stepsPerSecond = (step + 1) / ((performance.now() - started) / 1000);
        options.onProgress?.({ step: step + 1, steps: o.steps, loss: losses[step], stepsPerSecond });
      }
    } finally {
      optimizer.dispose();
    }
    const stepsPerSecond = o.steps / ((performance.now() - started) / 1000);
    const heldOutAccuracy = await sliceAccuracy(model, heldOut.slices, heldOut.indices);
    return { model, losses, heldOutAccuracy, heldOut, stepsPerSecond };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/**
 * Re-initialises the block matrices and builds the optimiser. timm's std-0.02 weights make every
 * block start as the identity, so the CLS token sees the same thing for every slice and a short
 * run spends its first ~20 steps on a plateau at ln 4; LeCun-normal matrices (std 1/√fan_in)
 * make it learn from the first step. Weight decay as timm: none on biases, norms, cls_token and
 * pos_embed.
 */
function prepareTraining(model: VisionTransformer, seed: number, init: 'lecun' | 'timm'): AdamW {
  const named = model.namedParameters();
  if (init === 'lecun') named.forEach(([name, t], i) => {
    if (/^blocks\./.test(name) && t.rank === 2) t.write(randn(t.size, (seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0, 1 / Math.sqrt(t.shape[1])));
  });
  const decayed = ([name, t]: [string, Tensor]) => t.rank >= 2 && name !== 'pos_embed' && name !== 'cls_token';
  return new AdamW([
    { params: named.filter(decayed).map(([, t]) => t) },
    { params: named.filter((p) => !decayed(p)).map(([, t]) => t), weightDecay: 0 },
  ], { weightDecay: 0.05 });
}

/** One clipped AdamW step on the slices `indices`; returns the loss. */
async function trainStep(model: VisionTransformer, optimizer: AdamW, set: SliceSet, indices: number[]): Promise<number> {
  const { inChannels, imageSize } = model.config;
  const loss = scope(() => {
    const x = Tensor.fromArray(model.gpu, sliceInput(set, indices, model.config), [indices.length, inChannels, 1, ...imageSize]);
    const targets = Tensor.fromArray(model.gpu, Float32Array.from(indices, (i) => set.classes[i]), [indices.length]);
    const l = crossEntropyLoss(model.classify(x), targets);
    backward(l);
    return l;
  });
  optimizer.step({ clip: 1 })?.dispose();
  optimizer.zeroGrad();
  try {
    return await loss.item();
  } finally {
    loss.dispose();
  }
}

/**
 * The model's weights under timm's names, as a timm checkpoint holds them: the depth-1 Conv3d
 * kernel [E, C, 1, P, P] becomes the Conv2d kernel [E, C, P, P].
 */
export async function timmTensors(model: VisionTransformer): Promise<Map<string, HostTensor>> {
  if (model.config.depthSlices !== 1) {
    throw new Error(`timmTensors: a timm checkpoint is 2-D; this model spans ${model.config.depthSlices} slices`);
  }
  if (model.head === null) throw new Error('timmTensors: the model was built without its head (withHead: true is needed for a timm checkpoint)');
  const tensors = await readWeights(model);
  const patch = tensors.get('patch_embed.proj.weight')!;
  const [E, C, , P, Q] = patch.shape;
  tensors.set('patch_embed.proj.weight', { shape: [E, C, P, Q], data: patch.data });
  return tensors;
}

/**
 * The model JSON (`--config`) with what a timm checkpoint's tensors cannot tell: heads, LayerNorm
 * epsilon, the input normalisation, and the image size (stated, though the square position grid
 * also implies it).
 */
export function timmModelJson(config: VitConfig): Partial<VitConfig> {
  return {
    heads: config.heads, eps: config.eps, imageSize: config.imageSize, normalization: config.normalization,
    ...(config.attentionScale !== undefined && { attentionScale: config.attentionScale }),
  };
}
