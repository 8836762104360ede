// The page's worker: it holds the GPU and does every heavy job, so that the page's main thread
// only draws and reports. It opens the model (and compiles its shaders with one small forward
// pass while the page says so), reads the volumes, segments them with the library's predictCase
// (web/segment.ts), and fine-tunes models with the library's trainer (web/training.ts). Messages:
// web/protocol.ts.

import { evaluation, noGrad, scope, Tensor, type DeviceOptions, type Gpu, type LoadedSegmenter } from '../src/index.js';
import { startGpu } from './gpu-status.js';
import { openModel } from './model.js';
import type { Answers, Control, Event, ImageSummary, Reply, Request } from './protocol.js';

const { quantile } = evaluation;
import { forgetRun, saveRunStart, savedCheckpoint, savedChoice } from './run-db.js';
import { segment } from './segment.js';
import { trainInWorker, type TrainHooks } from './training.js';
import { channelProblem, readCase, type ImageCase } from './volume.js';

/** The worker's global scope, as far as this file uses it (web/ is type-checked with the DOM's types). */
const worker = self as unknown as {
  postMessage(message: Reply | Event, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<({ id: number } & Request) | Control>) => void) | null;
};

/** Voxels sampled (evenly strided) for the default grey window: stable percentiles at any size. */
const WINDOW_SAMPLES = 200_000;

let gpu: Promise<{ gpu: Gpu; text: string }> | null = null;
let model: LoadedSegmenter | null = null;
let image: ImageCase | null = null;
let caseReads = 0;
let paused: (() => void) | null = null;
let pauseRequested = false;

const send = (event: Event) => worker.postMessage(event);
let deviceOptions: DeviceOptions = {};
const connect = () => (gpu ??= startGpu(deviceOptions));

/** One forward pass of a one-window zero batch: compiles the pipelines a segmentation uses. */
async function warmUp(loaded: LoadedSegmenter): Promise<number> {
  const started = performance.now();
  const c = loaded.model.encoder.config;
  const shape = [1, c.inChannels, c.depthSlices, ...c.imageSize];
  const wasTraining = loaded.model.training;
  loaded.model.eval();
  const out = noGrad(() => scope(() => loaded.model.forward(Tensor.fromArray(loaded.model.gpu, new Float32Array(shape.reduce((a, b) => a * b, 1)), shape))));
  await out.read();
  out.dispose();
  loaded.model.train(wasTraining);
  return (performance.now() - started) / 1000;
}

/** What the viewer needs of a case: channel 0 (a copy, handed over) and its default window. */
function summarise(c: ImageCase): ImageSummary {
  const { dims, channels, id } = c.volume;
  const voxels = dims[0] * dims[1] * dims[2];
  const firstChannel = c.volume.image.slice(0, voxels);
  const step = Math.max(1, Math.floor(voxels / WINDOW_SAMPLES));
  const sample: number[] = [];
  let [min, max] = [Infinity, -Infinity];
  for (let i = 0; i < voxels; i++) {
    const v = firstChannel[i];
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    if (i % step === 0) sample.push(v);
  }
  const range: [number, number] = sample.length ? [min, max] : [0, 1];
  return { id, names: c.names, dims, channels, affine: c.affine, firstChannel, window: sample.length ? [quantile(sample, 0.01), quantile(sample, 0.99)] : range, range };
}

const trainHooks: TrainHooks = {
  onRecord: (record) => send({ event: 'train-record', record }),
  onProgress: (step, steps, etaSeconds) => send({ event: 'train-progress', step, steps, etaSeconds }),
  untilUnpaused: (step) => {
    if (!pauseRequested) return Promise.resolve();
    send({ event: 'train-paused', step });
    return new Promise<void>((resolve) => { paused = resolve; });
  },
};

async function handle(request: Request): Promise<{ value: Answers[Request['type']]; transfer?: Transferable[] }> {
  switch (request.type) {
    case 'connect':
      deviceOptions = request.device;
      return { value: { adapter: (await connect()).text } };
    case 'open-model': {
      const { gpu: device } = await connect();
      model?.model.dispose();
      model = null;
      const loaded = await openModel(device, request.file);
      send({ event: 'status', text: 'Compiling the shaders for this model (one small forward pass)…' });
      const warmUpSeconds = await warmUp(loaded);
      model = loaded;
      return { value: { header: loaded.header, warmUpSeconds } };
    }
    case 'read-case': {
      // The page asks again when the user changes the files: the latest request's case is the one kept.
      const mine = ++caseReads;
      image = null;
      const read = await readCase(request.files);
      if (mine === caseReads) image = read;
      const summary = summarise(read);
      return { value: summary, transfer: [summary.firstChannel.buffer] };
    }
    case 'segment': {
      if (!model || !image) throw new Error('choose a model and a volume first');
      const problem = channelProblem({ channels: image.volume.channels, names: image.names }, model.header);
      if (problem) throw new Error(problem);
      const result = await segment(model, image, {
        probabilities: request.probabilities,
        onProgress: (done, total) => send({ event: 'segment-progress', done, total }),
      });
      return { value: result, transfer: [result.labels.buffer] };
    }
    case 'saved-run': {
      const [choice, checkpoint] = [await savedChoice(), await savedCheckpoint()];
      if (!choice) return { value: null };
      return { value: { step: checkpoint?.step ?? 0, steps: choice.steps, records: checkpoint?.records ?? [] } };
    }
    case 'train':
      await saveRunStart(request.choice);
      return { value: await trainInWorker((await connect()).gpu, request.choice, false, trainHooks) };
    case 'resume-training': {
      const choice = await savedChoice();
      if (!choice) throw new Error('there is no saved run to resume');
      return { value: await trainInWorker((await connect()).gpu, choice, true, trainHooks) };
    }
    case 'discard-run':
      await forgetRun();
      return { value: null };
  }
}

worker.onmessage = (event) => {
  const message = event.data;
  if (!('id' in message)) {
    pauseRequested = message.type === 'pause';
    if (!pauseRequested && paused) {
      paused();
      paused = null;
    }
    return;
  }
  handle(message).then(
    ({ value, transfer }) => worker.postMessage({ id: message.id, ok: true, value }, transfer),
    (e: unknown) => worker.postMessage({ id: message.id, ok: false, error: (e as Error).message ?? String(e) }),
  );
};
