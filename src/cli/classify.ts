// `transseg classify --weights W --image digit.png`: runs a 2-D checkpoint with its own
// classification head and prints the top classes as JSON.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Gpu } from '../gpu/gpu.js';
import { classifyImage } from '../infer/classify.js';
import { decodePng } from '../io/png.js';
import { pretrainedVit } from '../model/pretrained.js';
import { CHECKPOINT_FLAGS, loadCheckpointFromFlags } from './checkpoint-options.js';
import { required } from './flags.js';

export async function classify(argv: string[]): Promise<string> {
  const { values } = parseArgs({ args: argv, options: { ...CHECKPOINT_FLAGS, image: { type: 'string' }, top: { type: 'string', default: '5' } } });
  const imagePath = required(values.image, 'image', 'classify');
  const top = Number(values.top);
  if (!Number.isInteger(top) || top < 1) throw new Error(`classify: --top must be a positive integer, got '${values.top}'`);
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
