// `transseg ablation`: the statistics against hand-computed values (mean, sd with n − 1, paired
// differences, the t rule), the table and the ordering sentence from hand-made runs, and a tiny
// end-to-end ablation (4 settings × 2 seeds, 2 steps each) on a phantom dataset.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ablationMarkdown } from '../src/ablation/report.js';
import { summariseAblation, type AblationResult, type AblationRun } from '../src/ablation/run-node.js';
import { ABLATION_SETTINGS, chooseSettings } from '../src/ablation/settings.js';
import { mean, pairedDifference, sampleSd, tCritical95 } from '../src/ablation/stats.js';
import { ablation } from '../src/cli/ablation.js';
import { Gpu } from '../src/gpu/gpu.js';
import { VisionTransformer } from '../src/model/vit.js';
import { writePhantomDataset } from '../src/synthetic/phantom-node.js';
import { saveTimmCheckpoint } from '../src/synthetic/pretrain2d-node.js';
import { PHANTOM_VIT } from '../src/synthetic/pretrain2d.js';

describe('ablation statistics', () => {
  it('mean and the sample sd (divisor n − 1)', () => {
    // [0.80, 0.75, 0.85]: mean 0.80, squared deviations 0, 0.0025, 0.0025 → sd √(0.005 / 2) = 0.05.
    expect(mean([0.8, 0.75, 0.85])).toBeCloseTo(0.8, 12);
    expect(sampleSd([0.8, 0.75, 0.85])).toBeCloseTo(0.05, 12);
    expect(sampleSd([0.8])).toBeNull();
    expect(() => mean([])).toThrow(/no values/);
  });

  it('paired differences and the t rule', () => {
    // d = [0.10, 0.03, 0.11]: mean 0.08, sd √((0.02² + 0.05² + 0.03²) / 2) = √0.0019 = 0.043589,
    // t = 0.08 / (0.043589 / √3) = 3.1789 < 4.303 (df 2): within noise.
    const noisy = pairedDifference([0.8, 0.75, 0.85], [0.7, 0.72, 0.74]);
    noisy.differences.forEach((d, k) => expect(d).toBeCloseTo([0.1, 0.03, 0.11][k], 12));
    expect(noisy.mean).toBeCloseTo(0.08, 12);
    expect(noisy.sd).toBeCloseTo(0.0435890, 6);
    expect(noisy.t).toBeCloseTo(3.1789, 4);
    expect(noisy.tCritical).toBe(4.303);
    expect(noisy.verdict).toBe('noise');
    // d = [0.10, 0.11, 0.12]: mean 0.11, sd 0.01, t = 0.11 / (0.01 / √3) = 19.053: clear.
    const clear = pairedDifference([0.8, 0.81, 0.82], [0.7, 0.7, 0.7]);
    expect(clear.t).toBeCloseTo(19.0526, 3);
    expect(clear.verdict).toBe('clear');
    // The same negative difference for every seed: no spread at all, t = −∞, clear.
    expect(pairedDifference([0.5, 0.6], [0.6, 0.7])).toMatchObject({ t: -Infinity, verdict: 'clear' });
    expect(pairedDifference([0.5, 0.6], [0.5, 0.6])).toMatchObject({ t: 0, verdict: 'noise' });
    expect(pairedDifference([0.5], [0.4])).toMatchObject({ t: null, verdict: 'one seed' });
    expect(() => pairedDifference([0.5], [0.4, 0.3])).toThrow(/equally long/);
  });

  it('critical values of Student\'s t', () => {
    expect([1, 2, 4, 9, 30, 100].map(tCritical95)).toEqual([12.706, 4.303, 2.776, 2.262, 2.042, 2.042]);
    expect(() => tCritical95(0)).toThrow(/integer >= 1/);
  });
});

describe('the ablation table', () => {
  const seeds = [1, 2, 3];
  /** Foreground Dice per setting and seed; one foreground class, so the score is that Dice. */
  const scores: Record<string, number[]> = {
    'inflated-centering': [0.8, 0.81, 0.82], 'inflated-inflation': [0.79, 0.8, 0.84], 'wo-d': [0.7, 0.7, 0.7], 'wo-td': [0.6, 0.72, 0.65],
  };
  const runs: AblationRun[] = Object.entries(scores).flatMap(([setting, s]) =>
    s.map((score, k) => ({ setting, seed: seeds[k], score, dice: [0.99, score], trainSeconds: 1, folder: 'x' })));
  const about = { dataset: 'd.json', weights: 'w.safetensors', classes: ['background', 'blob'], validationCases: ['a', 'b'] };
  const result: AblationResult = summariseAblation(runs, ABLATION_SETTINGS, seeds, about);

  it('summarises per setting and pairs the paper\'s comparisons seed by seed', () => {
    expect(result.settings.map((s) => s.summary.mean.toFixed(4))).toEqual(['0.8100', '0.8100', '0.7000', '0.6567']);
    expect(result.settings[0].summary.sd).toBeCloseTo(0.01, 12);
    expect(result.comparisons.map((c) => `${c.a}−${c.b}`)).toEqual([
      'inflated-centering−wo-d', 'wo-d−wo-td', 'inflated-centering−wo-td', 'inflated-centering−inflated-inflation',
    ]);
    // wo-d − wo-td = [0.10, −0.02, 0.05]: mean 0.0433, sd 0.06028, t 1.245: within noise.
    expect(result.comparisons[1].t).toBeCloseTo(1.2451, 3);
    expect(result.comparisons[1].verdict).toBe('noise');
    expect(result.comparisons[0].verdict).toBe('clear');
  });

  it('prints the table, the differences and an honest verdict on the ordering', () => {
    const md = ablationMarkdown(result);
    expect(md).toContain('| inflated pre-trained (centering) | 80.0 | 81.0 | 82.0 | 81.0 ± 1.0 | 81.0 ± 1.0 |');
    expect(md).toContain('| w/o D (2-D, pre-trained) − w/o T&D (2-D, from scratch) | +10.0 | −2.0 | +5.0 | +4.3 ± 6.0 | t = 1.25 (|t| > 4.30 is clear): within noise |');
    expect(md).toContain('The paper\'s ordering holds in the means, but not every step is clear of the seed-to-seed noise');
    const reversed = summariseAblation(runs.map((r) => (r.setting === 'wo-td' ? { ...r, score: r.score + 0.3 } : r)), ABLATION_SETTINGS, seeds, about);
    expect(ablationMarkdown(reversed)).toContain('does **not** hold');
  });

  it('chooses settings by id, in the canonical order', () => {
    expect(chooseSettings('wo-td,inflated-centering').map((s) => s.id)).toEqual(['inflated-centering', 'wo-td']);
    expect(() => chooseSettings('wo-x')).toThrow(/--settings must list some of/);
  });
});

describe('transseg ablation end to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'transseg-ablation-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs 4 settings × 2 seeds and writes the table, the JSON and the plot', async () => {
    const data = await writePhantomDataset(join(dir, 'data'), { training: 3, validation: 1, test: 0, seed: 5, phantom: { dims: [32, 32, 6], spacing: [1.5, 1.5, 4] } });
    const gpu = await Gpu.create();
    const tiny = { ...PHANTOM_VIT, embedDim: 16, depth: 2, heads: 2, mlpHidden: 32, imageSize: [8, 8] as [number, number] };
    const vit = new VisionTransformer(gpu, 1, tiny, { withHead: true });
    const files = await saveTimmCheckpoint(vit, join(dir, 'vit.safetensors'));
    vit.dispose();
    gpu.destroy();
    const out = join(dir, 'ablation');
    const flags = ['--dataset', data.path, '--weights', files.weights, '--config', files.config, '--out', out, '--depth', '3',
      '--decoder', 'convtrans', '--channels', '4', '--batch-size', '2', '--steps', '2', '--log-every', '1',
      '--intensity', 'clip:-100,300', '--no-augment'];
    await expect(ablation([...flags, '--force-2d'])).rejects.toThrow(/--force-2d is what the ablation varies/);
    await expect(ablation(['--out', out])).rejects.toThrow(/^ablation: --dataset is required$/);
    await expect(ablation([...flags, '--lr', 'x'])).rejects.toThrow(/^ablation: --lr must be a number/);
    const markdown = await ablation([...flags, '--seeds', '2', '--seed', '7']);
    expect(markdown).toMatch(/\| inflated pre-trained \(centering\) \| [\d.]+ \| [\d.]+ \| [\d.]+ ± [\d.]+ \|/);
    for (const file of ['ablation.md', 'ablation.json', 'ablation.svg']) expect(existsSync(join(out, file)), file).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'ablation.json'), 'utf8')) as AblationResult;
    expect(json.runs.map((r) => `${r.setting}-${r.seed}`)).toEqual([7, 8].flatMap((s) => ABLATION_SETTINGS.map((x) => `${x.id}-${s}`)));
    expect(json.validationCases).toEqual(data.validation);
    expect(json.comparisons).toHaveLength(4);
    // Each run is a train run with its own seed and setting, recorded in its run.json.
    const run = JSON.parse(readFileSync(join(out, 'runs', 'wo-td-seed8', 'run.json'), 'utf8'));
    expect(run.options).toMatchObject({ force2d: true, pretrained: false });
    expect(run.header.provenance.settings).toMatchObject({ seed: 8, steps: 2, validateEvery: 2 });
    expect(run.header.encoder.depthSlices).toBe(1);
    const inflation = JSON.parse(readFileSync(join(out, 'runs', 'inflated-inflation-seed7', 'run.json'), 'utf8'));
    expect(inflation.header.provenance).toMatchObject({ method: 'inflation', depth: 3, pretrained: true });
    expect(readFileSync(join(out, 'ablation.svg'), 'utf8')).toMatch(/^<svg [\s\S]*seed 8[\s\S]*<\/svg>\n$/);
  }, 120_000);
});
