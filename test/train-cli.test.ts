// `transseg train` end to end on a tiny phantom dataset: the run folder's files, what the model
// file records for `evaluate` (label remap, validation cases), `--resume` through the CLI, and
// bad arguments that fail before anything is written.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate, type EvaluateReportFile } from '../src/cli/evaluate.js';
import { train } from '../src/cli/train.js';
import { splitCases } from '../src/data/dataset.js';
import { writePhantomDataset } from '../src/synthetic/phantom-node.js';
import { readSafetensorsFile } from '../src/io/safetensors-node.js';
import { readModelFileHeader, type SegmenterFileHeader } from '../src/model/model-file.js';
import { captureStderr } from './helpers/stderr.js';

const dir = mkdtempSync(join(tmpdir(), 'transseg-train-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const path = (...parts: string[]) => join(dir, ...parts);

/** ViT-Tiny's settings, shrunk to a few lavapipe steps in seconds. */
const CONFIG = { embedDim: 16, depth: 2, heads: 2, mlpHidden: 32, patchSize: 4, normalization: { mean: [0], std: [1] } };
const SEED = 3;
let ids: string[] = [];

beforeAll(async () => {
  // No validation list: train holds out a seeded fifth of the training cases.
  const files = await writePhantomDataset(path('data'), { training: 5, validation: 0, test: 0, seed: 11, phantom: { dims: [32, 32, 6], spacing: [1.5, 1.5, 4] } });
  ids = files.training;
  writeFileSync(path('vit.json'), JSON.stringify(CONFIG));
});

const baseFlags = (out: string) => [
  '--dataset', path('data', 'dataset.json'), '--out', out, '--no-pretrained', '--preset', 'vit_tiny_patch16_224', '--config', path('vit.json'),
  '--image-size', '8', '--depth', '3', '--decoder', 'convtrans', '--channels', '4', '--batch-size', '2',
  '--validate-every', '2', '--log-every', '1', '--remap', '3:2', '--intensity', 'clip:-100,300', '--seed', String(SEED),
];

async function header(file: string): Promise<SegmenterFileHeader> {
  const read = readModelFileHeader((await readSafetensorsFile(file)).metadata, file);
  expect(read?.kind).toBe('segmenter');
  return read as SegmenterFileHeader;
}

const records = (out: string) => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; step: number });

describe('transseg train', () => {
  it('writes the run folder, records remap and split, resumes, and evaluate uses what it recorded', async () => {
    const out = path('run');
    const summary = await train([...baseFlags(out), '--steps', '4', '--zoom', '0.8,1.25']);
    expect(summary).toMatch(/^trained to step 4 in \d+ s; files in .*run\/\nbest validation \(step [24]\): mean Dice [\d.]+ incl\. background; per class background [\d.]+, sphere [\d.]+, capsule \+ torus [\d.]+$/);
    for (const file of ['best.safetensors', 'last.safetensors', 'checkpoint.json', 'metrics.jsonl', 'curves.svg', 'run.json']) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    const expectedValidation = splitCases(ids, { fraction: 0.2, seed: SEED }).validation;
    const best = await header(join(out, 'best.safetensors'));
    expect(best.labels).toEqual(['background', 'sphere', 'capsule + torus']);
    expect(best.preprocessing).toEqual({ intensity: { kind: 'clip', aMin: -100, aMax: 300 }, remap: { 3: 2 }, intensityReference: expect.any(Object) });
    expect(best.validationCases).toEqual(expectedValidation);
    expect(best.encoder.depthSlices).toBe(3);
    expect(best.provenance.settings).toMatchObject({ augment: true, zoom: [0.8, 1.25], loss: 'dicefocal', seed: SEED });
    expect(records(out).map((r) => `${r.kind}:${r.step}`)).toEqual(['train:1', 'train:2', 'validation:2', 'train:3', 'train:4', 'validation:4']);

    // --resume takes everything else from run.json.
    expect(await train(['--out', out, '--resume', '--steps', '6'])).toMatch(/^trained to step 6 /);
    expect(records(out).filter((r) => r.kind === 'train').map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await header(join(out, 'last.safetensors'))).provenance.step).toBe(6);

    // Without augmentation, cropped to the foreground: both recorded, the crop for predict and evaluate.
    // And with a pixel skip, recorded as the model's layout.
    await train([...baseFlags(path('plain')), '--steps', '1', '--no-augment', '--crop-foreground', '2', '--pixel-skip', '2']);
    const plain = await header(join(path('plain'), 'last.safetensors'));
    expect(plain.provenance.settings).toMatchObject({ augment: false, cropForeground: 2 });
    expect(plain.segmenter.pixelSkip).toBe(2);
    expect(best.segmenter.pixelSkip).toBeUndefined();
    expect(plain.preprocessing.cropForeground).toBe(2);
    // The training scans' intensities as the model saw them: one value per channel, in order.
    const reference = plain.preprocessing.intensityReference!;
    expect(reference.median).toHaveLength(plain.encoder.inChannels);
    reference.median.forEach((m, c) => expect(reference.p1[c] <= m && m <= reference.p99[c] && reference.p1[c] < reference.p99[c]).toBe(true));

    // evaluate without --remap or split flags scores the model on its own validation cases, whose
    // intensities are like the training cases' (no warning).
    const { lines: stderr } = await captureStderr(() => evaluate(['--dataset', path('data', 'dataset.json'), '--model', join(out, 'best.safetensors'), '--report', path('report.json')]));
    expect(stderr.filter((l) => l.startsWith('warning:'))).toEqual([]);
    const report = JSON.parse(readFileSync(path('report.json'), 'utf8')) as EvaluateReportFile;
    expect(report.remap).toEqual({ 3: 2 });
    expect(report.cases.map((c) => c.name)).toEqual(expectedValidation);
  });

  it('records flips, post-processing and the sample policy; prints the split, validation progress and when the loss was read', async () => {
    const out = path('inference');
    const { lines } = await captureStderr(() => train([...baseFlags(out), '--steps', '2', '--foreground-fraction', '0.5', '--tta-flips',
      '--keep-largest', 'foreground', '--min-island', '3', '--connectivity', '6', '--mask-foreground', '--intensity-scale', '0.7,1.4',
      '--flip-probability', '0.5']));
    const text = lines.join('');
    const expectedValidation = splitCases(ids, { fraction: 0.2, seed: SEED }).validation;
    expect(text).toContain(`validation cases (a seeded split of training): ${expectedValidation.join(', ')}`);
    expect(text).toMatch(new RegExp(`validate \\(step 2\\) .*${expectedValidation[0]} \\(1/1\\) \\d+/\\d+ slices`));
    expect(text).toMatch(/train 2\/2 .* loss [\d.]+ \(step 2\)/);
    const best = await header(join(out, 'best.safetensors'));
    expect(best.inference).toEqual({ flips: true, postprocess: { largestComponent: 'foreground', minIslandVoxels: 3, maskForeground: true, connectivity: 6 } });
    expect(best.provenance.settings).toMatchObject({ foregroundFraction: 0.5, flips: true, intensityScale: [0.7, 1.4], flipProbability: 0.5 });

    // evaluate applies them; --raw leaves them out (a random 2-step model: the numbers differ or not, both must run).
    for (const raw of [[], ['--raw']]) {
      await evaluate(['--dataset', path('data', 'dataset.json'), '--model', join(out, 'best.safetensors'), ...raw, '--report', path('inference.json')]);
      expect((JSON.parse(readFileSync(path('inference.json'), 'utf8')) as EvaluateReportFile).cases.map((c) => c.name)).toEqual(expectedValidation);
    }
    await expect(train([...baseFlags(path('never-fg')), '--steps', '1', '--foreground-fraction', '2'])).rejects.toThrow(/--foreground-fraction must be a fraction in \[0, 1\]/);
    await expect(train([...baseFlags(path('never-cc')), '--steps', '1', '--connectivity', '6'])).rejects.toThrow(/--connectivity applies to --keep-largest and --min-island/);
    await expect(train([...baseFlags(path('never-kl')), '--steps', '1', '--keep-largest', 'all'])).rejects.toThrow(/--keep-largest must be one of classes, foreground/);
  });

  it('fails clearly before writing anything', async () => {
    const out = path('bad');
    await expect(train(['--dataset', path('missing.json'), '--out', out, '--no-pretrained', '--preset', 'vit_tiny_patch16_224', '--steps', '1']))
      .rejects.toThrow(/missing\.json/);
    await expect(train(['--dataset', path('data', 'dataset.json'), '--out', out, '--steps', '1'])).rejects.toThrow(/--weights is required unless --no-pretrained is given/);
    await expect(train(['--dataset', path('data', 'dataset.json'), '--out', out, '--no-pretrained', '--steps', '1']))
      .rejects.toThrow(/name the architecture with --preset/);
    await expect(train([...baseFlags(out), '--steps', '0'])).rejects.toThrow(/--steps must be an integer ≥ 1, got '0'/);
    await expect(train([...baseFlags(out), '--steps', '2', '--remap', '9:1'])).rejects.toThrow(/label 9 is not declared/);
    await expect(train([...baseFlags(out), '--steps', '2', '--zoom', '2,1'])).rejects.toThrow(/--zoom must be MIN,MAX with 0 < MIN <= MAX \(e\.g\. 0\.5,2\), got '2,1'/);
    await expect(train([...baseFlags(out), '--steps', '2', '--intensity-scale', '1.4'])).rejects.toThrow(/--intensity-scale must be MIN,MAX with 0 < MIN <= MAX \(e\.g\. 0\.7,1\.4\), got '1\.4'/);
    await expect(train([...baseFlags(out), '--steps', '2', '--no-augment', '--intensity-scale', '0.7,1.4'])).rejects.toThrow(/--no-augment turns the augmentation off, --intensity-scale sets part of it/);
    await expect(train([...baseFlags(out), '--steps', '2', '--flip-probability', '2'])).rejects.toThrow(/--flip-probability must be a fraction in \[0, 1\], got '2'/);
    await expect(train([...baseFlags(out), '--steps', '2', '--no-augment', '--flip-probability', '0.5'])).rejects.toThrow(/--no-augment turns the augmentation off, --flip-probability sets part of it/);
    expect(existsSync(out)).toBe(false);
  });
});
