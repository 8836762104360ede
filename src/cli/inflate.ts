// `transseg inflate`: a 2-D checkpoint → a 3-D encoder file for TransSeg (our format, timm names).

import { parseArgs } from 'node:util';
import { writeSafetensorsFile } from '../io/safetensors-node.js';
import { inflateCheckpoint } from '../inflate/checkpoint.js';
import { modelFileMetadata } from '../model/model-file.js';
import { CHECKPOINT_FLAGS, loadCheckpointFromFlags } from './checkpoint-options.js';
import { positiveInteger, required } from './flags.js';
import { checkOutputFile } from './predict.js';

export async function inflate(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...CHECKPOINT_FLAGS,
      out: { type: 'string' },
      depth: { type: 'string', default: '5' },
      'in-channels': { type: 'string', default: '1' },
      method: { type: 'string', default: 'centering' },
      'image-size': { type: 'string' },
      'pos-interp': { type: 'string', default: 'bicubic' },
    },
  });
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
