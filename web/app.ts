// The page (index.html): holds the state (the GPU, the model, the case) and wires the inputs, the
// segmentation, the viewer and the downloads together. Each job lives in its own module beside
// this one; docs/web.md describes the page.

import type { LoadedSegmenter } from '../src/index.js';
import { connectGpu } from './gpu-status.js';
import { ImageChoice, NIFTI_NAME, showInPicker } from './image-choice.js';
import { describeModel, openModel } from './model.js';
import { VIEW_NAMES, type ViewName } from './orientation.js';
import { segment } from './segment.js';
import { Viewer, type ViewElements } from './viewer.js';
import { channelProblem, readCase, type ImageCase } from './volume.js';

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
const viewer = new Viewer({ views, opacity: byId<HTMLInputElement>('opacity'), legend: byId<HTMLUListElement>('legend') });

let model: LoadedSegmenter | null = null;
let image: ImageCase | null = null;
let running = false;
let gpuUsable = false;

const say = (text: string) => { ui.message.textContent = text; };

/** The Segment button is live when everything is there and fits. */
function updateRun(): void {
  const problem = image && model ? channelProblem(image, model.header) : null;
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
    const loaded = await readCase(files);
    if (read !== imageReads) return;
    image = loaded;
  } catch (e) {
    if (read !== imageReads) return;
    ui.imageInfo.textContent = '';
    ui.viewer.hidden = true;
    say((e as Error).message);
    return;
  }
  const { dims, channels } = image.volume;
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

const gpuReady = connectGpu().then((status) => {
  ui.adapter.textContent = status.text;
  ui.adapter.classList.toggle('error', !status.gpu);
  gpuUsable = status.gpu !== null;
  void status.gpu?.device.lost.then((info) => {
    gpuUsable = false;
    ui.adapter.textContent = `The GPU device was lost (${info.message || info.reason}): reload the page to start again.`;
    ui.adapter.classList.add('error');
    updateRun();
  });
  updateRun();
  return status.gpu;
});

async function chooseModel(file: File): Promise<void> {
  const gpu = await gpuReady;
  model?.model.dispose();
  model = null;
  ui.modelInfo.textContent = '';
  if (!gpu) {
    say('There is no WebGPU here to run the model on: see the message at the top.');
    return;
  }
  try {
    model = await openModel(gpu, file);
    ui.modelInfo.textContent = `${file.name}: ${describeModel(model.header)}`;
    choice.setModalities(model.header.modalities);
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
  const { volume } = image;
  try {
    const result = await segment(model, image, {
      probabilities: ui.wantProbabilities.checked,
      onProgress: (done, total) => {
        ui.progress.value = done / total;
        ui.progressText.textContent = `${done} / ${total} slices`;
      },
    });
    viewer.setLabels(result.labels, model.header.labels);
    ui.timing.dataset.seconds = String(result.seconds);
    ui.timing.textContent = `Segmented ${volume.dims[2]} slices (${volume.dims.join('×')} voxels) in ${result.seconds.toFixed(2)} s on this WebGPU adapter.`;
    offer(ui.downloadLabels, result.files.labels, `${volume.id}_seg.nii.gz`, 'labels');
    offer(ui.downloadProbabilities, result.files.probabilities, `${volume.id}_prob.nii.gz`, 'probabilities');
    ui.downloads.hidden = false;
  } catch (e) {
    say(`The segmentation failed: ${(e as Error).message}`);
  } finally {
    running = false;
    ui.choose.disabled = false;
    updateRun();
  }
});

/** Points a download link at `blob` (hidden when there is none). */
function offer(link: HTMLAnchorElement, blob: Blob | undefined, name: string, what: string): void {
  link.hidden = !blob;
  if (!blob) return;
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.textContent = `Download ${what} (${name}, ${fileSize(blob.size)})`;
}

function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  return bytes < 1024 ** 2 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
