// The browser page against the command line on the same machine, back to back (docs/web.md):
//  1. segmenting a 240×240×155 two-modality BRATS case (FLAIR, T1c) with a 96² ViT-Tiny segmenter
//     (depth 5, UPerNet, random weights: the time does not depend on them): `transseg predict`
//     in this process (Dawn) against the page (headless Chromium, its WebGPU adapter);
//  2. a 20-step fine-tuning run on a small phantom dataset: `transseg train` against the page.
// Screenshots of both go to --out. Needs /usr/bin/chromium and ../shared/data (the BRATS pairs).
//
//   npm run build && node dist/bench/web-page.js [--out /tmp/transseg-web-bench] [--skip segment|train]
//     [--slices N]   segment only the case's central N slices (a shorter run on a loaded machine)
//     [--models minimal,vit-tiny] [--query 'kernels=gpu']   which models; the page's address query (docs/web.md)
//     [--adapter swiftshader,lavapipe,llvmpipe]   the browser's WebGPU adapters, each page run beside the same Node run (see ADAPTERS)

import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { checkpoint, Gpu, model as models, PRESETS, Segmenter, VisionTransformer, type VitConfig } from '../src/index.js';
import { readNiftiFile, runCommand, writeNiftiFile, writeSafetensorsFile } from '../src/node.js';
import { writePhantomDataset } from '../src/synthetic/index.js';

const { readWeights, modelFileMetadata } = models;
const { segmenterFileContents } = checkpoint;
type SegmenterFileHeader = models.SegmenterFileHeader;
const predict = (argv: string[]) => runCommand('predict', argv);
const train = (argv: string[]) => runCommand('train', argv);

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
/**
 * The browser's WebGPU adapter on a machine without a GPU (docs/web.md, "Without a GPU"): Chromium's
 * own SwiftShader, or Dawn's OpenGL ES backend on ANGLE on Mesa: on its Vulkan driver (lavapipe) or
 * on its OpenGL driver (llvmpipe). Those two are compatibility-level adapters, which the page
 * chooses by itself when they are there.
 */
const ADAPTERS = {
  swiftshader: ['--use-webgpu-adapter=swiftshader'],
  lavapipe: ['--use-angle=vulkan', '--use-webgpu-adapter=opengles'],
  llvmpipe: ['--use-angle=gl-egl', '--use-webgpu-adapter=opengles'],
} as const;
const BRATS = '../shared/data/pairs/brats/validation';
const TRAIN_STEPS = 20;
/** A small encoder for the fine-tuning run: 32² input, windows of 3 slices. */
const SMALL: VitConfig = {
  embedDim: 32, depth: 2, heads: 2, mlpHidden: 64, patchSize: 4, imageSize: [32, 32], inChannels: 1, depthSlices: 3,
  eps: 1e-6, qkvBias: true, layerScale: false, positionEmbedding: true, relativePositionBias: false, prefixTokens: 1,
  finalNorm: 'none', head: { kind: 'none' }, normalization: { mean: [0], std: [1] },
};

/**
 * A segmenter for BRATS (two channels, windows of 5 slices at 96², five classes), random weights.
 * 'vit-tiny': ViT-Tiny with UPerNet, `transseg train --preset vit_tiny_patch16_224 --image-size 96`'s
 * model. 'minimal': one block of width 16 and a 4-channel ConvTrans decoder, whose kernels cost
 * little: the same inputs, outputs and host work, so its time is the pipeline's own (windows,
 * resizes, softmax, transfers, per-batch overheads).
 */
async function writeBratsModel(gpu: Gpu, file: string, kind: 'vit-tiny' | 'minimal'): Promise<void> {
  const base: VitConfig = { ...PRESETS.vit_tiny_patch16_224, imageSize: [96, 96], inChannels: 2, depthSlices: 5, finalNorm: 'none', head: { kind: 'none' } };
  const encoder: VitConfig = kind === 'vit-tiny' ? base : { ...base, embedDim: 16, depth: 1, heads: 2, mlpHidden: 32 };
  const header: SegmenterFileHeader = {
    kind: 'segmenter', encoder, segmenter: kind === 'vit-tiny' ? { classes: 5 } : { classes: 5, decoder: 'convtrans', channels: 4 },
    labels: ['background', 'necrosis', 'oedema', 'non-enhancing', 'enhancing'],
    modalities: ['FLAIR', 'T1c'], preprocessing: { intensity: { kind: 'none' } }, provenance: { bench: 'web-page, random weights' },
  };
  const model = new Segmenter(gpu, 1, encoder, header.segmenter);
  const { tensors, metadata } = segmenterFileContents(header, await readWeights(model));
  model.dispose();
  await writeSafetensorsFile(file, tensors, metadata);
}

async function writeSmallEncoder(gpu: Gpu, file: string): Promise<void> {
  const encoder = new VisionTransformer(gpu, 2, SMALL);
  const weights = await readWeights(encoder);
  encoder.dispose();
  await writeSafetensorsFile(file, [...weights], modelFileMetadata({ kind: 'encoder', encoder: SMALL, provenance: { bench: 'web-page, random weights' } }));
}

/** The central `n` axial slices of a volume, written to `folder` (same voxel size; the position does not matter for timing). */
async function centralSlices(file: string, n: number, folder: string): Promise<string> {
  const volume = await readNiftiFile(file);
  const [X, Y, Z] = volume.dims;
  const first = Math.max(0, Math.floor((Z - n) / 2));
  const count = Math.min(n, Z);
  const out = join(folder, `${count}-slices-${basename(file)}`);
  const header = { ...volume.header, dim: volume.header.dim.map((d, k) => (k === 3 ? count : d)) };
  await writeNiftiFile(out, { dims: [X, Y, count], data: volume.data.slice(first * X * Y, (first + count) * X * Y) }, header, { datatype: 'float32' });
  return out;
}

function startServer(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['scripts/web.mjs', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const url = /http:\/\/\S+\//.exec(chunk.toString())?.[0];
      if (url) resolve({ url, stop: () => child.kill() });
    });
    child.on('exit', (code) => reject(new Error(`scripts/web.mjs exited (${code})`)));
  });
}

async function waitFor(page: Page, seconds: string, message: string): Promise<number> {
  await page.waitForFunction(([s, m]) => document.querySelector<HTMLElement>(s)!.dataset.seconds || /failed/.test(document.querySelector(m)!.textContent!), [seconds, message], { timeout: 0 });
  const value = await page.getAttribute(seconds, 'data-seconds');
  if (!value) throw new Error(`the page says: ${await page.textContent(message)}`);
  return Number(value);
}

/** Notes the time of every step the page's progress text reports (its data-step), in the page. */
async function recordStepTimes(page: Page): Promise<void> {
  await page.evaluate(() => {
    const text = document.getElementById('train-progress-text')!;
    const times: [number, number][] = ((window as unknown as { stepTimes: [number, number][] }).stepTimes = [[0, performance.now()]]);
    new MutationObserver(() => {
      const step = Number(text.dataset.step);
      if (step > times.at(-1)![0]) times.push([step, performance.now()]);
    }).observe(text, { attributes: true, attributeFilter: ['data-step'] });
  });
}

/** The page's first step (set-up and shader compilation included) and its mean plain step, steps 2–9. */
async function pageStepTimes(page: Page): Promise<string> {
  const times = await page.evaluate(() => (window as unknown as { stepTimes: [number, number][] }).stepTimes);
  const at = (step: number) => times.find(([s]) => s === step)?.[1] ?? NaN;
  return `${(at(9) - at(1)) / 8 | 0} ms (click to step 1: ${((at(1) - at(0)) / 1000).toFixed(1)} s)`;
}

/** Node's steps per second at step 9, as the trainer logs it (the recent steps, the first one excluded). */
function nodeStepsPerSecond(metrics: string): number {
  const records = readFileSync(metrics, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { kind: string; step: number; stepsPerSecond: number });
  return records.find((r) => r.kind === 'train' && r.step === 9)!.stepsPerSecond;
}

/** Downloads the page's labels to `pageFile` and says how many voxels differ from Node's. */
async function compareLabels(page: Page, nodeFile: string, pageFile: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-labels')]);
  await download.saveAs(pageFile);
  const [node, browser] = await Promise.all([readNiftiFile(nodeFile), readNiftiFile(pageFile)]);
  let differ = 0;
  for (let i = 0; i < node.data.length; i++) if (node.data[i] !== browser.data[i]) differ++;
  return `labels: ${differ} of ${node.data.length} voxels differ from Node's`;
}

interface BrowserPage { name: string; args: readonly string[]; browser: Browser; page: Page }

/** Segments `images` with `model` in the page; the time the page reports, click to result, warm-up, and the label check. */
async function segmentInPage(p: BrowserPage, url: string, model: string, images: string[], nodeLabels: string, out: string, kind: string): Promise<{ seconds: number; text: string }> {
  const { page } = p;
  await page.goto(url);
  await page.setInputFiles('#model-file', model);
  await page.waitForFunction(() => document.getElementById('model-info')!.dataset.ready, null, { timeout: 0 });
  const warmUp = /compiled in ([\d.]+) s/.exec((await page.textContent('#model-info'))!)?.[1];
  await page.setInputFiles('#modality-file-0', images[0]);
  await page.setInputFiles('#modality-file-1', images[1]);
  await page.waitForSelector('#run:enabled', { timeout: 0 });
  const clicked = performance.now();
  await page.click('#run');
  const seconds = await waitFor(page, '#timing', '#message');
  const wall = (performance.now() - clicked) / 1000;
  await page.screenshot({ path: join(out, `brats-page-${kind}-${p.name}.png`), fullPage: true });
  const agreement = await compareLabels(page, nodeLabels, join(out, `page_seg_${kind}_${p.name}.nii.gz`));
  return { seconds, text: `${seconds.toFixed(1)} s in the worker (${wall.toFixed(1)} s click to result; shaders compiled while loading in ${warmUp} s); ${agreement}` };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: '/tmp/transseg-web-bench' }, skip: { type: 'string' }, slices: { type: 'string' },
    models: { type: 'string', default: 'minimal,vit-tiny' }, query: { type: 'string', default: '' }, adapter: { type: 'string', default: 'swiftshader' } } });
  const names = values.adapter!.split(',');
  for (const name of names) {
    if (!(name in ADAPTERS)) throw new Error(`--adapter: expected a list of ${Object.keys(ADAPTERS).join(', ')}; got '${name}'`);
  }
  const query = values.query!.replace(/^\?/, '');
  const out = values.out!;
  mkdirSync(out, { recursive: true });
  const gpu = await Gpu.create();
  const server = await startServer();
  const url = query ? `${server.url}?${query}` : server.url;
  const pages: BrowserPage[] = [];
  const lines: string[] = [`Node: ${gpu.info.adapter.description || gpu.info.adapter.device} (Dawn)`];
  try {
    for (const name of names) {
      const args = ADAPTERS[name as keyof typeof ADAPTERS];
      const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...args] });
      const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
      pages.push({ name, args, browser, page });
      await page.goto(url);
      await page.waitForFunction(() => !/Looking/.test(document.getElementById('adapter')!.textContent!), null, { timeout: 0 });
      lines.push(`page ${name}: Chromium ${browser.version()} ${args.join(' ')}${query ? `, ?${query}` : ''}: ${await page.textContent('#adapter')}`);
      console.log(lines.at(-1));
    }
    if (values.skip !== 'segment') {
      const caseDir = join(BRATS, readdirSync(BRATS).sort()[0]);
      let images = ['Flair_subtrMeanDivStd.nii.gz', 'T1c_subtrMeanDivStd.nii.gz'].map((f) => join(caseDir, f));
      if (values.slices) images = await Promise.all(images.map((f) => centralSlices(f, Number(values.slices), out)));
      const grid = (await readNiftiFile(images[0])).dims.join('×');
      for (const kind of values.models!.split(',') as ('minimal' | 'vit-tiny')[]) {
        const model = join(out, `brats96-${kind}.safetensors`);
        await writeBratsModel(gpu, model, kind);
        const nodeLabels = join(out, `node_seg_${kind}.nii.gz`);
        const nodeStarted = performance.now();
        const summary = await predict(['--model', model, '--input', images.join(','), '--output', nodeLabels]);
        const nodeSeconds = (performance.now() - nodeStarted) / 1000;
        lines.push(`segment ${grid}×2 (${caseDir}) with the ${kind} 96² model: node ${nodeSeconds.toFixed(1)} s (${summary.match(/in ([\d.]+) s/)?.[1]} s as predict reports)`);
        console.log(lines.at(-1));
        for (const p of pages) {
          const { seconds, text } = await segmentInPage(p, url, model, images, nodeLabels, out, kind);
          lines.push(`  page ${p.name}: ${text}; ratio ${(seconds / nodeSeconds).toFixed(2)}`);
          console.log(lines.at(-1));
        }
      }
    }
    if (values.skip !== 'train') {
      const data = join(out, 'phantoms');
      await writePhantomDataset(data, { training: 5, validation: 0, test: 0, seed: 3, phantom: { dims: [48, 48, 16], spacing: [1, 1, 2.5] } });
      const encoder = join(out, 'small-encoder.safetensors');
      await writeSmallEncoder(gpu, encoder);
      const settings = { batch: '4', every: '10', intensity: 'clip:-100,300', seed: '7' };
      const nodeStarted = performance.now();
      await train(['--dataset', join(data, 'dataset.json'), '--out', join(out, 'train-node'), '--weights', encoder, '--depth', '3', '--decoder', 'convtrans',
        '--batch-size', settings.batch, '--validate-every', settings.every, '--log-every', '1', '--intensity', settings.intensity, '--seed', settings.seed,
        '--steps', String(TRAIN_STEPS)]);
      const nodeSeconds = (performance.now() - nodeStarted) / 1000;
      const nodeRate = nodeStepsPerSecond(join(out, 'train-node', 'metrics.jsonl'));
      lines.push(`fine-tune ${TRAIN_STEPS} steps (5 phantoms 48×48×16, 32² encoder E 32 depth 2, batch 4, 2 validations): ` +
        `node ${nodeSeconds.toFixed(1)} s with set-up; a plain step (steps 2–9) ${(1000 / nodeRate).toFixed(0)} ms`);
      console.log(lines.at(-1));
      for (const { name, page } of pages) {
        await page.goto(url);
        await page.setInputFiles('#train-weights', encoder);
        await page.setInputFiles('#train-folder', data);
        for (const [id, value] of Object.entries(settings)) await page.fill(`#train-${id}`, value);
        await page.fill('#train-steps', String(TRAIN_STEPS));
        await page.selectOption('#train-decoder', 'convtrans');
        await recordStepTimes(page);
        const clicked = performance.now();
        await page.click('#train-start');
        const pageSeconds = await waitFor(page, '#train-download', '#train-message');
        const wall = (performance.now() - clicked) / 1000;
        await page.locator('#fine-tune').screenshot({ path: join(out, `fine-tune-page-${name}.png`) });
        lines.push(`  page ${name}: ${wall.toFixed(1)} s click to download (${pageSeconds.toFixed(1)} s of it training): ratio ${(wall / nodeSeconds).toFixed(2)}; ` +
          `a plain step ${await pageStepTimes(page)}`);
        console.log(lines.at(-1));
      }
    }
  } finally {
    for (const { browser } of pages) await browser.close();
    server.stop();
    gpu.destroy();
  }
  writeFileSync(join(out, 'results.txt'), lines.join('\n') + '\n');
}

main().catch((e: Error) => {
  console.error(`bench/web-page: ${e.message}`);
  process.exitCode = 1;
});
