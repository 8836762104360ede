// Everything a training run needs before its first step, without touching a file system, so that
// `transseg train` (src/train/setup-node.ts, files on disk) and the browser page's worker (files
// the user dropped) set runs up with the same code: the dataset split and loaded, the encoder's
// configuration and weights for the chosen ablation mode, the model file's header, the segmenter,
// and — when resuming — the weights and trainer state of the run that stopped.

import { adaptCheckpoint, type AdaptOptions } from '../checkpoint/adapters.js';
import { remapLabels, splitCases, type Dataset, type DatasetCase, type LabelRemap, type VolumeReader } from '../data/dataset.js';
import type { IntensitySpec } from '../data/intensity.js';
import { intensityReference } from '../data/intensity-reference.js';
import { loadCase, type LoadedCase } from '../data/volume.js';
import type { Gpu } from '../gpu/gpu.js';
import { inflateCheckpoint } from '../inflate/checkpoint.js';
import type { InflationMethod } from '../inflate/patch-embed.js';
import type { SafetensorsFile } from '../io/safetensors.js';
import { PRESETS, validateConfig, type VitConfig } from '../model/config.js';
import { loadWeights } from '../model/load-weights.js';
import { readModelFileHeader, type SegmenterFileHeader } from '../model/model-file.js';
import { loadVitWeights } from '../model/pretrained.js';
import { Segmenter, type DecoderKind } from '../model/segmenter.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { DEFAULT_SETTINGS, Trainer, type TrainerState, type TrainerStore, type TrainSettings } from './trainer.js';

export interface RunOptions {
  /** The dataset.json's path (Node) or name (the page), for the model file's provenance. */
  dataset: string;
  out: string;
  /** An inflated encoder (`transseg inflate`) or a 2-D checkpoint (inflated here); a path or hf:ORG/REPO[@revision][:file]. */
  weights?: string;
  /** hf: weights from the Hugging Face cache only (as HF_HUB_OFFLINE=1). */
  offline?: boolean;
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
  /** Width of the full-resolution branch from the input (SegmenterOptions.pixelSkip); 0 or absent: none. */
  pixelSkip?: number;
  remap?: LabelRemap;
  /** Fraction of the training cases held out for validation when dataset.json lists none. */
  validationFraction?: number;
  /** Seed of that held-out split; settings.seed when absent (the ablation fixes it across seeds). */
  splitSeed?: number;
  settings: Partial<TrainSettings> & { steps: number; intensity: IntensitySpec };
  /** Continue the run in `out` from its checkpoint (see store-node.ts). */
  resume?: boolean;
  /** Start afresh in an `out` that holds an earlier run, deleting that run's files; refused without. */
  force?: boolean;
}

/** What a resumed run continues from. */
export interface ResumePoint {
  weights: Map<string, HostTensor>;
  /** Names the weights in errors. */
  source: string;
  state: TrainerState;
}

/** The run's inputs, already opened by the caller. */
export interface RunInputs<S extends TrainerStore> {
  dataset: Dataset;
  reader: VolumeReader;
  /** The file `options.weights` names, parsed. */
  weights?: SafetensorsFile;
  /** What the weights' repository says (a Hugging Face config.json): a preset name and settings. */
  weightsRepository?: { preset?: string; repository?: AdaptOptions['repository'] };
  /** Where the run's files go, once the model file's header is known. */
  store: (header: SegmenterFileHeader) => S | Promise<S>;
  /** With `options.resume`: the weights and state to continue from. */
  resume?: (store: S) => Promise<ResumePoint>;
  /** A fresh run, once everything is checked and built: the store may now take its place (Node: the run folder). */
  begin?: (store: S) => Promise<void>;
}

export interface PreparedRun<S extends TrainerStore = TrainerStore> {
  trainer: Trainer;
  model: Segmenter;
  store: S;
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

/** The encoder's config and (inflated) weights for the requested mode; `file` is what o.weights names. */
function resolveEncoder(o: RunOptions, inChannels: number, file: SafetensorsFile | undefined, hints: RunInputs<TrainerStore>['weightsRepository']): EncoderSource {
  const depth = o.force2d ? 1 : o.depth ?? 5;
  const size = (c: VitConfig): [number, number] => (o.imageSize ? [o.imageSize, o.imageSize] : c.imageSize);
  if (!o.weights || !file) {
    if (o.pretrained !== false) throw new Error('train: --weights is required unless --no-pretrained is given');
    const base = o.preset === undefined ? undefined : PRESETS[o.preset];
    if (o.preset !== undefined && !base) throw new Error(`train: unknown --preset '${o.preset}' (known: ${Object.keys(PRESETS).join(', ')})`);
    if (!base && !o.modelJson) throw new Error(`train: without --weights, name the architecture with --preset (one of ${Object.keys(PRESETS).join(', ')}) or a full --config`);
    const merged = { ...base, ...o.modelJson } as VitConfig;
    const config = { ...merged, depthSlices: depth, inChannels, imageSize: size(merged), finalNorm: 'none' as const, head: { kind: 'none' as const } };
    validateConfig(config, o.preset ? `train: preset '${o.preset}'` : 'train: the model JSON');
    return { config, tensors: null, provenance: { architecture: o.preset ?? 'model JSON', pretrained: false } };
  }
  const ours = readModelFileHeader(file.metadata, o.weights, file.tensors);
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
  const checkpoint = adaptCheckpoint(file, { format: o.format as never, preset: o.preset ?? hints?.preset, repository: hints?.repository, config: o.modelJson, fileName: o.weights });
  const inflation = { depth, inChannels, method: o.method ?? 'centering', imageSize: size(checkpoint.config) } as const;
  const inflated = inflateCheckpoint(checkpoint.config, checkpoint.tensors, inflation);
  return {
    config: inflated.config,
    tensors: o.pretrained === false ? null : inflated.tensors,
    provenance: { source: o.weights, sourceFormat: checkpoint.format, pretrained: o.pretrained !== false, ...inflation },
  };
}

/**
 * The training and validation cases: the dataset's own lists, or a seeded `fraction` of
 * `training` held out (none for 0). Errors name the dataset file and the flag.
 */
function splitForRun(dataset: Dataset, fraction: number | undefined, seed: number): { train: DatasetCase[]; validation: DatasetCase[] } {
  const path = dataset.path;
  if (dataset.training.length === 0) throw new Error(`train: ${path} lists no "training" cases; training needs at least one`);
  if (dataset.validation?.length) {
    if (fraction !== undefined) throw new Error(`train: --val-fraction ${fraction}: ${path} has its own "validation" list, which is used as it is; leave --val-fraction out`);
    return { train: dataset.training, validation: dataset.validation };
  }
  if (fraction === 0) return { train: dataset.training, validation: [] };
  if (dataset.training.length < 2) {
    throw new Error(`train: ${path} has one "training" case and no "validation" list; holding cases out for validation needs at least 2 (or give --val-fraction 0 to train without validation)`);
  }
  return splitCases(dataset.training, { fraction: fraction ?? 0.2, seed });
}

/** Sets a run up from opened inputs; `log` hears a line about the dataset (and the resume). */
export async function setUpRun<S extends TrainerStore>(gpu: Gpu, o: RunOptions, inputs: RunInputs<S>, log: (line: string) => void = () => {}): Promise<PreparedRun<S>> {
  const { dataset } = inputs;
  const fraction = o.validationFraction;
  if (fraction !== undefined && !(fraction >= 0 && fraction < 1)) throw new Error(`train: --val-fraction must be in [0, 1) (0: no validation), got ${fraction}`);
  const classNames = remapLabels(dataset.labels, o.remap);
  const labels = Object.keys(classNames).map((k) => classNames[Number(k)]);
  const split = splitForRun(dataset, fraction, o.splitSeed ?? o.settings.seed ?? DEFAULT_SETTINGS.seed);
  const load = (entries: typeof split.train) => Promise.all(entries.map((e) => loadCase(e, inputs.reader, { remap: o.remap })));
  const [train, validation] = [await load(split.train), await load(split.validation)];
  const channels = train[0].channels;
  log(`dataset ${dataset.name}: ${train.length} training and ${validation.length} validation cases, ${labels.length} classes, ${channels} channel(s)`);
  log(`validation cases${dataset.validation?.length ? ' (the dataset\'s validation list)' : ' (a seeded split of training)'}: ${validation.map((c) => c.id).join(', ') || 'none'}`);
  const shared = validation.filter((v) => train.some((t) => t.id === v.id)).map((c) => c.id);
  if (shared.length) log(`note: ${shared.join(', ')} ${shared.length === 1 ? 'is' : 'are'} in both training and validation: validation scores are then not held-out numbers`);

  const encoder = resolveEncoder(o, channels, inputs.weights, inputs.weightsRepository);
  const blocks = encoder.config.depth;
  if (o.featureIndices?.some((i) => !Number.isInteger(i) || i < 0 || i >= blocks)) {
    throw new Error(`train: --feature-blocks ${o.featureIndices.join(',')}: the encoder has ${blocks} blocks, numbered 0..${blocks - 1}`);
  }
  const segmenter = { classes: labels.length, decoder: o.decoder, channels: o.channels, featureIndices: o.featureIndices, dropout: o.dropout,
    pixelSkip: o.pixelSkip || undefined };
  const settings: TrainSettings = { ...DEFAULT_SETTINGS, ...o.settings };
  const reference = intensityReference(train, settings.intensity);
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
      ...(reference ? { intensityReference: reference } : {}),
    },
    ...(settings.flips || settings.postprocess ? { inference: { ...(settings.flips ? { flips: true } : {}), ...(settings.postprocess ? { postprocess: settings.postprocess } : {}) } } : {}),
    validationCases: split.validation.map((c) => c.id),
    provenance: { dataset: o.dataset, force2d: Boolean(o.force2d), ...encoder.provenance, settings },
  };

  // Everything that can be checked is checked (the model and trainer constructors validate their
  // options) before the store takes its place (`begin`: for the CLI, the run folder).
  const store = await inputs.store(header);
  const model = new Segmenter(gpu, settings.seed, encoder.config, segmenter);
  let trainer: Trainer | null = null;
  try {
    // Weights go in before the trainer exists: its optimiser moves the parameters into its arenas.
    const resumed = o.resume ? await resumePoint(inputs, store) : null;
    if (resumed) loadWeights(model, resumed.weights, resumed.source);
    else if (encoder.tensors) loadVitWeights(model.encoder, encoder.tensors, o.weights!);
    trainer = new Trainer(gpu, model, train, validation, settings, store);
    if (resumed) {
      trainer.restore(resumed.state);
      log(`resumed at step ${resumed.state.step}`);
    } else {
      await inputs.begin?.(store);
    }
  } catch (e) {
    trainer?.dispose();
    model.dispose();
    throw e;
  }
  return { trainer, model, store, train, validation, header, settings };
}

function resumePoint<S extends TrainerStore>(inputs: RunInputs<S>, store: S): Promise<ResumePoint> {
  if (!inputs.resume) throw new Error('train: asked to resume, but there is no saved run to resume from');
  return inputs.resume(store);
}
