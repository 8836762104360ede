// `transseg classify --weights W --image digit.png`: runs a 2-D checkpoint with its own
// classification head and prints the top classes as JSON.

import { readFile } from 'node:fs/promises';
import { Gpu } from '../gpu/gpu.js';
import { classifyImage } from '../infer/classify.js';
import { decodePng } from '../io/png.js';
import { pretrainedVit } from '../model/pretrained.js';
import { CHECKPOINT_FLAGS, loadCheckpointFromFlags } from './checkpoint-options.js';
import { defineCommand, parseFlags } from './flag-table.js';
import { positiveInteger, required } from './flags.js';

export const CLASSIFY_COMMAND = defineCommand({
  name: 'classify',
  summary: "run a 2-D checkpoint's own classification head on a PNG (JSON out)",
  description: "Run a 2-D checkpoint's own classification head on a PNG and print the top classes and all logits as JSON: the quick proof that a checkpoint was mapped correctly.",
  synopsis: '--weights W --image img.png [--top 5] [checkpoint options]',
  flags: [
    { name: 'image', value: 'PNG', help: 'the image: grey or colour (alpha composited over black), resized to the model' },
    { name: 'top', value: 'N', default: '5', help: 'how many classes to list' },
    ...CHECKPOINT_FLAGS,
  ],
});

export async function classify(argv: string[]): Promise<string> {
  const { values } = parseFlags(CLASSIFY_COMMAND, argv);
  const imagePath = required(values.image, 'image', 'classify');
  const top = positiveInteger(values.top, 'top', 'classify');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(imagePath);
  } catch (e) {
    throw new Error(`classify: cannot read --image ${imagePath} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const image = await decodePng(bytes, imagePath);
  const checkpoint = await loadCheckpointFromFlags(values, 'classify');
  const gpu = await Gpu.create();
  try {
    const model = pretrainedVit(gpu, checkpoint, values.weights!);
    const ranked = await classifyImage(model, image);
    return JSON.stringify({
      image: imagePath,
      weights: values.weights,
      format: checkpoint.format,
      top: ranked.slice(0, top),
      logits: ranked.slice().sort((a, b) => a.class - b.class).map((p) => p.logit),
    }, null, 2);
  } finally {
    gpu.destroy();
  }
}
