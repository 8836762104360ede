// `transseg export --model M --format transseg-torch --out X.safetensors`: a segmenter trained here
// as the state_dict of the authors' PyTorch SegmentationModel, so training goes on there
// (load_state_dict(strict=True); see docs/checkpoints.md).

import { parseArgs } from 'node:util';
import { exportTranssegTorch, TRANSSEG_TORCH_FORMAT } from '../checkpoint/transseg-torch.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../io/safetensors-node.js';
import { readModelFileHeader } from '../model/model-file.js';
import { required } from './flags.js';

export const EXPORT_FORMATS = [TRANSSEG_TORCH_FORMAT] as const;

const FLAGS = {
  model: { type: 'string' }, format: { type: 'string', default: TRANSSEG_TORCH_FORMAT }, out: { type: 'string' },
} as const;

export async function exportModel(argv: string[]): Promise<string> {
  const { values } = parseArgs({ args: argv, options: FLAGS });
  const path = required(values.model, 'model', 'export');
  const out = required(values.out, 'out', 'export');
  if (!(EXPORT_FORMATS as readonly string[]).includes(values.format)) {
    throw new Error(`export: --format must be one of ${EXPORT_FORMATS.join(', ')}; got '${values.format}'`);
  }
  if (!out.endsWith('.safetensors')) throw new Error(`export: --out ${out} must end in .safetensors`);
  const file = await readSafetensorsFile(path);
  const header = readModelFileHeader(file.metadata, path);
  if (header?.kind !== 'segmenter') {
    throw new Error(`export: --model ${path} is not a trained segmenter (expected a file written by \`transseg train\`)`);
  }
  const { tensors, metadata } = exportTranssegTorch(header, file.tensors, `export: --model ${path}`);
  await writeSafetensorsFile(out, tensors, metadata);
  const hyper = JSON.parse(metadata.hyper_parameters) as { decoder: string; img_size: number[] };
  return `wrote ${out}: ${tensors.length} tensors, the state_dict of TransSeg's SegmentationModel ` +
    `(encoder beit, decoder ${hyper.decoder}, img_size ${hyper.img_size.join('×')}); its hyper_parameters are in __metadata__`;
}
