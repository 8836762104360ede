// TransSeg's training loop (docs/method.md §9–§10): windows of D slices sampled over every slice of
// every training volume, augmented, through the segmenter; Dice + focal loss (or Dice + CE, or
// CE) on the centre slice; AdamW with TransSeg's no-decay rule, linear warm-up then linear decay,
// gradient-norm clipping, gradient accumulation; validation Dice every N steps with the best
// checkpoint kept.
//
// Every random choice is a pure function of (seed, sample index) or (seed, step): the order of the
// samples, their augmentation, the dropout masks. So a run resumed from step s repeats exactly
// what the uninterrupted run would have done, given the weights, the optimiser moments and s.

import { backward } from '../autograd/tape.js';
import { augment, AUGMENTATION } from '../data/augment.js';
import { cropCase, foregroundBox } from '../data/foreground.js';
import { normalizeScan, windowIntensity, type IntensitySpec, type IntensityTransform } from '../data/intensity.js';
import { resizeNearest, resizeWindow } from '../data/resize.js';
import type { LoadedCase } from '../data/volume.js';
import { extractWindow } from '../data/windows.js';
import type { Gpu } from '../gpu/gpu.js';
import { predictVolume } from '../infer/predict.js';
import type { PostProcessing } from '../model/model-file.js';
import type { Segmenter } from '../model/segmenter.js';
import { readWeights } from '../model/load-weights.js';
import { scale } from '../ops/elementwise.js';
import { crossEntropyLoss, diceCELoss, diceFocalLoss } from '../ops/loss.js';
import { AdamW, type AdamWState } from '../optim/adamw.js';
import { linearWarmupDecay } from '../optim/schedule.js';
import { scope } from '../tensor/scope.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { Tensor } from '../tensor/tensor.js';
import { deriveSeed, rng } from '../util/random.js';
import { DiceAccumulator } from '../evaluation/metrics.js';
import { etaSeconds, RecentRate } from './rate.js';
import { SlicePolicy } from './sampler.js';

export type LossKind = 'dicefocal' | 'dicece' | 'ce';

export interface TrainSettings {
  steps: number;
  batchSize: number;
  /** Micro-batches whose gradients are summed before each optimiser step. */
  accumulate: number;
  lr: number;
  weightDecay: number;
  warmup: number;
  /** Global gradient-norm clip. */
  clip: number;
  loss: LossKind;
  /** Validate (and save checkpoints) every this many optimiser steps, and after the last. */
  validateEvery: number;
  /** Read the loss back (a GPU sync) every this many steps. */
  logEvery: number;
  seed: number;
  intensity: IntensitySpec;
  /** Training augmentation (TransSeg's MONAI transforms, src/data/augment.ts), or none at all. */
  augment: boolean;
  /** The augmentation's in-plane zoom range; TransSeg's [0.5, 2]. */
  zoom: [number, number];
  /** The augmentation's per-channel intensity factor range (src/data/augment.ts); null: none, as TransSeg. */
  intensityScale: [number, number] | null;
  /** The augmentation's probability of each flip (H, W, D); TransSeg's 0.1. */
  flipProbability: number;
  /** Crop every case to its foreground grown by this many voxels (src/data/foreground.ts); null: no crop. */
  cropForeground: number | null;
  /** Fraction of samples centred on a foreground slice (src/train/sampler.ts); 0: TransSeg's uniform slices. */
  foregroundFraction: number;
  /** Test-time flips in the saved model's predictions (src/infer/predict.ts); not in validation, where they would cost 4×. */
  flips: boolean;
  /** Post-processing in validation and in the saved model's predictions (src/infer/postprocess.ts); null: none. */
  postprocess: PostProcessing | null;
}

export const DEFAULT_SETTINGS: Omit<TrainSettings, 'steps' | 'intensity'> = {
  batchSize: 4, accumulate: 1, lr: 3e-5, weightDecay: 0.05, warmup: 20, clip: 1, loss: 'dicefocal',
  validateEvery: 500, logEvery: 10, seed: 1234, augment: true, zoom: [AUGMENTATION.minZoom, AUGMENTATION.maxZoom],
  intensityScale: null, flipProbability: AUGMENTATION.flipProbability, cropForeground: null, foregroundFraction: 0, flips: false, postprocess: null,
};

export interface Validation {
  step: number;
  /** The paper's Dice per class: one global Dice over all validation slices. */
  dice: number[];
  /** Mean of `dice` including background: TransSeg's checkpoint monitor val/mdice. */
  meanDice: number;
  /** MONAI's mean Dice over foreground classes, per case, empty truths excluded. */
  monaiMeanDice: number;
}

export type LogRecord =
  | { kind: 'train'; step: number; loss: number; lr: number; gradNorm: number; stepsPerSecond: number }
  | ({ kind: 'validation' } & Validation);

/**
 * One checkpoint: the weights after `state.step` steps, what `--resume` needs besides them, and
 * whether these weights are the new best. A store commits it whole or not at all.
 */
export interface Checkpoint {
  weights: Map<string, HostTensor>;
  state: TrainerState;
  isBest: boolean;
}

/** Where a run's files go; the CLI writes them to a folder (src/train/store-node.ts). */
export interface TrainerStore {
  commit(checkpoint: Checkpoint): Promise<void>;
  log(record: LogRecord): Promise<void>;
}

/** What `--resume` restores besides the weights. */
export interface TrainerState {
  step: number;
  optimizer: AdamWState;
  best: Validation | null;
}

export interface Progress {
  step: number;
  steps: number;
  /** The loss read back at this step, or null between log points. */
  loss: number | null;
  /** Steps per second over the recent steps (src/train/rate.ts), the first step (pipeline compilation) excluded; NaN at first. */
  stepsPerSecond: number;
  /** The remaining steps at that rate plus the remaining validations at the last one's duration. */
  etaSeconds: number;
}

/** While validating: `done` of `total` slices of case `caseIndex` (of `cases`), named `id`. */
export interface ValidationProgress {
  step: number;
  caseIndex: number;
  cases: number;
  id: string;
  done: number;
  total: number;
}

/** Steps over which the speed shown is measured: recent enough to follow changes, long enough to be steady. */
const RATE_WINDOW = 20;

/** TransSeg's rule (utils.py): no weight decay for names containing 'bias' or 'LayerNorm.weight'. */
export function decays(name: string): boolean {
  return !(name.includes('bias') || name.includes('LayerNorm.weight'));
}

/** AdamW over a segmenter's parameters in TransSeg's two groups: decayed, and no decay (see `decays`). */
export function segmenterOptimizer(model: Segmenter, settings: Pick<TrainSettings, 'lr' | 'weightDecay'>): AdamW {
  const named = model.namedParameters();
  return new AdamW([
    { params: named.filter(([n]) => decays(n)).map(([, t]) => t), weightDecay: settings.weightDecay },
    { params: named.filter(([n]) => !decays(n)).map(([, t]) => t), weightDecay: 0 },
  ], { lr: settings.lr });
}

const LOSSES = { dicefocal: diceFocalLoss, dicece: diceCELoss, ce: crossEntropyLoss } as const;

export class Trainer {
  readonly optimizer: AdamW;
  private readonly policy: SlicePolicy;
  private readonly intensity: IntensityTransform;
  /** The training cases, cropped to their foreground when the settings ask for it. */
  private readonly train: LoadedCase[];
  private step = 0;
  private best: Validation | null = null;

  constructor(
    private readonly gpu: Gpu,
    private readonly model: Segmenter,
    train: LoadedCase[],
    private readonly validation: LoadedCase[],
    private readonly settings: TrainSettings,
    private readonly store: TrainerStore,
  ) {
    const s = settings;
    for (const key of ['steps', 'batchSize', 'accumulate', 'validateEvery', 'logEvery'] as const) {
      if (!Number.isInteger(s[key]) || s[key] < 1) throw new Error(`train: ${key} must be a positive integer, got ${s[key]}`);
    }
    if (train.length === 0) throw new Error('train: no training cases');
    if (train.some((c) => !c.label) || validation.some((c) => !c.label)) throw new Error('train: every training and validation case needs a label');
    this.intensity = windowIntensity(s.intensity);
    const margin = s.cropForeground;
    if (margin !== null && !(Number.isInteger(margin) && margin >= 0)) throw new Error(`train: cropForeground must be null or a margin in voxels >= 0, got ${margin}`);
    const normalized = train.map((c) => normalizeScan(s.intensity, c));
    this.train = margin === null ? normalized : normalized.map((c) => cropCase(c, foregroundBox(c, this.intensity, margin)));
    this.policy = new SlicePolicy(this.train, s.foregroundFraction, s.seed);
    this.optimizer = segmenterOptimizer(model, s);
  }

  get currentStep(): number {
    return this.step;
  }

  get bestValidation(): Validation | null {
    return this.best;
  }

  /** Continues a run: the weights must already be loaded into the model. */
  restore(state: TrainerState): void {
    this.optimizer.loadState(state.optimizer);
    this.step = state.step;
    this.best = state.best;
  }

  /** Sample i of the run: the slice the policy (src/train/sampler.ts) picks, windowed, resized, augmented. */
  private sample(i: number): { window: Float32Array; label: Float32Array } {
    const { caseIndex, slice: k } = this.policy.pick(i);
    const volume = this.train[caseIndex];
    const size = this.model.encoder.config.imageSize;
    const { window, label } = extractWindow(volume, k, this.model.encoder.config.depthSlices);
    const resized = resizeWindow(window, size);
    const resizedLabel = resizeNearest(label!, 1, [window.height, window.width], size);
    if (!this.settings.augment) return { window: this.intensity(resized.data, resized.channels), label: resizedLabel };
    const out = augment(resized, resizedLabel, rng(deriveSeed(this.settings.seed, 1, i)), size, {
      intensity: this.intensity, zoomRange: this.settings.zoom, intensityScale: this.settings.intensityScale ?? undefined,
      flipProbability: this.settings.flipProbability,
    });
    return { window: out.window.data, label: out.label };
  }

  /** One micro-batch: forward, loss ÷ accumulate, backward. Returns the (unscaled) loss tensor. */
  private microStep(micro: number): Tensor {
    const s = this.settings;
    const c = this.model.encoder.config;
    const [H, W] = c.imageSize;
    const first = micro * s.batchSize;
    const inputs = new Float32Array(s.batchSize * c.inChannels * c.depthSlices * H * W);
    const targets = new Float32Array(s.batchSize * H * W);
    for (let b = 0; b < s.batchSize; b++) {
      const { window, label } = this.sample(first + b);
      inputs.set(window, b * window.length);
      targets.set(label, b * label.length);
    }
    return scope(() => {
      const x = Tensor.fromArray(this.gpu, inputs, [s.batchSize, c.inChannels, c.depthSlices, H, W]);
      const y = Tensor.fromArray(this.gpu, targets, [s.batchSize, H, W]);
      const loss = LOSSES[s.loss](this.model.forward(x, { dropoutSeed: deriveSeed(s.seed, 2, micro) }), y);
      backward(s.accumulate > 1 ? scale(loss, 1 / s.accumulate) : loss);
      return loss;
    });
  }

  async validate(onProgress?: (p: ValidationProgress) => void): Promise<Validation> {
    const classes = this.model.classes;
    const dice = new DiceAccumulator(classes);
    const s = this.settings;
    for (const [caseIndex, volume] of this.validation.entries()) {
      const { labels } = await predictVolume(this.model, volume, {
        intensity: s.intensity, cropForeground: s.cropForeground ?? undefined, batchSize: s.batchSize,
        postprocess: s.postprocess ?? undefined, // flips are left to predict and evaluate: they cost 4× here
        onProgress: (done, total) => onProgress?.({ step: this.step, caseIndex, cases: this.validation.length, id: volume.id, done, total }),
      });
      dice.add(labels, volume.label!);
    }
    return {
      step: this.step,
      dice: dice.globalDice(),
      meanDice: dice.globalMeanDice(true),
      monaiMeanDice: dice.monaiMeanDice(false),
    };
  }

  /**
   * Trains up to `settings.steps` (or stops after step `until`, as an interrupted run would);
   * validates, logs and saves along the way.
   */
  async run(onProgress?: (p: Progress) => void, until = this.settings.steps, onValidation?: (p: ValidationProgress) => void): Promise<void> {
    const s = this.settings;
    const rate = new RecentRate(RATE_WINDOW);
    let validationSeconds = 0;
    this.model.train();
    while (this.step < Math.min(until, s.steps)) {
      // A run shorter than the warm-up warms up over all of it.
      this.optimizer.setLearningRate(linearWarmupDecay(this.step, { warmup: Math.min(s.warmup, s.steps), total: s.steps, peak: s.lr }));
      let loss: Tensor | null = null;
      for (let m = 0; m < s.accumulate; m++) {
        const l = this.microStep(this.step * s.accumulate + m);
        if (m === 0) loss = l;
        else l.dispose();
      }
      const gradNorm = this.optimizer.step({ clip: s.clip });
      this.optimizer.zeroGrad();
      this.step++;
      rate.stepDone(performance.now());
      const stepsPerSecond = rate.stepsPerSecond;
      const logNow = this.step % s.logEvery === 0 || this.step === s.steps;
      let value: number | null = null;
      if (logNow) {
        value = await loss!.item();
        await this.store.log({ kind: 'train', step: this.step, loss: value, lr: this.optimizer.lr, gradNorm: await gradNorm!.item(), stepsPerSecond });
      }
      loss!.dispose();
      gradNorm?.dispose();
      onProgress?.({ step: this.step, steps: s.steps, loss: value, stepsPerSecond, etaSeconds: etaSeconds(this.step, s.steps, s.validateEvery, stepsPerSecond, validationSeconds) });
      if (this.step % s.validateEvery === 0 || this.step === s.steps) {
        const before = performance.now();
        await this.checkpoint(onValidation);
        validationSeconds = (performance.now() - before) / 1000;
        rate.pause(performance.now() - before);
      }
    }
  }

  /** Validates, then commits the last (and, when better, the best) model with the resume state. */
  private async checkpoint(onValidation?: (p: ValidationProgress) => void): Promise<void> {
    const result = this.validation.length > 0 ? await this.validate(onValidation) : null;
    this.model.train();
    if (result) await this.store.log({ kind: 'validation', ...result });
    const isBest = result !== null && (!this.best || result.meanDice > this.best.meanDice);
    if (isBest) this.best = result;
    const state = { step: this.step, optimizer: await this.optimizer.state(), best: this.best };
    await this.store.commit({ weights: await readWeights(this.model), state, isBest });
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
