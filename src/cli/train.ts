// `transseg train`: fine-tune a segmenter on an MSD-style dataset. The flags map one to one onto
// RunOptions (src/train/setup-node.ts); see docs/cli.md.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Gpu } from '../gpu/gpu.js';
import type { VitConfig } from '../model/config.js';
import { prepareRun, readRunOptions, type RunOptions } from '../train/setup-node.js';
import type { LossKind } from '../train/trainer.js';
import { parseIntensity, parseRemap, required } from './flags.js';
import { ProgressLine } from './progress.js';

const FLAGS = {
  dataset: { type: 'string' }, out: { type: 'string' }, weights: { type: 'string' }, format: { type: 'string' },
  preset: { type: 'string' }, config: { type: 'string' }, 'force-2d': { type: 'boolean' }, 'no-pretrained': { type: 'boolean' },
  'image-size': { type: 'string' }, depth: { type: 'string' }, method: { type: 'string' }, decoder: { type: 'string' },
  channels: { type: 'string' }, 'feature-blocks': { type: 'string' }, dropout: { type: 'string' }, remap: { type: 'string' },
  'val-fraction': { type: 'string' }, steps: { type: 'string' }, 'batch-size': { type: 'string' }, accumulate: { type: 'string' },
  lr: { type: 'string' }, 'weight-decay': { type: 'string' }, warmup: { type: 'string' }, clip: { type: 'string' },
  loss: { type: 'string' }, 'validate-every': { type: 'string' }, 'log-every': { type: 'string' }, seed: { type: 'string' },
  intensity: { type: 'string' }, 'no-augment': { type: 'boolean' }, zoom: { type: 'string' },
  'crop-foreground': { type: 'string' }, resume: { type: 'boolean' },
} as const;

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
  const { values: v } = parseArgs({ args: argv, options: FLAGS });
  const out = required(v.out, 'out', 'train');
  if (v.resume) {
    const saved = await readRunOptions(out);
    const steps = number('steps', v.steps, true);
    return { ...saved, resume: true, settings: { ...saved.settings, ...(steps ? { steps } : {}) } };
  }
  const modelJson = v.config ? (JSON.parse(await readFile(v.config, 'utf8')) as Partial<VitConfig>) : undefined;
  return {
    dataset: required(v.dataset, 'dataset', 'train'),
    out,
    weights: v.weights,
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
    remap: v.remap ? parseRemap(v.remap, 'train') : undefined,
    validationFraction: number('val-fraction', v['val-fraction'], false),
    settings: {
      steps: number('steps', v.steps, true) ?? 1000,
      intensity: parseIntensity(v.intensity ?? 'ct', 'train'),
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
        zoom: zoomRange(v.zoom),
        cropForeground: number('crop-foreground', v['crop-foreground'], true, 0),
      }),
    },
  };
}

/** `--zoom MIN,MAX`: the augmentation's in-plane zoom range. */
function zoomRange(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map(Number);
  if (parts.length !== 2 || !(parts[0] > 0 && parts[0] <= parts[1] && Number.isFinite(parts[1]))) {
    throw new Error(`train: --zoom must be MIN,MAX with 0 < MIN <= MAX (e.g. 0.5,2), got '${value}'`);
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
    const run = await prepareRun(gpu, options, (line) => process.stderr.write(`${line}\n`));
    const progress = new ProgressLine('train');
    const started = performance.now();
    let lastLoss = NaN;
    await run.trainer.run((p) => {
      if (p.loss !== null) lastLoss = p.loss;
      const shown = Number.isNaN(lastLoss) ? '–' : lastLoss.toFixed(4); // nothing read back yet
      progress.update(p.step, p.steps, `loss ${shown}  ${p.stepsPerSecond.toFixed(2)} steps/s`, p.etaSeconds);
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
