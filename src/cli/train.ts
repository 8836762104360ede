// `transseg train`: fine-tune a segmenter on an MSD-style dataset. The flags map one to one onto
// RunOptions (src/train/setup-node.ts); see docs/cli.md.

import { Gpu } from '../gpu/gpu.js';
import { prepareRun, readRunOptions, type RunOptions } from '../train/setup-node.js';
import type { Connectivity, PostProcessing } from '../model/model-file.js';
import { DEFAULT_SETTINGS, type LossKind } from '../train/trainer.js';
import { defineCommand, parseFlags } from './flag-table.js';
import { readModelJson } from './checkpoint-options.js';
import { parseIntensity } from '../data/intensity.js';
import { parseRemap, required } from './flags.js';
import { downloadProgress, ProgressLine } from './progress.js';

const S = DEFAULT_SETTINGS;
/** A default as help shows it: 3e-5 rather than 0.00003. */
const shown = (n: number) => (n !== 0 && Math.abs(n) < 1e-3 ? n.toExponential() : String(n));
export const TRAIN_COMMAND = defineCommand({
  name: 'train',
  summary: 'fine-tune a segmenter on a dataset',
  description: 'Fine-tune a segmenter (ViT encoder + 2-D decoder) on an MSD-style dataset.json; writes best/last checkpoints, metrics.jsonl, curves and run.json to --out.',
  synopsis: '--dataset dataset.json --out DIR (--weights W | --no-pretrained --preset P) [options]',
  flags: [
    { name: 'dataset', value: 'FILE', help: 'the dataset.json (MSD layout: training pairs, optional validation list)', group: 'data and run' },
    { name: 'out', value: 'DIR', help: 'the run folder: checkpoints, metrics.jsonl, curves, run.json', group: 'data and run' },
    { name: 'resume', help: 'continue the run in --out exactly where its last checkpoint left it (--steps may extend it)', group: 'data and run' },
    { name: 'force', help: "start afresh in an --out that holds an earlier run, deleting that run's files (not with --resume)", group: 'data and run' },
    { name: 'remap', value: 'FROM:TO,...', shownDefault: 'none', help: 'label merges, e.g. BRATS whole tumour 1:1,2:1,3:1,4:1', group: 'data and run' },
    { name: 'val-fraction', value: 'F', shownDefault: '0.2', help: 'without a validation list in dataset.json: the seeded fraction of training cases held out, in [0, 1); 0 trains on every case without validation', group: 'data and run' },
    { name: 'intensity', value: 'SPEC', default: 'ct', help: 'ct, brain, heart, hippocampus, prostate (the method\'s presets), clip:MIN,MAX, zscore (per scan, over the voxels that differ from its background) or none', group: 'data and run' },
    { name: 'crop-foreground', value: 'N', shownDefault: 'off', help: 'crop every case to the scan (voxels where a channel differs from its background: the value the corners share, else 0) grown by N voxels; recorded in the model file, so predict and evaluate crop the same way', group: 'data and run' },
    { name: 'zoom', value: 'MIN,MAX', shownDefault: S.zoom.join(','), help: "the augmentation's in-plane zoom range (TransSeg's); narrower for short runs on small structures", group: 'data and run' },
    { name: 'flip-probability', value: 'P', shownDefault: String(S.flipProbability), help: "the augmentation's probability of each flip (rows, columns, slices; TransSeg's 0.1); 0.5 is nnU-Net's mirroring, for anatomy either way round such as the two hemispheres", group: 'data and run' },
    { name: 'intensity-scale', value: 'MIN,MAX', shownDefault: 'off', help: "multiply each channel of every training window by its own factor U(MIN, MAX) (nnU-Net's multiplicative brightness), so the model cannot rely on absolute intensities", group: 'data and run' },
    { name: 'no-augment', help: 'no zoom, crop, flips, rot90 or intensity shift or scale: train on the resized windows as they are', group: 'data and run' },
    { name: 'foreground-fraction', value: 'P', shownDefault: '0', help: "share of training windows centred on a slice with foreground (a case drawn uniformly, then one of its foreground voxels: MONAI's RandCropByPosNegLabel idea); the rest uniform", group: 'data and run' },
    { name: 'weights', value: 'W', help: 'an inflated encoder (transseg inflate), or a 2-D checkpoint inflated on the fly with --depth/--method/--image-size; a file or hf:ORG/REPO[@revision][:file]', group: 'model' },
    { name: 'offline', help: 'hf: weights from the Hugging Face cache only, no network (as HF_HUB_OFFLINE=1)', group: 'model' },
    { name: 'format', value: 'F', shownDefault: 'detected', help: "the 2-D checkpoint's layout: timm-vit, timm-beit, hf-vit, hf-beit or vit-pytorch", group: 'model' },
    { name: 'preset', value: 'NAME', help: 'a named architecture (e.g. vit_base_patch16_224): what the weights cannot tell, or the model of --no-pretrained', group: 'model' },
    { name: 'config', value: 'FILE', help: 'a model JSON: any subset of the VitConfig fields; wins over the preset', group: 'model' },
    { name: 'force-2d', help: 'the paper\'s "w/o D": a depth-1 model fed the centre slice only', group: 'model' },
    { name: 'no-pretrained', help: 'the paper\'s "w/o T&D" with --force-2d: load no weights; --preset/--config name the architecture', group: 'model' },
    { name: 'image-size', value: 'S', shownDefault: "the checkpoint's", help: 'in-plane model size S (S×S)', group: 'model' },
    { name: 'depth', value: 'D', shownDefault: '5', help: 'slices per window when inflating a 2-D checkpoint', group: 'model' },
    { name: 'method', value: 'M', shownDefault: 'centering', help: 'inflation of a 2-D checkpoint: centering or inflation', group: 'model' },
    { name: 'decoder', value: 'KIND', shownDefault: 'upernet', help: 'upernet, setr-pup or convtrans', group: 'model' },
    { name: 'channels', value: 'N', shownDefault: 'the encoder width', help: "the decoder's width", group: 'model' },
    { name: 'feature-blocks', value: 'I,J,...', shownDefault: '3,5,7,11 (upernet), the last (others)', help: 'the encoder blocks (0-based) the decoder reads', group: 'model' },
    { name: 'dropout', value: 'P', shownDefault: '0.1', help: "UPerNet's Dropout2d probability in training, in [0, 1) (upernet only)", group: 'model' },
    { name: 'pixel-skip', value: 'N', shownDefault: '0 (none)', help: "width of a full-resolution branch from the input window to the logits (UNETR's skip from the image; not in the paper)", group: 'model' },
    { name: 'tta-flips', help: 'at prediction time, average the in-plane flips (H, W, both); recorded in the model file', group: 'prediction (recorded in the model file)' },
    { name: 'keep-largest', value: 'WHAT', shownDefault: 'off', help: 'keep the largest connected component: of each class (classes) or of the whole foreground (foreground)', group: 'prediction (recorded in the model file)' },
    { name: 'min-island', value: 'N', shownDefault: 'off', help: 'remove foreground components of fewer than N voxels', group: 'prediction (recorded in the model file)' },
    { name: 'mask-foreground', help: 'predict foreground only inside the scan (as --crop-foreground finds it), e.g. the brain', group: 'prediction (recorded in the model file)' },
    { name: 'connectivity', value: '6|18|26', shownDefault: '26', help: 'voxel neighbourhood of --keep-largest and --min-island', group: 'prediction (recorded in the model file)' },
    { name: 'steps', value: 'N', shownDefault: '1000', help: 'optimiser steps', group: 'optimisation' },
    { name: 'batch-size', value: 'N', shownDefault: shown(S.batchSize), help: 'windows per micro-batch', group: 'optimisation' },
    { name: 'accumulate', value: 'N', shownDefault: shown(S.accumulate), help: 'micro-batches whose gradients are summed per step', group: 'optimisation' },
    { name: 'lr', value: 'LR', shownDefault: shown(S.lr), help: 'AdamW peak learning rate (linear warm-up, then linear decay)', group: 'optimisation' },
    { name: 'weight-decay', value: 'W', shownDefault: shown(S.weightDecay), help: 'AdamW weight decay (none for names containing bias, as TransSeg)', group: 'optimisation' },
    { name: 'warmup', value: 'N', shownDefault: shown(S.warmup), help: 'linear warm-up steps', group: 'optimisation' },
    { name: 'clip', value: 'NORM', shownDefault: shown(S.clip), help: 'global gradient-norm clip', group: 'optimisation' },
    { name: 'loss', value: 'KIND', shownDefault: S.loss, help: "dicefocal (the paper's code), dicece or ce", group: 'optimisation' },
    { name: 'seed', value: 'N', shownDefault: shown(S.seed), help: 'everything random derives from it: split, sample order, augmentation, dropout', group: 'optimisation' },
    { name: 'validate-every', value: 'N', shownDefault: shown(S.validateEvery), help: 'validation Dice (and checkpoints) every N steps, and after the last', group: 'logging' },
    { name: 'log-every', value: 'N', shownDefault: shown(S.logEvery), help: 'read the loss back (a GPU sync) every N steps', group: 'logging' },
  ],
});

function number(flag: string, value: string | undefined, integer: boolean, min = integer ? 1 : 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
    throw new Error(`train: --${flag} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got '${value}'`);
  }
  return n;
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new Error(`train: --${flag} must be one of ${allowed.join(', ')}; got '${value}'`);
  return value as T;
}

export async function optionsFromFlags(argv: string[]): Promise<RunOptions> {
  const { values: v } = parseFlags(TRAIN_COMMAND, argv);
  const out = required(v.out, 'out', 'train');
  if (v.resume) {
    if (v.force) throw new Error('train: --force starts afresh and --resume continues; give one of them');
    const saved = await readRunOptions(out);
    const steps = number('steps', v.steps, true);
    return { ...saved, out, resume: true, force: false, ...(v.offline ? { offline: true } : {}), settings: { ...saved.settings, ...(steps ? { steps } : {}) } };
  }
  for (const flag of ['zoom', 'intensity-scale', 'flip-probability'] as const) {
    if (v['no-augment'] && v[flag] !== undefined) throw new Error(`train: --no-augment turns the augmentation off, --${flag} sets part of it; give one of them`);
  }
  const modelJson = v.config ? await readModelJson(v.config) : undefined;
  return {
    dataset: required(v.dataset, 'dataset', 'train'),
    out,
    force: v.force,
    weights: v.weights,
    offline: v.offline,
    format: v.format,
    preset: v.preset,
    modelJson,
    force2d: v['force-2d'],
    pretrained: !v['no-pretrained'],
    imageSize: number('image-size', v['image-size'], true),
    depth: number('depth', v.depth, true),
    method: oneOf('method', v.method, ['centering', 'inflation'] as const),
    decoder: oneOf('decoder', v.decoder, ['upernet', 'setr-pup', 'convtrans'] as const),
    channels: number('channels', v.channels, true),
    featureIndices: v['feature-blocks']?.split(',').map((s) => number('feature-blocks', s, true, 0)!),
    dropout: number('dropout', v.dropout, false),
    pixelSkip: number('pixel-skip', v['pixel-skip'], true, 0),
    remap: v.remap ? parseRemap(v.remap, 'train') : undefined,
    validationFraction: number('val-fraction', v['val-fraction'], false),
    settings: {
      steps: number('steps', v.steps, true) ?? 1000,
      intensity: parseIntensity(v.intensity, 'train'),
      ...definedOnly({
        batchSize: number('batch-size', v['batch-size'], true),
        accumulate: number('accumulate', v.accumulate, true),
        lr: number('lr', v.lr, false),
        weightDecay: number('weight-decay', v['weight-decay'], false),
        warmup: number('warmup', v.warmup, true, 0),
        clip: number('clip', v.clip, false),
        loss: oneOf<LossKind>('loss', v.loss, ['dicefocal', 'dicece', 'ce']),
        validateEvery: number('validate-every', v['validate-every'], true),
        logEvery: number('log-every', v['log-every'], true),
        seed: number('seed', v.seed, true, 0),
        augment: v['no-augment'] ? false : undefined,
        zoom: range('zoom', v.zoom, '0.5,2'),
        intensityScale: range('intensity-scale', v['intensity-scale'], '0.7,1.4'),
        flipProbability: fraction('flip-probability', v['flip-probability']),
        cropForeground: number('crop-foreground', v['crop-foreground'], true, 0),
        foregroundFraction: fraction('foreground-fraction', v['foreground-fraction']),
        flips: v['tta-flips'] ? true : undefined,
        postprocess: postProcessing(v),
      }),
    },
  };
}

function fraction(flag: string, value: string | undefined): number | undefined {
  const n = number(flag, value, false);
  if (n !== undefined && n > 1) throw new Error(`train: --${flag} must be a fraction in [0, 1], got '${value}'`);
  return n;
}

/** --keep-largest, --min-island, --connectivity, --mask-foreground; undefined when none is given. */
function postProcessing(v: { 'keep-largest'?: string; 'min-island'?: string; connectivity?: string; 'mask-foreground'?: boolean }): PostProcessing | undefined {
  const p: PostProcessing = definedOnly({
    largestComponent: oneOf('keep-largest', v['keep-largest'], ['classes', 'foreground'] as const),
    minIslandVoxels: number('min-island', v['min-island'], true),
    maskForeground: v['mask-foreground'] ? true : undefined,
  });
  if (v.connectivity !== undefined) {
    if (Object.keys(p).length === 0) throw new Error('train: --connectivity applies to --keep-largest and --min-island; give one of them');
    p.connectivity = Number(oneOf('connectivity', v.connectivity, ['6', '18', '26'] as const)) as Connectivity;
  }
  return Object.keys(p).length ? p : undefined;
}

/** `--zoom MIN,MAX`, `--intensity-scale MIN,MAX`: an augmentation's factor range. */
function range(flag: string, value: string | undefined, example: string): [number, number] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map(Number);
  if (parts.length !== 2 || !(parts[0] > 0 && parts[0] <= parts[1] && Number.isFinite(parts[1]))) {
    throw new Error(`train: --${flag} must be MIN,MAX with 0 < MIN <= MAX (e.g. ${example}), got '${value}'`);
  }
  return [parts[0], parts[1]];
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, value]) => value !== undefined)) as Partial<T>;
}

export async function train(argv: string[]): Promise<string> {
  const options = await optionsFromFlags(argv);
  const gpu = await Gpu.create();
  try {
    const run = await prepareRun(gpu, options, (line) => process.stderr.write(`${line}\n`), downloadProgress('download'));
    const progress = new ProgressLine('train');
    const started = performance.now();
    let lastLoss: { value: number; step: number } | null = null;
    let validating: ProgressLine | null = null;
    await run.trainer.run((p) => {
      if (p.loss !== null) lastLoss = { value: p.loss, step: p.step };
      // The loss is read back only every --log-every steps: say at which step it was.
      const shown = lastLoss ? `${lastLoss.value.toFixed(4)} (step ${lastLoss.step})` : '–';
      const rate = Number.isNaN(p.stepsPerSecond) ? '–' : p.stepsPerSecond.toFixed(2);
      progress.update(p.step, p.steps, `loss ${shown}  ${rate} steps/s`, p.etaSeconds);
      validating = null;
    }, undefined, (v) => {
      validating ??= new ProgressLine(`validate (step ${v.step})`); // a new line for each validation
      // Progress over all cases, in thousandths of a case.
      validating.update(v.caseIndex * 1000 + Math.round((1000 * v.done) / v.total), v.cases * 1000, `${v.id} (${v.caseIndex + 1}/${v.cases}) ${v.done}/${v.total} slices`);
    });
    const best = run.trainer.bestValidation;
    const seconds = (performance.now() - started) / 1000;
    run.trainer.dispose();
    run.model.dispose();
    return [
      `trained to step ${run.trainer.currentStep} in ${seconds.toFixed(0)} s; files in ${options.out}/`,
      best
        ? `best validation (step ${best.step}): mean Dice ${best.meanDice.toFixed(4)} incl. background; per class ${best.dice.map((d, k) => `${run.header.labels[k]} ${d.toFixed(4)}`).join(', ')}`
        : 'no validation cases: no best checkpoint',
    ].join('\n');
  } finally {
    gpu.destroy();
  }
}
