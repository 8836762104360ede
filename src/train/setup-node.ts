// Everything a training run needs before its first step (Node): the dataset validated and loaded,
// the encoder's configuration and weights for the chosen ablation mode, the segmenter, the run
// folder, and — with `resume` — the state of the run that stopped.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCheckpointFile } from '../checkpoint/load.js';
import { remapLabels, trainingSplit, type LabelRemap } from '../data/dataset.js';
import type { IntensitySpec } from '../data/intensity.js';
import { loadCaseFile, openDataset } from '../data/load-node.js';
import type { LoadedCase } from '../data/volume.js';
import type { Gpu } from '../gpu/gpu.js';
import { inflateCheckpoint } from '../inflate/checkpoint.js';
import type { InflationMethod } from '../inflate/patch-embed.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { PRESETS, validateConfig, type VitConfig } from '../model/config.js';
import { loadWeights } from '../model/load-weights.js';
import { readModelFileHeader, type SegmenterFileHeader } from '../model/model-file.js';
import { loadVitWeights } from '../model/pretrained.js';
import { Segmenter, type DecoderKind } from '../model/segmenter.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { RunFolder } from './store-node.js';
import { DEFAULT_SETTINGS, Trainer, type TrainSettings } from './trainer.js';

export interface RunOptions {
  dataset: string;
  out: string;
  /** An inflated encoder (`transseg inflate`) or a 2-D checkpoint (inflated here). */
  weights?: string;
  /** For a 2-D checkpoint: layout, preset, model JSON (see docs/checkpoints.md). */
  format?: string;
  preset?: string;
  modelJson?: Partial<VitConfig>;
  /** The paper's "w/o D": a depth-1 model fed the centre slice only. */
  force2d?: boolean;
  /** The paper's "w/o T" part: keep the initialisation, load no weights. */
  pretrained?: boolean;
  /** In-plane model size S (S×S); the checkpoint's when absent. */
  imageSize?: number;
  depth?: number;
  method?: InflationMethod;
  decoder?: DecoderKind;
  channels?: number;
  featureIndices?: number[];
  dropout?: number;
  remap?: LabelRemap;
  /** Fraction of the training cases held out for validation when dataset.json lists none. */
  validationFraction?: number;
  /** Seed of that held-out split; settings.seed when absent (the ablation fixes it across seeds). */
  splitSeed?: number;
  settings: Partial<TrainSettings> & { steps: number; intensity: IntensitySpec };
  resume?: boolean;
}

export interface PreparedRun {
  trainer: Trainer;
  model: Segmenter;
  store: RunFolder;
  train: LoadedCase[];
  validation: LoadedCase[];
  header: SegmenterFileHeader;
  settings: TrainSettings;
}

interface EncoderSource {
  config: VitConfig;
  tensors: Map<string, HostTensor> | null;
  provenance: Record<string, unknown>;
}

/** The encoder's config and (inflated) weights for the requested mode. */
async function resolveEncoder(o: RunOptions, inChannels: number): Promise<EncoderSource> {
  const depth = o.force2d ? 1 : o.depth ?? 5;
  const size = (c: VitConfig): [number, number] => (o.imageSize ? [o.imageSize, o.imageSize] : c.imageSize);
  if (!o.weights) {
    if (o.pretrained !== false) throw new Error('train: --weights is required unless --no-pretrained is given');
    const base = o.preset === undefined ? undefined : PRESETS[o.preset];
    if (o.preset !== undefined && !base) throw new Error(`train: unknown --preset '${o.preset}' (known: ${Object.keys(PRESETS).join(', ')})`);
    if (!base && !o.modelJson) throw new Error(`train: without --weights, name the architecture with --preset (one of ${Object.keys(PRESETS).join(', ')}) or a full --config`);
    const merged = { ...base, ...o.modelJson } as VitConfig;
    const config = { ...merged, depthSlices: depth, inChannels, imageSize: size(merged), finalNorm: 'none' as const, head: { kind: 'none' as const } };
    validateConfig(config, o.preset ? `train: preset '${o.preset}'` : 'train: the model JSON');
    return { config, tensors: null, provenance: { architecture: o.preset ?? 'model JSON', pretrained: false } };
  }
  const file = await readSafetensorsFile(o.weights);
  const ours = readModelFileHeader(file.metadata, o.weights);
  if (ours) {
    if (ours.kind !== 'encoder') throw new Error(`train: ${o.weights} is a trained segmenter; give an encoder or a 2-D checkpoint (or use --resume)`);
    const c = ours.encoder;
    const problems = [
      c.depthSlices !== depth && `depth ${c.depthSlices} (the run needs ${depth}${o.force2d ? ', --force-2d' : ''})`,
      c.inChannels !== inChannels && `${c.inChannels} input channels (the dataset has ${inChannels})`,
      o.imageSize && c.imageSize.some((s) => s !== o.imageSize) && `image size ${c.imageSize.join('×')} (--image-size ${o.imageSize})`,
    ].filter(Boolean);
    if (problems.length) throw new Error(`train: the encoder ${o.weights} was inflated for ${problems.join(', ')}; inflate the 2-D checkpoint again or pass it directly`);
    return { config: c, tensors: o.pretrained === false ? null : file.tensors, provenance: { encoder: o.weights, ...ours.provenance } };
  }
  const checkpoint = await loadCheckpointFile(o.weights, { format: o.format as never, preset: o.preset, config: o.modelJson });
  const inflation = { depth, inChannels, method: o.method ?? 'centering', imageSize: size(checkpoint.config) } as const;
  const inflated = inflateCheckpoint(checkpoint.config, checkpoint.tensors, inflation);
  return {
    config: inflated.config,
    tensors: o.pretrained === false ? null : inflated.tensors,
    provenance: { source: o.weights, sourceFormat: checkpoint.format, pretrained: o.pretrained !== false, ...inflation },
  };
}

export async function prepareRun(gpu: Gpu, o: RunOptions, log: (line: string) => void = () => {}): Promise<PreparedRun> {
  const { dataset } = await openDataset(o.dataset, { remap: o.remap });
  const classNames = remapLabels(dataset.labels, o.remap);
  const labels = Object.keys(classNames).map((k) => classNames[Number(k)]);
  const split = dataset.validation?.length ? { train: dataset.training, validation: dataset.validation } : trainingSplit(dataset, { fraction: o.validationFraction ?? 0.2, seed: o.splitSeed ?? o.settings.seed ?? DEFAULT_SETTINGS.seed });
  const load = (entries: typeof split.train) => Promise.all(entries.map((e) => loadCaseFile(e, { remap: o.remap })));
  const [train, validation] = [await load(split.train), await load(split.validation)];
  const channels = train[0].channels;
  log(`dataset ${dataset.name}: ${train.length} training and ${validation.length} validation cases, ${labels.length} classes, ${channels} channel(s)`);

  const encoder = await resolveEncoder(o, channels);
  const segmenter = { classes: labels.length, decoder: o.decoder, channels: o.channels, featureIndices: o.featureIndices, dropout: o.dropout };
  const settings: TrainSettings = { ...DEFAULT_SETTINGS, ...o.settings };
  const header: SegmenterFileHeader = {
    kind: 'segmenter',
    encoder: encoder.config,
    segmenter,
    labels,
    modalities: Array.from({ length: channels }, (_, k) => dataset.modality[k] ?? `channel ${k}`),
    preprocessing: {
      intensity: settings.intensity,
      ...(settings.cropForeground !== null ? { cropForeground: settings.cropForeground } : {}),
      ...(o.remap && Object.keys(o.remap).length ? { remap: o.remap } : {}),
    },
    validationCases: split.validation.map((c) => c.id),
    provenance: { dataset: o.dataset, force2d: Boolean(o.force2d), ...encoder.provenance, settings },
  };

  await mkdir(o.out, { recursive: true });
  const store = new RunFolder(o.out, header);
  const model = new Segmenter(gpu, settings.seed, encoder.config, segmenter);
  let trainer: Trainer | null = null;
  try {
    if (o.resume) {
      const last = join(o.out, 'last.safetensors');
      loadWeights(model, (await readSafetensorsFile(last)).tensors, last);
    } else if (encoder.tensors) {
      loadVitWeights(model.encoder, encoder.tensors, o.weights!);
    }
    trainer = new Trainer(gpu, model, train, validation, settings, store);
    if (o.resume) {
      const state = await store.readState();
      trainer.restore(state);
      await store.resumeLog(state.step);
      log(`resumed at step ${state.step}`);
    }
    await writeFile(join(o.out, 'run.json'), JSON.stringify({ options: o, header }, null, 2) + '\n');
  } catch (e) {
    trainer?.dispose();
    model.dispose();
    throw e;
  }
  return { trainer, model, store, train, validation, header, settings };
}

/** The options a run was started with (run.json), for --resume. */
export async function readRunOptions(out: string): Promise<RunOptions> {
  const path = join(out, 'run.json');
  try {
    return (JSON.parse(await readFile(path, 'utf8')) as { options: RunOptions }).options;
  } catch (e) {
    throw new Error(`--resume: cannot read ${path} (${(e as Error).message}); was a run started in ${out}?`);
  }
}
