// `transseg export --model M --format transseg-torch --out X.safetensors`: a segmenter trained here
// as the state_dict of the authors' PyTorch SegmentationModel, so training goes on there
// (load_state_dict(strict=True); see docs/checkpoints.md).

import { exportTranssegTorch, TRANSSEG_TORCH_FORMAT } from '../checkpoint/transseg-torch.js';
import { fileSystemError } from '../io/file-errors.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../io/safetensors-node.js';
import { readModelFileHeader } from '../model/model-file.js';
import { defineCommand, parseFlags } from './flag-table.js';
import { required } from './flags.js';

export const EXPORT_FORMATS = [TRANSSEG_TORCH_FORMAT] as const;

export const EXPORT_COMMAND = defineCommand({
  name: 'export',
  summary: "a trained segmenter in the authors' PyTorch layout",
  description: "Write a trained segmenter as the state_dict of the authors' PyTorch SegmentationModel (load_state_dict(strict=True) loads it), so a run goes on there; see docs/checkpoints.md.",
  synopsis: '--model M --format transseg-torch --out X.safetensors',
  flags: [
    { name: 'model', value: 'M', help: 'a best.safetensors / last.safetensors of transseg train' },
    { name: 'format', value: 'F', default: TRANSSEG_TORCH_FORMAT, help: 'the layout to write (transseg-torch, the only one)' },
    { name: 'out', value: 'FILE', help: 'the .safetensors file to write (atomically)' },
  ],
});

export async function exportModel(argv: string[]): Promise<string> {
  const { values } = parseFlags(EXPORT_COMMAND, argv);
  const path = required(values.model, 'model', 'export');
  const out = required(values.out, 'out', 'export');
  if (!(EXPORT_FORMATS as readonly string[]).includes(values.format)) {
    throw new Error(`export: --format must be one of ${EXPORT_FORMATS.join(', ')}; got '${values.format}'`);
  }
  if (!out.endsWith('.safetensors')) throw new Error(`export: --out ${out} must end in .safetensors`);
  const file = await readSafetensorsFile(path).catch((e) => { throw fileSystemError(e, path, 'read --model'); });
  const header = readModelFileHeader(file.metadata, path);
  if (header?.kind !== 'segmenter') {
    throw new Error(`export: --model ${path} is not a trained segmenter (expected a file written by \`transseg train\`)`);
  }
  const { tensors, metadata } = exportTranssegTorch(header, file.tensors, `export: --model ${path}`);
  await writeSafetensorsFile(out, tensors, metadata);
  const size = [...header.encoder.imageSize, header.encoder.depthSlices].join('×');
  return `wrote ${out}: ${tensors.length} tensors, the state_dict of TransSeg's SegmentationModel ` +
    `(encoder beit, decoder ${header.segmenter.decoder ?? 'upernet'}, img_size ${size}); its hyper_parameters are in __metadata__`;
}
