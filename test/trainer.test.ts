// The training loop: TransSeg's no-decay rule, the loss falling on a toy volume, and exact resume
// (N steps straight = N/2 steps, a restart from the saved state, N/2 more: identical weights).
import { describe, expect, it } from 'vitest';
import type { LoadedCase } from '../src/data/volume.js';
import type { VitConfig } from '../src/model/config.js';
import { readWeights } from '../src/model/load-weights.js';
import { Segmenter } from '../src/model/segmenter.js';
import type { HostTensor } from '../src/tensor/host-tensor.js';
import { decays, Trainer, type Checkpoint, type LogRecord, type TrainerState, type TrainerStore, type TrainSettings } from '../src/train/trainer.js';
import { loadWeights } from '../src/model/load-weights.js';
import { zScoreScan } from '../src/data/intensity.js';
import { testGpu } from './helpers/gpu.js';
import { rng } from './helpers/random.js';

const config: VitConfig = {
  embedDim: 16, depth: 4, heads: 2, mlpHidden: 32, patchSize: 4, imageSize: [16, 16], inChannels: 1, depthSlices: 3,
  eps: 1e-6, qkvBias: true, layerScale: false, positionEmbedding: true, relativePositionBias: false, prefixTokens: 1,
  finalNorm: 'none', head: { kind: 'none' }, normalization: { mean: [0], std: [1] },
};
const segmenterOptions = { classes: 2, channels: 8, featureIndices: [0, 1, 2, 3] };

/** A 20×18×6 volume: a bright disc (label 1) of varying radius along z, on noise. */
function toyCase(seed: number): LoadedCase {
  const [X, Y, Z] = [20, 18, 6];
  const u = rng(seed);
  const image = new Float32Array(X * Y * Z);
  const label = new Float32Array(X * Y * Z);
  const [cx, cy] = [6 + 8 * u(), 6 + 6 * u()];
  for (let z = 0; z < Z; z++) {
    const r = 3 + z / 2;
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++) {
        const i = (z * Y + y) * X + x;
        const inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
        label[i] = inside ? 1 : 0;
        image[i] = (inside ? 150 : 0) + 60 * (u() - 0.5);
      }
    }
  }
  return { id: `toy${seed}`, image, label, dims: [X, Y, Z], channels: 1, geometry: undefined as never };
}

class MemoryStore implements TrainerStore {
  models = new Map<string, Map<string, HostTensor>>();
  state: TrainerState | null = null;
  records: LogRecord[] = [];
  async commit({ weights, state, isBest }: Checkpoint): Promise<void> {
    this.models.set('last', weights);
    if (isBest) this.models.set('best', weights);
    this.state = state;
  }
  async log(record: LogRecord): Promise<void> { this.records.push(record); }
}

const settings = (steps: number): TrainSettings => ({
  steps, batchSize: 2, accumulate: 2, lr: 2e-3, weightDecay: 0.05, warmup: 2, clip: 1, loss: 'dicefocal',
  validateEvery: steps / 2, logEvery: 1, seed: 7, intensity: { kind: 'clip', aMin: -50, aMax: 200 }, augment: true, zoom: [0.5, 2], intensityScale: null, flipProbability: 0.1,
  cropForeground: null, foregroundFraction: 0, flips: false, postprocess: null,
});

describe('trainer', () => {
  it('applies TransSeg\'s no-decay rule to parameter names', () => {
    expect(decays('encoder.blocks.0.attn.qkv.weight')).toBe(true);
    expect(decays('encoder.blocks.0.norm1.weight')).toBe(true); // not named LayerNorm: decayed, as in TransSeg
    expect(decays('encoder.blocks.0.attn.qkv.bias')).toBe(false);
    expect(decays('encoder.blocks.0.attn.relative_position_bias_table')).toBe(false);
  });

  it('lowers the loss and resumes exactly', async () => {
    const gpu = await testGpu();
    const train = [toyCase(1), toyCase(2)];
    const validation = [toyCase(3)];
    const steps = 8;

    const straightStore = new MemoryStore();
    const straightModel = new Segmenter(gpu, 5, config, segmenterOptions);
    const straight = new Trainer(gpu, straightModel, train, validation, settings(steps), straightStore);
    await straight.run();
    const straightWeights = await readWeights(straightModel);
    const losses = straightStore.records.flatMap((r) => (r.kind === 'train' ? [r.loss] : []));
    expect(losses).toHaveLength(steps);
    expect(Math.min(...losses.slice(-3))).toBeLessThan(losses[0]);
    expect(straightStore.records.filter((r) => r.kind === 'validation')).toHaveLength(2);
    straight.dispose();
    straightModel.dispose();

    // Interrupted after half the steps, then continued from what the store holds.
    const store = new MemoryStore();
    const firstModel = new Segmenter(gpu, 5, config, segmenterOptions);
    const first = new Trainer(gpu, firstModel, train, validation, settings(steps), store);
    await first.run(undefined, steps / 2);
    first.dispose();
    firstModel.dispose();

    const resumedModel = new Segmenter(gpu, 99, config, segmenterOptions); // a different init, overwritten
    loadWeights(resumedModel, store.models.get('last')!, 'last');
    const resumed = new Trainer(gpu, resumedModel, train, validation, settings(steps), store);
    resumed.restore(store.state!);
    await resumed.run();
    const resumedWeights = await readWeights(resumedModel);
    for (const [name, t] of straightWeights) {
      expect([...resumedWeights.get(name)!.data], name).toEqual([...t.data]);
    }
    resumed.dispose();
    resumedModel.dispose();
  });

  it('trains with the flip probability it is given', async () => {
    // Flips never (0) or always (1): the same draws otherwise (one per flip either way), so only
    // the flips can make the losses differ; they would be equal if the setting did not reach the
    // augmentation.
    const gpu = await testGpu();
    const losses = async (flipProbability: number) => {
      const store = new MemoryStore();
      const model = new Segmenter(gpu, 5, config, segmenterOptions);
      const trainer = new Trainer(gpu, model, [toyCase(1), toyCase(2)], [toyCase(3)], { ...settings(2), flipProbability }, store);
      try {
        await trainer.run();
        return store.records.flatMap((r) => (r.kind === 'train' ? [r.loss] : []));
      } finally {
        trainer.dispose();
        model.dispose();
      }
    };
    const [never, always, againNever] = [await losses(0), await losses(1), await losses(0)];
    expect(never).toHaveLength(2);
    expect(againNever).toEqual(never);
    expect(always[0]).not.toBe(never[0]);
  });

  it('with --intensity zscore trains on each scan z-scored once, as if the files held the z-scores', async () => {
    const gpu = await testGpu();
    const zscored = (c: LoadedCase): LoadedCase => ({ ...c, image: zScoreScan(c.image, c.channels, c.dims) });
    const run = async (intensity: TrainSettings['intensity'], cases: LoadedCase[]) => {
      const store = new MemoryStore();
      const model = new Segmenter(gpu, 5, config, segmenterOptions);
      const trainer = new Trainer(gpu, model, cases.slice(0, 2), cases.slice(2), { ...settings(2), intensity, cropForeground: 0 }, store);
      try {
        await trainer.run();
        return { records: store.records.map((r) => (r.kind === 'train' ? { ...r, stepsPerSecond: 0 } : r)), weights: await readWeights(model) };
      } finally {
        trainer.dispose();
        model.dispose();
      }
    };
    const cases = [toyCase(1), toyCase(2), toyCase(3)];
    const viaSpec = await run({ kind: 'zscore' }, cases);
    const byHand = await run({ kind: 'none' }, cases.map(zscored));
    expect(viaSpec.records.length).toBeGreaterThan(2);
    expect(viaSpec.records).toEqual(byHand.records);
    for (const [name, t] of viaSpec.weights) expect([...byHand.weights.get(name)!.data], name).toEqual([...t.data]);
  });
});
