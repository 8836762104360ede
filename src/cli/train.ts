// `transseg train`: fine-tune a segmenter on an MSD-style dataset. The flags map one to one onto
// RunOptions (src/train/setup-node.ts); see docs/cli.md.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Gpu } from '../gpu/gpu.js';
import type { VitConfig } from '../model/config.js';
import { prepareRun, readRunOptions, type RunOptions } from '../train/setup-node.js';
import type { Connectivity, PostProcessing } from '../infer/postprocess.js';
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
  'foreground-fraction': { type: 'string' }, 'tta-flips': { type: 'boolean' }, 'keep-largest': { type: 'string' },
  'min-island': { type: 'string' }, connectivity: { type: 'string' }, 'mask-nonzero': { type: 'boolean' },
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

async function optionsFromFlags(argv: string[]): Promise<RunOptions> {
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

/** --keep-largest, --min-island, --connectivity, --mask-nonzero; undefined when none is given. */
function postProcessing(v: { 'keep-largest'?: string; 'min-island'?: string; connectivity?: string; 'mask-nonzero'?: boolean }): PostProcessing | undefined {
  const p: PostProcessing = definedOnly({
    largestComponent: oneOf('keep-largest', v['keep-largest'], ['classes', 'foreground'] as const),
    minIslandVoxels: number('min-island', v['min-island'], true),
    maskNonzero: v['mask-nonzero'] ? true : undefined,
  });
  if (v.connectivity !== undefined) {
    if (Object.keys(p).length === 0) throw new Error('train: --connectivity applies to --keep-largest and --min-island; give one of them');
    p.connectivity = Number(oneOf('connectivity', v.connectivity, ['6', '18', '26'] as const)) as Connectivity;
  }
  return Object.keys(p).length ? p : undefined;
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
