// Fine-tuning in the page's worker: the user's files turned into the dataset the library trains
// on, the run set up by the same code as `transseg train` (setUpRun, src/train/setup.ts) and
// trained by its Trainer one step at a time, so that it can pause between steps, report an ETA,
// and save checkpoints to IndexedDB (web/run-db.ts) that a reload resumes from.

import { checkpoint, data, io, model, train, type Gpu } from '../src/index.js';
import type { TrainChoice, TrainResult } from './protocol.js';
import { saveCheckpoint, savedCheckpoint, type Checkpoint } from './run-db.js';

const { channelCount, fileStem, parseDatasetJson, validateDataset, parseIntensity } = data;
const { readNifti, parseSafetensors, serializeSafetensors } = io;
const { readModelFileHeader } = model;
const { segmenterFileContents } = checkpoint;
const { setUpRun, validationsLeft } = train;
type Dataset = data.Dataset;
type VolumeReader = data.VolumeReader;
type NiftiVolume = io.NiftiVolume;
type SafetensorsFile = io.SafetensorsFile;
type SegmenterFileHeader = model.SegmenterFileHeader;
type RunOptions = train.RunOptions;
type TrainerCheckpoint = train.Checkpoint;
type LogRecord = train.LogRecord;
type TrainerStore = train.TrainerStore;

export interface TrainHooks {
  onRecord: (record: LogRecord) => void;
  onProgress: (step: number, steps: number, etaSeconds: number) => void;
  /** Resolves when training may go on (at once, unless the user paused). */
  untilUnpaused: (step: number) => Promise<void>;
}

/** Reads each named file once. */
function fileReader(files: Map<string, File>, where: string): VolumeReader {
  const parsed = new Map<string, Promise<NiftiVolume>>();
  return (path) => {
    let volume = parsed.get(path);
    if (!volume) {
      const file = files.get(path);
      if (!file) throw new Error(`${where} lists ${path}, which is not among the chosen files`);
      volume = file.arrayBuffer().then((bytes) => readNifti(new Uint8Array(bytes), path));
      parsed.set(path, volume);
    }
    return volume;
  };
}

/** Images and labels paired in file-name order; the classes are 0..the largest label value. */
async function pairedDataset(images: File[], labels: File[]): Promise<{ dataset: Dataset; reader: VolumeReader }> {
  const byName = (a: File, b: File) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const [im, lb] = [[...images].sort(byName), [...labels].sort(byName)];
  if (im.length === 0 || im.length !== lb.length) throw new Error(`${im.length} image and ${lb.length} label volumes chosen: choose one label volume per image (paired in file-name order)`);
  // Image and label files often share their names (MSD's imagesTr/ and labelsTr/): each is named by its role.
  const [imagePath, labelPath] = [(f: File) => `images/${f.name}`, (f: File) => `labels/${f.name}`];
  const reader = fileReader(new Map([...im.map((f) => [imagePath(f), f] as const), ...lb.map((f) => [labelPath(f), f] as const)]), 'the chosen files');
  let largest = 0;
  for (const f of lb) {
    const { data } = await reader(labelPath(f));
    for (const v of data) if (v > largest) largest = v;
  }
  const channels = channelCount(await reader(imagePath(im[0])));
  const dataset: Dataset = {
    path: 'the chosen volumes',
    name: 'chosen volumes',
    labels: Object.fromEntries(Array.from({ length: largest + 1 }, (_, k) => [k, k === 0 ? 'background' : `class ${k}`])),
    modality: Object.fromEntries(Array.from({ length: channels }, (_, k) => [k, `channel ${k}`])),
    training: im.map((f, i) => ({ id: fileStem(f.name), image: [imagePath(f)], label: labelPath(lb[i]) })),
    test: [],
  };
  return { dataset, reader };
}

/** A folder holding a dataset.json (the shallowest one) and the files it lists. */
async function folderDataset(files: { path: string; file: File }[]): Promise<{ dataset: Dataset; reader: VolumeReader }> {
  const jsons = files.filter((f) => /(^|\/)dataset\.json$/.test(f.path)).sort((a, b) => a.path.split('/').length - b.path.split('/').length);
  if (jsons.length === 0) throw new Error('the chosen folder holds no dataset.json');
  const { path, file } = jsons[0];
  const dataset = parseDatasetJson(await file.text(), path);
  return { dataset, reader: fileReader(new Map(files.map((f) => [f.path, f.file])), path) };
}

/** The run's options as `transseg train` flags would give them. */
function runOptions(choice: TrainChoice, dataset: Dataset, weights: SafetensorsFile | undefined, resume: boolean): RunOptions {
  const ours = weights && choice.weights ? readModelFileHeader(weights.metadata, choice.weights.name) : null;
  return {
    dataset: dataset.name || dataset.path,
    out: 'browser',
    weights: choice.weights?.name,
    preset: choice.weights ? undefined : choice.preset,
    pretrained: Boolean(choice.weights),
    imageSize: choice.imageSize,
    depth: ours?.kind === 'encoder' ? ours.encoder.depthSlices : choice.depth,
    decoder: choice.decoder,
    settings: {
      steps: choice.steps, batchSize: choice.batchSize, validateEvery: choice.checkpointEvery, logEvery: 1, seed: choice.seed,
      intensity: parseIntensity(choice.intensity, 'train'),
    },
    resume,
  };
}

/** The trainer's files kept in memory and committed to IndexedDB whole at each checkpoint. */
class BrowserRunStore implements TrainerStore {
  private last: Uint8Array | null = null;
  private best: Uint8Array | null = null;
  readonly records: LogRecord[] = [];

  constructor(private readonly header: SegmenterFileHeader, private readonly steps: number, private readonly onRecord: (r: LogRecord) => void) {}

  get lastModel(): Uint8Array | null {
    return this.last;
  }

  restore(checkpoint: Checkpoint): void {
    [this.last, this.best] = [checkpoint.last, checkpoint.best];
    this.records.push(...checkpoint.records);
  }

  /** The checkpoint's model file (and the best one when it is) kept, then everything saved to IndexedDB at once. */
  async commit({ weights, state, isBest }: TrainerCheckpoint): Promise<void> {
    const header = { ...this.header, provenance: { ...this.header.provenance, step: state.step } };
    const { tensors, metadata } = segmenterFileContents(header, weights);
    this.last = serializeSafetensors(tensors, metadata);
    if (isBest) this.best = this.last;
    await saveCheckpoint({ step: state.step, steps: this.steps, last: this.last, best: this.best, state, records: [...this.records] });
  }

  async log(record: LogRecord): Promise<void> {
    this.records.push(record);
    this.onRecord(record);
  }
}

/** Step times: the ETA is the mean of the recent plain steps times the steps left, plus the checkpoints left at their last cost. */
class Eta {
  private recent: number[] = [];
  private checkpointSeconds = 0;

  constructor(private readonly every: number) {}

  add(step: number, seconds: number, first: boolean): void {
    if (first) return; // the first step of a session compiles the shaders
    if (step % this.every === 0) this.checkpointSeconds = Math.max(0, seconds - this.mean());
    else this.recent = [...this.recent.slice(-9), seconds];
  }

  private mean(): number {
    return this.recent.length ? this.recent.reduce((a, b) => a + b, 0) / this.recent.length : 0;
  }

  left(step: number, steps: number): number {
    if (this.recent.length === 0) return NaN;
    // The checkpoints after the one `step` may have made: the trainer's count for the next step.
    return (steps - step) * this.mean() + validationsLeft(step + 1, steps, this.every) * this.checkpointSeconds;
  }
}

/** Trains (or, with `resume`, continues) the run `choice` describes; resolves with the last model file. */
export async function trainInWorker(gpu: Gpu, choice: TrainChoice, resume: boolean, hooks: TrainHooks): Promise<TrainResult> {
  const { dataset, reader } = choice.data.kind === 'pairs' ? await pairedDataset(choice.data.images, choice.data.labels) : await folderDataset(choice.data.files);
  await validateDataset(dataset, reader);
  const weights = choice.weights ? parseSafetensors(new Uint8Array(await choice.weights.arrayBuffer()), choice.weights.name) : undefined;
  const checkpoint = resume ? await savedCheckpoint() : undefined;
  const options = runOptions(choice, dataset, weights, checkpoint !== undefined);
  const run = await setUpRun(gpu, options, {
    dataset, reader, weights,
    store: (header) => new BrowserRunStore(header, choice.steps, hooks.onRecord),
    resume: async (store) => {
      store.restore(checkpoint!);
      return { weights: parseSafetensors(checkpoint!.last, 'the saved checkpoint').tensors, source: 'the saved checkpoint', state: checkpoint!.state };
    },
  });
  const { trainer, model, store, settings } = run;
  try {
    for (const record of store.records) hooks.onRecord(record);
    const eta = new Eta(settings.validateEvery);
    const started = performance.now();
    let first = true;
    hooks.onProgress(trainer.currentStep, settings.steps, NaN);
    while (trainer.currentStep < settings.steps) {
      await hooks.untilUnpaused(trainer.currentStep);
      const stepStarted = performance.now();
      await trainer.run(undefined, trainer.currentStep + 1);
      eta.add(trainer.currentStep, (performance.now() - stepStarted) / 1000, first);
      first = false;
      hooks.onProgress(trainer.currentStep, settings.steps, eta.left(trainer.currentStep, settings.steps));
    }
    const bytes = store.lastModel!;
    return { model: new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }), step: trainer.currentStep, seconds: (performance.now() - started) / 1000 };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}
