// `node dist/examples/brats.js --data DIR --out DIR`: whole-tumour segmentation of BRATS-style
// data (FLAIR + T1c) with the library's CLI commands, end to end:
//
//  1. DIR/train/<patient>/ and DIR/validation/<patient>/ folders → OUT/dataset.json (modality files
//     matched by name, src/data/case-folders.ts; labels 1–4 merged into the whole tumour);
//  2. `transseg train` on train/ only with the recipe below (docs/brats.md says why each part is
//     there); the validation patients choose the checkpoint (best validation Dice);
//  3. `transseg evaluate` of the chosen model on the validation patients: per-case Dice and HD95,
//     with the model's recorded flips and post-processing, and without them (--raw);
//  4. OUT/model.safetensors (the chosen model, for `transseg predict --input flair,t1c` or a folder
//     of patient folders) and OUT/report.md (settings, numbers, times, curves).
//
// Options: --weights FILE (the 2-D checkpoint to inflate; default the vit4mnist in ../shared/data,
// --no-pretrained to train from scratch), --steps N, --seed N. Everything else is the recipe.
// --report-only skips steps 1–2 and reports on the run already in OUT/run (e.g. one stopped early:
// its best checkpoint so far).

import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { model } from '../src/index.js';
import { caseFolders, readSafetensorsHeader, runCommand, type EvaluateReportFile } from '../src/node.js';

const { readModelFileHeader } = model;

const MODALITIES = { FLAIR: 'flair', T1c: 't1c' } as const; // modality name → file-name pattern
const LABEL_PATTERN = 'otmulticlass';
const DEFAULT_WEIGHTS = '../shared/data/weights/vit4mnist/vit4mnist.safetensors';

/** The recipe (docs/brats.md): `transseg train` flags besides --dataset, --out, --weights, --steps, --seed. */
const RECIPE = [
  '--preset', 'vit4mnist', '--depth', '5', '--image-size', '168', '--feature-blocks', '1,2,3,5',
  '--remap', '1:1,2:1,3:1,4:1', '--intensity', 'zscore', '--crop-foreground', '4',
  '--batch-size', '4', '--lr', '1e-3', '--warmup', '30', '--loss', 'ce', '--zoom', '0.8,1.25',
  '--intensity-scale', '0.7,1.4', '--foreground-fraction', '0.5',
  '--min-island', '1000', '--mask-foreground', '--tta-flips',
];
const DEFAULT_STEPS = 800;
/** Where the train command's arguments are kept (one a line), for --report-only. */
const TRAIN_ARGS = 'train-args.txt';

const { values } = parseArgs({
  options: {
    data: { type: 'string' }, out: { type: 'string' }, weights: { type: 'string' }, 'no-pretrained': { type: 'boolean' },
    steps: { type: 'string', default: String(DEFAULT_STEPS) }, seed: { type: 'string', default: '1234' },
    'report-only': { type: 'boolean' },
  },
});

function fail(message: string): never {
  process.stderr.write(`brats: ${message}\n`);
  process.exit(1);
}

const say = (line: string) => console.log(line);

async function writeDataset(data: string, out: string): Promise<string> {
  const patterns = Object.values(MODALITIES);
  const split = async (name: string) => (await caseFolders(join(data, name), patterns, LABEL_PATTERN)).map((c) => ({
    id: c.id, image: c.image.map((p) => relative(out, p)), label: relative(out, c.label!),
  }));
  const json = {
    name: 'BRATS (FLAIR + T1c), whole tumour',
    modality: Object.fromEntries(Object.keys(MODALITIES).map((m, k) => [k, m])),
    labels: { 0: 'background', 1: 'necrosis', 2: 'oedema', 3: 'non-enhancing', 4: 'enhancing' },
    training: await split('train'),
    validation: await split('validation'),
    test: [],
  };
  const path = join(out, 'dataset.json');
  await writeFile(path, `${JSON.stringify(json, null, 2)}\n`);
  return path;
}

interface Timed<T> {
  value: T;
  seconds: number;
}

async function timed<T>(work: () => Promise<T>): Promise<Timed<T>> {
  const started = performance.now();
  const value = await work();
  return { value, seconds: (performance.now() - started) / 1000 };
}

const fmt = (x: number | null, digits: number) => (x === null ? 'n/a' : x.toFixed(digits));

function caseTable(report: EvaluateReportFile): string {
  const rows = report.cases.map((c) => `| ${c.name} | ${fmt(c.dice[1], 4)} | ${fmt(c.hd95[1], 1)} |`);
  return ['| case | whole-tumour Dice | HD95 (mm) |', '|---|---|---|', ...rows].join('\n');
}

async function main(): Promise<void> {
  if (!values.data || !values.out) fail('usage: node dist/examples/brats.js --data DIR --out DIR [--steps N] [--seed N] [--weights FILE | --no-pretrained] [--report-only]');
  const data = resolve(values.data);
  const out = resolve(values.out);
  for (const split of ['train', 'validation']) if (!existsSync(join(data, split))) fail(`${data} has no ${split}/ folder of patient folders`);
  await mkdir(out, { recursive: true });
  const started = performance.now();

  const run = join(out, 'run');
  const dataset = join(out, 'dataset.json');
  let trainArgs: string[];
  let trainSeconds: number | null = null;
  if (values['report-only']) {
    if (!existsSync(join(run, 'best.safetensors'))) fail(`--report-only: ${run} holds no best.safetensors`);
    trainArgs = (await readFile(join(out, TRAIN_ARGS), 'utf8')).trim().split('\n');
  } else {
    await writeDataset(data, out);
    say(`dataset: ${dataset}`);
    const weights = values['no-pretrained'] ? null : values.weights ?? DEFAULT_WEIGHTS;
    if (weights && !existsSync(weights)) fail(`the weights ${weights} do not exist; give --weights FILE or --no-pretrained`);
    const steps = values.steps!;
    trainArgs = [
      '--dataset', dataset, '--out', run, ...(weights ? ['--weights', weights] : ['--no-pretrained']), ...RECIPE,
      '--steps', steps, '--seed', values.seed!, '--validate-every', String(Math.max(1, Math.round(Number(steps) / 2))),
    ];
    say(`transseg train ${trainArgs.join(' ')}`);
    await writeFile(join(out, TRAIN_ARGS), `${trainArgs.join('\n')}\n`);
    const trained = await timed(() => runCommand('train', trainArgs));
    say(trained.value);
    trainSeconds = trained.seconds;
  }

  const model = join(out, 'model.safetensors');
  await copyFile(join(run, 'best.safetensors'), model);
  const evaluated = await timed(async () => {
    await runCommand('evaluate', ['--dataset', dataset, '--model', model, '--report', join(out, 'evaluation.json')]);
    return JSON.parse(await readFile(join(out, 'evaluation.json'), 'utf8')) as EvaluateReportFile;
  });
  const raw = await timed(async () => {
    await runCommand('evaluate', ['--dataset', dataset, '--model', model, '--raw', '--report', join(out, 'evaluation-raw.json')]);
    return JSON.parse(await readFile(join(out, 'evaluation-raw.json'), 'utf8')) as EvaluateReportFile;
  });
  const metrics = (await readFile(join(run, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string | number[]>);
  const validations = metrics.filter((m) => m.kind === 'validation');
  const trainRecords = metrics.filter((m) => m.kind === 'train');
  const rates = trainRecords.map((m) => Number(m.stepsPerSecond)).filter(Number.isFinite);
  const meanRate = rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : NaN;
  const total = (performance.now() - started) / 1000;
  const chosen = readModelFileHeader((await readSafetensorsHeader(model)).metadata, model);
  const chosenStep = chosen?.provenance.step ?? '?';

  const report = [
    '# BRATS whole tumour (FLAIR + T1c)',
    '',
    `Data: ${data} (${relative(out, dataset)}); trained on train/ only, the checkpoint chosen on validation/: step ${chosenStep}.`,
    '',
    '## Validation cases (the chosen model, with its recorded test-time flips and post-processing)',
    '',
    caseTable(evaluated.value),
    '',
    'The same model without flips and post-processing (`transseg evaluate --raw`):',
    '',
    caseTable(raw.value),
    '',
    '## Settings',
    '',
    '```sh',
    `transseg train ${trainArgs.join(' ')}`,
    '```',
    '',
    '## Times',
    '',
    `- training (incl. ${validations.length} validations): ${trainSeconds === null ? 'not timed here (--report-only)' : `${trainSeconds.toFixed(0)} s`}, ${meanRate.toFixed(2)} steps/s on average over the log points (${trainRecords.length ? trainRecords[trainRecords.length - 1].step : 0} steps logged)`,
    `- evaluation: ${evaluated.seconds.toFixed(0)} s with flips and post-processing, ${raw.seconds.toFixed(0)} s without`,
    `- total: ${total.toFixed(0)} s`,
    '',
    '## Curves',
    '',
    `![training curves](${relative(out, join(run, 'curves.svg'))})`,
    '',
    '| step | validation whole-tumour Dice (global) |',
    '|---|---|',
    ...validations.map((v) => `| ${v.step} | ${(v.dice as number[])[1].toFixed(4)} |`),
    '',
  ].join('\n');
  await writeFile(join(out, 'report.md'), report);
  say(caseTable(evaluated.value));
  say(`done in ${total.toFixed(0)} s: ${model}, ${join(out, 'report.md')}`);
}

main().catch((e: Error) => fail(e.message));
