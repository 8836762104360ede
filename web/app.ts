// The page (index.html): wires the inputs, the segmentation, the viewer, the downloads and the
// fine-tuning form together. Everything heavy (the GPU, reading volumes, segmenting, training)
// runs in the worker (web/worker.ts); the main thread only draws and reports, so it stays
// responsive. Each job lives in its own module beside this one; docs/web.md describes the page.

import type { model as models } from '../src/index.js';
import { FineTuning } from './fine-tune.js';
import { checkWebGpu, deviceOptionsFromUrl } from './gpu-status.js';
import { ImageChoice, NIFTI_NAME, showInPicker } from './image-choice.js';
import { offer } from './downloads.js';
import { describeModel } from './model.js';
import { VIEW_NAMES, type ViewName } from './orientation.js';
import type { Event, ImageSummary } from './protocol.js';
import { Viewer, type ViewElements } from './viewer.js';
import { channelProblem } from './volume.js';
import { WorkerClient } from './worker-client.js';

type SegmenterFileHeader = models.SegmenterFileHeader;

const MODEL_NAME = /\.safetensors$/i;

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no element #${id}`);
  return element as T;
}

const ui = {
  adapter: byId('adapter'),
  choose: byId<HTMLFieldSetElement>('choose'),
  modelFile: byId<HTMLInputElement>('model-file'),
  modelInfo: byId('model-info'),
  imageInfo: byId('image-info'),
  wantProbabilities: byId<HTMLInputElement>('want-probabilities'),
  message: byId('message'),
  run: byId<HTMLButtonElement>('run'),
  progress: byId<HTMLProgressElement>('progress'),
  progressText: byId('progress-text'),
  timing: byId('timing'),
  downloads: byId('downloads'),
  downloadLabels: byId<HTMLAnchorElement>('download-labels'),
  downloadProbabilities: byId<HTMLAnchorElement>('download-probabilities'),
  viewer: byId('viewer'),
};

const views = Object.fromEntries(VIEW_NAMES.map((view) => [view, {
  canvas: byId<HTMLCanvasElement>(`view-${view}`),
  slider: byId<HTMLInputElement>(`slice-${view}`),
  value: byId<HTMLOutputElement>(`slice-${view}-value`),
}])) as Record<ViewName, ViewElements>;
const viewer = new Viewer({
  views, opacity: byId<HTMLInputElement>('opacity'), level: byId<HTMLInputElement>('window-level'), width: byId<HTMLInputElement>('window-width'),
  legend: byId<HTMLUListElement>('legend'),
});

let model: SegmenterFileHeader | null = null;
let image: ImageSummary | null = null;
let running = false;
let gpuUsable = false;

const say = (text: string) => { ui.message.textContent = text; };

/** The Segment button is live when everything is there and fits. */
function updateRun(): void {
  const problem = image && model ? channelProblem(image, model) : null;
  if (problem) say(problem);
  ui.run.disabled = running || !gpuUsable || !model || !image || problem !== null;
}

/** Forgets the last result (its downloads and timing): it belongs to other inputs. */
function clearResult(): void {
  for (const link of [ui.downloadLabels, ui.downloadProbabilities]) {
    if (link.href) URL.revokeObjectURL(link.href);
    link.removeAttribute('href');
  }
  ui.downloads.hidden = true;
  ui.timing.textContent = '';
  delete ui.timing.dataset.seconds;
  ui.progress.value = 0;
  ui.progressText.textContent = '';
}

let imageReads = 0;

/** Reads the chosen image files (again) and shows them; a newer call makes an older one moot. */
async function refreshImage(): Promise<void> {
  const read = ++imageReads;
  const files = choice.current();
  image = null;
  clearResult();
  say('');
  updateRun();
  if (typeof files === 'string') {
    ui.imageInfo.textContent = files;
    ui.viewer.hidden = true;
    return;
  }
  ui.imageInfo.textContent = `Reading ${files.map((f) => f.name).join(', ')}…`;
  try {
    const loaded = await worker.call({ type: 'read-case', files });
    if (read !== imageReads) return;
    image = loaded;
  } catch (e) {
    if (read !== imageReads) return;
    ui.imageInfo.textContent = '';
    ui.viewer.hidden = true;
    say((e as Error).message);
    return;
  }
  const { dims, channels } = image;
  ui.imageInfo.textContent = `${image.names.join(', ')}: ${dims.join('×')} voxels, ${channels} channel${channels === 1 ? '' : 's'}.`;
  viewer.show(image);
  ui.viewer.hidden = false;
  updateRun();
}

const choice = new ImageChoice({
  single: byId<HTMLInputElement>('image-file'),
  singleLabel: byId('image-label'),
  fieldset: byId<HTMLFieldSetElement>('modality-files'),
  slots: byId('modality-slots'),
}, () => void refreshImage());

function onEvent(event: Event): void {
  if (event.event === 'segment-progress') {
    ui.progress.value = event.done / event.total;
    ui.progressText.textContent = `${event.done} / ${event.total} slices`;
  } else if (event.event === 'status') {
    say(event.text);
  } else {
    fineTuning.onEvent(event);
  }
}

function gpuLost(text: string): void {
  gpuUsable = false;
  ui.adapter.textContent = text;
  ui.adapter.classList.add('error');
  updateRun();
}

const worker = new WorkerClient(onEvent, (message) => gpuLost(`${message}: reload the page to start again.`));
const fineTuning = new FineTuning(worker, byId);

// The page asks whether there is an adapter at all (and says why not); the worker opens the device.
const gpuReady = checkWebGpu().then(async (problem) => {
  if (problem) {
    ui.adapter.textContent = problem;
    ui.adapter.classList.add('error');
    return false;
  }
  try {
    ui.adapter.textContent = (await worker.call({ type: 'connect', device: deviceOptionsFromUrl(location.search) })).adapter;
    gpuUsable = true;
  } catch (e) {
    gpuLost((e as Error).message);
  }
  updateRun();
  void fineTuning.setGpu(gpuUsable);
  return gpuUsable;
});

async function chooseModel(file: File): Promise<void> {
  const gpu = await gpuReady;
  model = null;
  ui.modelInfo.textContent = '';
  if (!gpu) {
    say('There is no WebGPU here to run the model on: see the message at the top.');
    return;
  }
  try {
    say('Reading the model…');
    const opened = await worker.call({ type: 'open-model', file });
    model = opened.header;
    say('');
    ui.modelInfo.textContent = `${file.name}: ${describeModel(model)} Shaders compiled in ${opened.warmUpSeconds.toFixed(1)} s.`;
    ui.modelInfo.dataset.ready = 'true';
    choice.setModalities(model.modalities);
  } catch (e) {
    say((e as Error).message);
    updateRun();
    return;
  }
  await refreshImage();
}

ui.modelFile.addEventListener('change', () => {
  const file = ui.modelFile.files?.[0];
  if (file) void chooseModel(file);
});

// Files dropped anywhere: the model first (it says which modalities the volumes must be), then
// the volumes. A drop holding anything else is refused as a whole.
document.addEventListener('dragover', (event) => {
  event.preventDefault();
  document.body.classList.add('dragging');
});
document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
document.addEventListener('drop', async (event) => {
  event.preventDefault(); // the browser would otherwise open the file itself
  document.body.classList.remove('dragging');
  if (running) return;
  const files = [...(event.dataTransfer?.files ?? [])];
  const models = files.filter((f) => MODEL_NAME.test(f.name));
  const volumes = files.filter((f) => NIFTI_NAME.test(f.name));
  const others = files.filter((f) => !MODEL_NAME.test(f.name) && !NIFTI_NAME.test(f.name));
  if (others.length > 0) return say(`${others.map((f) => f.name).join(', ')}: not a model (.safetensors) or a volume (.nii, .nii.gz); nothing was taken from this drop.`);
  if (models.length > 1) return say(`${models.length} models dropped (${models.map((f) => f.name).join(', ')}): drop one.`);
  if (models.length === 1) {
    showInPicker(ui.modelFile, models[0]);
    await chooseModel(models[0]);
  }
  if (volumes.length > 0) choice.drop(volumes);
});

ui.run.addEventListener('click', async () => {
  if (!model || !image) return;
  running = true;
  ui.choose.disabled = true;
  updateRun();
  clearResult();
  say('');
  const volume = image;
  try {
    const result = await worker.call({ type: 'segment', probabilities: ui.wantProbabilities.checked });
    viewer.setLabels(result.labels, model.labels);
    ui.timing.dataset.seconds = String(result.seconds);
    ui.timing.textContent = `Segmented ${volume.dims[2]} slices (${volume.dims.join('×')} voxels) in ${result.seconds.toFixed(2)} s on this WebGPU adapter.`;
    offer(ui.downloadLabels, result.files.labels, `${volume.id}_seg.nii.gz`, 'labels');
    offer(ui.downloadProbabilities, result.files.probabilities, `${volume.id}_prob.nii.gz`, 'probabilities');
    ui.downloads.hidden = false;
    if (result.warnings.length) say(`Warning: ${result.warnings.join(' ')}`);
  } catch (e) {
    say(`The segmentation failed: ${(e as Error).message}`);
  } finally {
    running = false;
    ui.choose.disabled = false;
    updateRun();
  }
});
