// Everything a training run needs before its first step (Node): the dataset validated and loaded,
// the encoder's configuration and weights for the chosen ablation mode, the segmenter, the run
// folder, and — with `resume` — the state of the run that stopped.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveWeights } from '../checkpoint/hub-node.js';
import { loadCheckpointFile } from '../checkpoint/load.js';
import { remapLabels, splitCases, type Dataset, type DatasetCase, type LabelRemap } from '../data/dataset.js';
import type { IntensitySpec } from '../data/intensity.js';
import { loadCaseFile, openDataset } from '../data/load-node.js';
import type { LoadedCase } from '../data/volume.js';
import type { Gpu } from '../gpu/gpu.js';
import { inflateCheckpoint } from '../inflate/checkpoint.js';
import { writeFileAtomically } from '../io/atomic-write.js';
import { fileSystemError, fileSystemReason, isFileSystemError } from '../io/file-errors.js';
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
async function resolveEncoder(o: RunOptions, inChannels: number, onDownload?: DownloadProgress): Promise<EncoderSource> {
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
  const weights = await resolveWeights(o.weights, { offline: o.offline, onProgress: onDownload });
  const file = await readSafetensorsFile(weights.path).catch((e) => { throw fileSystemError(e, weights.path, 'read --weights'); });
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
  const checkpoint = await loadCheckpointFile(weights.path, {
    format: o.format as never, preset: o.preset ?? weights.preset, repository: weights.repository, config: o.modelJson,
  });
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

/** Bytes of a weights download so far, and the total. */
export type DownloadProgress = (done: number, total: number) => void;

export async function prepareRun(gpu: Gpu, o: RunOptions, log: (line: string) => void = () => {}, onDownload?: DownloadProgress): Promise<PreparedRun> {
  const fraction = o.validationFraction;
  if (fraction !== undefined && !(fraction >= 0 && fraction < 1)) throw new Error(`train: --val-fraction must be in [0, 1) (0: no validation), got ${fraction}`);
  const { dataset } = await openDataset(o.dataset, { remap: o.remap });
  const classNames = remapLabels(dataset.labels, o.remap);
  const labels = Object.keys(classNames).map((k) => classNames[Number(k)]);
  const split = splitForRun(dataset, fraction, o.splitSeed ?? o.settings.seed ?? DEFAULT_SETTINGS.seed);
  const load = (entries: typeof split.train) => Promise.all(entries.map((e) => loadCaseFile(e, { remap: o.remap })));
  const [train, validation] = [await load(split.train), await load(split.validation)];
  const channels = train[0].channels;
  log(`dataset ${dataset.name}: ${train.length} training and ${validation.length} validation cases, ${labels.length} classes, ${channels} channel(s)`);
  log(`validation cases${dataset.validation?.length ? ' (the dataset\'s validation list)' : ' (a seeded split of training)'}: ${validation.map((c) => c.id).join(', ') || 'none'}`);
  const shared = validation.filter((v) => train.some((t) => t.id === v.id)).map((c) => c.id);
  if (shared.length) log(`note: ${shared.join(', ')} ${shared.length === 1 ? 'is' : 'are'} in both training and validation: validation scores are then not held-out numbers`);

  const encoder = await resolveEncoder(o, channels, onDownload);
  const blocks = encoder.config.depth;
  if (o.featureIndices?.some((i) => !Number.isInteger(i) || i < 0 || i >= blocks)) {
    throw new Error(`train: --feature-blocks ${o.featureIndices.join(',')}: the encoder has ${blocks} blocks, numbered 0..${blocks - 1}`);
  }
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
    ...(settings.flips || settings.postprocess ? { inference: { ...(settings.flips ? { flips: true } : {}), ...(settings.postprocess ? { postprocess: settings.postprocess } : {}) } } : {}),
    validationCases: split.validation.map((c) => c.id),
    provenance: { dataset: o.dataset, force2d: Boolean(o.force2d), ...encoder.provenance, settings },
  };

  // Everything that can be checked is checked (the model and trainer constructors validate their
  // options) before the run folder is touched.
  const store = new RunFolder(o.out, header, log);
  const model = new Segmenter(gpu, settings.seed, encoder.config, segmenter);
  let trainer: Trainer | null = null;
  try {
    // Weights go in before the trainer exists: its optimiser moves the parameters into its arenas.
    const resumed = o.resume ? await store.resume() : null;
    if (resumed) loadWeights(model, resumed.weights, join(o.out, 'checkpoint.json'));
    else if (encoder.tensors) loadVitWeights(model.encoder, encoder.tensors, o.weights!);
    trainer = new Trainer(gpu, model, train, validation, settings, store);
    if (resumed) {
      trainer.restore(resumed.state);
      log(`resumed at step ${resumed.state.step}`);
    } else {
      await store.start(o.force ?? false);
    }
    const runJson = JSON.stringify({ options: o, header }, null, 2) + '\n';
    await writeFileAtomically(join(o.out, 'run.json'), (file) => file.writeFile(runJson));
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
    if (isFileSystemError(e) && e.code === 'ENOENT') throw new Error(`--resume: ${out} holds no run to resume (${path} does not exist); start one without --resume`);
    throw new Error(`--resume: cannot read ${path}: ${isFileSystemError(e) ? fileSystemReason(e) : (e as Error).message}`);
  }
}
