// The fine-tuning form: the starting model (a 2-D checkpoint or an inflated encoder, or from
// scratch), the labelled volumes (image + label files paired in name order, or a folder with a
// dataset.json), a few settings, and the run itself in the worker with a live loss / Dice curve,
// a progress bar with an ETA, pause and resume, a download of the model file, and — after a
// reload — the saved run offered for resuming.

import { PRESETS, type train } from '../src/index.js';
import { offer } from './downloads.js';
import type { Event, TrainChoice, TrainResult } from './protocol.js';

type LogRecord = train.LogRecord;
import type { WorkerClient } from './worker-client.js';

type ById = <T extends HTMLElement = HTMLElement>(id: string) => T;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'estimating the time left';
  const s = Math.round(seconds);
  return s < 60 ? `about ${s} s left` : `about ${Math.floor(s / 60)} min ${s % 60} s left`;
}

export class FineTuning {
  private readonly ui;
  private records: LogRecord[] = [];
  private data: 'pairs' | 'folder' = 'pairs';
  private gpuUsable = false;
  private running = false;
  private paused = false;

  constructor(private readonly worker: WorkerClient, byId: ById) {
    const input = (id: string) => byId<HTMLInputElement>(id);
    this.ui = {
      form: byId<HTMLFieldSetElement>('train-form'),
      weights: input('train-weights'), scratch: input('train-scratch'), preset: byId<HTMLSelectElement>('train-preset'),
      images: input('train-images'), labels: input('train-labels'), folder: input('train-folder'),
      steps: input('train-steps'), imageSize: input('train-image-size'), depth: input('train-depth'), batch: input('train-batch'),
      decoder: byId<HTMLSelectElement>('train-decoder'), intensity: input('train-intensity'), every: input('train-every'), seed: input('train-seed'),
      start: byId<HTMLButtonElement>('train-start'), pause: byId<HTMLButtonElement>('train-pause'),
      progress: byId<HTMLProgressElement>('train-progress'), progressText: byId('train-progress-text'),
      curve: byId<HTMLCanvasElement>('train-curve'), message: byId('train-message'), download: byId<HTMLAnchorElement>('train-download'),
      saved: byId('train-saved'), savedText: byId('train-saved-text'), resume: byId<HTMLButtonElement>('train-resume'), discard: byId<HTMLButtonElement>('train-discard'),
    };
    const ui = this.ui;
    ui.preset.replaceChildren(...Object.keys(PRESETS).map((name) => new Option(name, name)));
    ui.images.addEventListener('change', () => { this.data = 'pairs'; });
    ui.labels.addEventListener('change', () => { this.data = 'pairs'; });
    ui.folder.addEventListener('change', () => { this.data = 'folder'; });
    ui.start.addEventListener('click', () => void this.start());
    ui.pause.addEventListener('click', () => this.togglePause());
    ui.resume.addEventListener('click', () => void this.train(this.worker.call({ type: 'resume-training' })));
    ui.discard.addEventListener('click', async () => {
      await this.worker.call({ type: 'discard-run' });
      ui.saved.hidden = true;
    });
  }

  /** Called once the page knows whether the worker has a GPU; then a saved run is offered. */
  async setGpu(usable: boolean): Promise<void> {
    this.gpuUsable = usable;
    this.update();
    if (!usable) return;
    const saved = await this.worker.call({ type: 'saved-run' });
    if (!saved || saved.step >= saved.steps) return;
    this.records = saved.records;
    this.drawCurve();
    this.ui.savedText.textContent = `A fine-tuning run saved in this browser stopped at step ${saved.step} of ${saved.steps}${saved.step === 0 ? ' (before its first checkpoint: it starts over)' : ''}.`;
    this.ui.saved.hidden = false;
  }

  onEvent(event: Event): void {
    if (event.event === 'train-record') {
      this.records.push(event.record);
      this.drawCurve();
    } else if (event.event === 'train-paused') {
      this.ui.message.textContent = `Paused after step ${event.step}; a reload would resume from the last checkpoint saved in this browser.`;
    } else if (event.event === 'train-progress') {
      const { step, steps, etaSeconds } = event;
      this.ui.progress.value = step / steps;
      this.ui.progressText.dataset.step = String(step);
      this.ui.progressText.textContent = `step ${step} / ${steps}${step < steps ? `, ${duration(etaSeconds)}` : ''}${this.paused ? ' (pausing after this step)' : ''}`;
    }
  }

  private update(): void {
    this.ui.start.disabled = this.running || !this.gpuUsable;
    this.ui.pause.disabled = !this.running;
    this.ui.form.disabled = this.running;
    this.ui.pause.textContent = this.paused ? 'Resume' : 'Pause';
  }

  private number(input: HTMLInputElement, name: string): number {
    const n = Number(input.value);
    if (!Number.isInteger(n) || n < Number(input.min || 0)) throw new Error(`${name} must be an integer ≥ ${input.min || 0}, got '${input.value}'`);
    return n;
  }

  private choice(): TrainChoice {
    const ui = this.ui;
    const files = (input: HTMLInputElement) => [...(input.files ?? [])];
    const data: TrainChoice['data'] = this.data === 'folder'
      ? { kind: 'folder', files: files(ui.folder).map((file) => ({ path: file.webkitRelativePath || file.name, file })) }
      : { kind: 'pairs', images: files(ui.images), labels: files(ui.labels) };
    if (data.kind === 'folder' ? data.files.length === 0 : data.images.length === 0) throw new Error('Choose the training volumes: images and labels, or a folder with a dataset.json.');
    const weights = ui.weights.files?.[0];
    if (!ui.scratch.checked && !weights) throw new Error('Choose a model to start from (a 2-D checkpoint or an inflated encoder), or tick "from scratch".');
    return {
      data,
      weights: ui.scratch.checked ? undefined : weights,
      preset: ui.preset.value,
      steps: this.number(ui.steps, 'Steps'),
      imageSize: ui.imageSize.value === '' ? undefined : this.number(ui.imageSize, 'Image size'),
      depth: this.number(ui.depth, 'Slices per window'),
      batchSize: this.number(ui.batch, 'Batch size'),
      decoder: ui.decoder.value as TrainChoice['decoder'],
      intensity: ui.intensity.value.trim(),
      checkpointEvery: this.number(ui.every, 'Checkpoint every'),
      seed: this.number(ui.seed, 'Seed'),
    };
  }

  private async start(): Promise<void> {
    let choice: TrainChoice;
    try {
      choice = this.choice();
    } catch (e) {
      this.ui.message.textContent = (e as Error).message;
      this.ui.message.classList.add('error');
      return;
    }
    this.records = [];
    this.drawCurve();
    await this.train(this.worker.call({ type: 'train', choice }));
  }

  private async train(run: Promise<TrainResult>): Promise<void> {
    const ui = this.ui;
    this.running = true;
    this.paused = false;
    ui.saved.hidden = true;
    ui.message.textContent = 'Reading the volumes and setting the run up…';
    ui.message.classList.remove('error');
    ui.download.hidden = true;
    delete ui.download.dataset.seconds;
    this.update();
    try {
      const result = await run;
      ui.message.textContent = `Trained to step ${result.step} in ${result.seconds.toFixed(1)} s in this tab.`;
      ui.download.dataset.seconds = String(result.seconds);
      if (ui.download.href) URL.revokeObjectURL(ui.download.href);
      offer(ui.download, result.model, 'fine-tuned.safetensors', 'the fine-tuned model');
    } catch (e) {
      ui.message.textContent = `Fine-tuning failed: ${(e as Error).message}`;
      ui.message.classList.add('error');
    } finally {
      this.running = false;
      this.paused = false;
      this.update();
    }
  }

  private togglePause(): void {
    this.paused = !this.paused;
    this.worker.control({ type: this.paused ? 'pause' : 'continue' });
    this.ui.message.textContent = this.paused ? 'Pausing after the current step…' : 'Training.';
    this.update();
  }

  /** Training loss (scaled from its smallest to its largest value) and validation mean Dice (0..1), against the step. */
  private drawCurve(): void {
    const canvas = this.ui.curve;
    const context = canvas.getContext('2d')!;
    const { width, height } = canvas;
    const pad = 24;
    context.clearRect(0, 0, width, height);
    context.strokeStyle = '#999';
    context.strokeRect(pad, pad / 2, width - 2 * pad, height - 1.5 * pad);
    const train = this.records.filter((r) => r.kind === 'train');
    const validation = this.records.filter((r) => r.kind === 'validation');
    const lastStep = Math.max(1, ...this.records.map((r) => r.step));
    const losses = train.map((r) => r.loss);
    const [minLoss, maxLoss] = [Math.min(...losses), Math.max(...losses)];
    const lossFraction = (loss: number) => (maxLoss > minLoss ? (loss - minLoss) / (maxLoss - minLoss) : 0.5);
    const x = (step: number) => pad + ((width - 2 * pad) * step) / lastStep;
    const y = (fraction: number) => height - pad - (height - 1.5 * pad) * fraction;
    const line = (points: [number, number][], colour: string) => {
      context.strokeStyle = colour;
      context.beginPath();
      points.forEach(([px, py], i) => (i === 0 ? context.moveTo(px, py) : context.lineTo(px, py)));
      context.stroke();
      for (const [px, py] of points) context.fillRect(px - 1.5, py - 1.5, 3, 3);
    };
    context.fillStyle = '#c33';
    line(train.map((r) => [x(r.step), y(lossFraction(r.loss))]), '#c33');
    context.fillStyle = '#36c';
    line(validation.map((r) => [x(r.step), y(r.meanDice)]), '#36c');
    context.fillStyle = '#333';
    context.font = '11px sans-serif';
    const lastLoss = train.at(-1);
    const lastDice = validation.at(-1);
    const lossRange = losses.length ? `, ${minLoss.toPrecision(4)}–${maxLoss.toPrecision(4)}` : '';
    context.fillText(`loss (red${lossRange})${lastLoss ? `: ${lastLoss.loss.toFixed(4)}` : ''}`, pad, 10);
    context.fillText(`validation mean Dice (blue, 0–1)${lastDice ? `: ${lastDice.meanDice.toFixed(4)} at step ${lastDice.step}` : ''}`, width / 2, 10);
    canvas.dataset.records = String(this.records.length);
  }
}
