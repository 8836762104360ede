// `npm run demo`: trains a small Vision Transformer from scratch on the GPU and shows the loss
// falling and the accuracy rising. The task: tell apart 16×16 images of a horizontal bar, a
// vertical bar and a hollow square, drawn at random places with noise. Everything runs through
// this library's own kernels: patch tokens, transformer blocks, loss, backward and AdamW.
//
// (The full 3-D segmentation demo arrives with the NIfTI pipeline; this one exercises the core.)

import {
  AdamW, Block, Gpu, LayerNorm, Linear, Module, Tensor, add, backward, crossEntropyLoss, mean, noGrad, permute,
  reshape, scope, linearWarmupDecay,
} from '../src/index.js';
import { rng, truncatedNormal } from '../src/util/random.js';

const IMAGE = 16;
const PATCH = 4;
const CLASSES = ['horizontal bar', 'vertical bar', 'hollow square'];

/** One noisy 16×16 image of class `label`, drawn with the generator `u`. */
function drawImage(label: number, u: () => number): Float32Array {
  const img = new Float32Array(IMAGE * IMAGE);
  for (let i = 0; i < img.length; i++) img[i] = 0.3 * (u() - 0.5);
  const at = (y: number, x: number) => { img[y * IMAGE + x] += 1; };
  const a = 2 + Math.floor(u() * 8), b = 2 + Math.floor(u() * 8), len = 5 + Math.floor(u() * 3);
  if (label === 0) for (let i = 0; i < len; i++) at(a, b + i);
  if (label === 1) for (let i = 0; i < len; i++) at(a + i, b);
  if (label === 2) for (let i = 0; i < 5; i++) { at(a, b + i); at(a + 4, b + i); at(a + i, b); at(a + i, b + 4); }
  return img;
}

function makeBatch(gpu: Gpu, size: number, seed: number): { images: Tensor; labels: Tensor } {
  const u = rng(seed);
  const images = new Float32Array(size * IMAGE * IMAGE);
  const labels = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    labels[i] = i % CLASSES.length;
    images.set(drawImage(labels[i], u), i * IMAGE * IMAGE);
  }
  return { images: Tensor.fromArray(gpu, images, [size, IMAGE, IMAGE]), labels: Tensor.fromArray(gpu, labels, [size]) };
}

/** Patches as tokens → position embedding → transformer blocks → mean pool → norm → classes. */
class TinyViT extends Module {
  readonly embed: Linear;
  readonly pos: Tensor;
  readonly blocks: Block[];
  readonly norm: LayerNorm;
  readonly head: Linear;

  constructor(gpu: Gpu, readonly dim: number, depth: number) {
    super(gpu, 7);
    const tokens = (IMAGE / PATCH) ** 2;
    this.embed = this.child('embed', new Linear(gpu, this.seedFor('embed'), PATCH * PATCH, dim, { init: 'vit' }));
    this.pos = this.param('pos_embed', [1, tokens, dim], truncatedNormal(tokens * dim, this.seedFor('pos'), 0.02));
    this.blocks = Array.from({ length: depth }, (_, i) => this.child(`blocks.${i}`, new Block(gpu, this.seedFor(`b${i}`), dim, { heads: 4, init: 'vit' })));
    this.norm = this.child('norm', new LayerNorm(gpu, 0, dim, 1e-6));
    this.head = this.child('head', new Linear(gpu, this.seedFor('head'), dim, CLASSES.length, { init: 'vit' }));
  }

  /** images [B, 16, 16] → logits [B, classes]. */
  forward(images: Tensor): Tensor {
    const B = images.shape[0];
    const g = IMAGE / PATCH;
    return scope(() => {
      // [B, g, P, g, P] → [B, g, g, P, P] → tokens [B, g·g, P·P]
      const patches = reshape(permute(reshape(images, [B, g, PATCH, g, PATCH]), [0, 1, 3, 2, 4]), [B, g * g, PATCH * PATCH]);
      let x = add(this.embed.forward(patches), this.pos);
      for (const block of this.blocks) x = block.forward(x);
      return this.head.forward(this.norm.forward(mean(x, [1])));
    });
  }
}

async function accuracy(model: TinyViT, images: Tensor, labels: Tensor): Promise<number> {
  const logits = noGrad(() => model.forward(images));
  const [scores, truth] = [await logits.read(), await labels.read()];
  logits.dispose();
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    const row = scores.subarray(i * CLASSES.length, (i + 1) * CLASSES.length);
    if (row.indexOf(Math.max(...row)) === truth[i]) correct++;
  }
  return correct / truth.length;
}

async function main(): Promise<void> {
  const gpu = await Gpu.create();
  console.log(`adapter: ${gpu.info.adapter.description || gpu.info.adapter.vendor} (${gpu.info.runtime})`);
  const model = new TinyViT(gpu, 32, 2);
  const params = model.parameters().length;
  const optimizer = new AdamW([{ params: model.parameters(), weightDecay: 0.05 }], { lr: 3e-3 });
  const test = makeBatch(gpu, 96, 999);
  console.log(`model: ${params} parameter tensors; test accuracy before training ${(100 * (await accuracy(model, test.images, test.labels))).toFixed(0)}%`);

  const steps = 60;
  const started = performance.now();
  for (let step = 0; step < steps; step++) {
    optimizer.setLearningRate(linearWarmupDecay(step, { warmup: 5, total: steps, peak: 3e-3 }));
    const batch = makeBatch(gpu, 24, step);
    const loss = scope(() => {
      const l = crossEntropyLoss(model.forward(batch.images), batch.labels);
      backward(l);
      return l;
    });
    optimizer.step({ clip: 1 })?.dispose();
    optimizer.zeroGrad();
    batch.images.dispose();
    batch.labels.dispose();
    if (step % 5 === 4 || step === steps - 1) {
      const rate = (step + 1) / ((performance.now() - started) / 1000);
      const eta = (steps - step - 1) / rate;
      console.log(`step ${String(step + 1).padStart(3)}/${steps}  loss ${(await loss.item()).toFixed(4)}  ${rate.toFixed(2)} steps/s  eta ${eta.toFixed(0)} s`);
    }
    loss.dispose();
  }
  console.log(`test accuracy after training ${(100 * (await accuracy(model, test.images, test.labels))).toFixed(0)}%`);
  const memory = gpu.memory();
  console.log(`GPU memory held: ${(memory.liveBytes / 2 ** 20).toFixed(1)} MiB live, peak ${(memory.peakLiveBytes / 2 ** 20).toFixed(1)} MiB`);
  optimizer.dispose();
  model.dispose();
  gpu.destroy();
}

await main();
