// `transseg inflate`: a 2-D checkpoint → a 3-D encoder file for TransSeg (our format, timm names).

import { writeSafetensorsFile } from '../io/safetensors-node.js';
import { inflateCheckpoint } from '../inflate/checkpoint.js';
import { modelFileMetadata } from '../model/model-file.js';
import { CHECKPOINT_FLAGS, loadCheckpointFromFlags } from './checkpoint-options.js';
import { defineCommand, parseFlags } from './flag-table.js';
import { positiveInteger, required } from './flags.js';
import { checkOutputFile } from './predict.js';

export const INFLATE_COMMAND = defineCommand({
  name: 'inflate',
  summary: 'turn a 2-D checkpoint into a 3-D TransSeg encoder',
  description: 'Turn a 2-D checkpoint into a 3-D TransSeg encoder file (our format, timm names; see docs/checkpoints.md).',
  synopsis: '--weights W --out W3D.safetensors [options] [checkpoint options]',
  flags: [
    { name: 'out', value: 'FILE', help: 'the encoder file to write (.safetensors)' },
    { name: 'depth', value: 'D', default: '5', help: 'slices D per window (the paper\'s 5; 1 = "w/o D")' },
    { name: 'in-channels', value: 'C', default: '1', help: 'modalities C of the 3-D input (CT 1, BraTS FLAIR+T1c 2, ...)' },
    { name: 'method', value: 'M', default: 'centering', help: 'centering (the 2-D kernel on the centre slice) or inflation (kernel ÷ D on every slice)' },
    { name: 'image-size', value: 'S', shownDefault: "the checkpoint's", help: 'in-plane input size S (S×S); position embeddings and BEiT relative-position tables are resized to the new token grid' },
    { name: 'pos-interp', value: 'MODE', default: 'bicubic', help: "bicubic (timm) or nearest (DINO's loader) for the position embedding" },
    ...CHECKPOINT_FLAGS,
  ],
});

export async function inflate(argv: string[]): Promise<string> {
  const { values } = parseFlags(INFLATE_COMMAND, argv);
  const out = required(values.out, 'out', 'inflate');
  if (!out.endsWith('.safetensors')) throw new Error(`inflate: --out ${out} must end in .safetensors`);
  await checkOutputFile(out, 'out', 'inflate');
  const method = values.method;
  if (method !== 'centering' && method !== 'inflation') throw new Error(`inflate: --method must be 'centering' or 'inflation', got '${method}'`);
  const posInterp = values['pos-interp'];
  if (posInterp !== 'bicubic' && posInterp !== 'nearest') throw new Error(`inflate: --pos-interp must be 'bicubic' or 'nearest', got '${posInterp}'`);
  const checkpoint = await loadCheckpointFromFlags(values, 'inflate');
  const size = values['image-size'] ? positiveInteger(values['image-size'], 'image-size', 'inflate') : null;
  const imageSize: [number, number] = size ? [size, size] : checkpoint.config.imageSize;
  const options = {
    depth: positiveInteger(values.depth, 'depth', 'inflate'),
    inChannels: positiveInteger(values['in-channels'], 'in-channels', 'inflate'),
    method,
    imageSize,
    positionInterpolation: posInterp,
  } as const;
  const inflated = inflateCheckpoint(checkpoint.config, checkpoint.tensors, options);
  await writeSafetensorsFile(out, [...inflated.tensors], modelFileMetadata({
    kind: 'encoder',
    encoder: inflated.config,
    provenance: { source: values.weights, sourceFormat: checkpoint.format, ...options },
  }));
  const c = inflated.config;
  return `wrote ${out}: ${c.depth}-block ViT (embed ${c.embedDim}), patch embedding [${c.embedDim}, ${c.inChannels}, ${c.depthSlices}, ${c.patchSize}, ${c.patchSize}] by ${method}, ` +
    `${imageSize.join('×')} input (${(imageSize[0] / c.patchSize) * (imageSize[1] / c.patchSize)} tokens)`;
}
