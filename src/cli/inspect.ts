// `transseg inspect W`: what a checkpoint is — format, configuration, parameter count — and where
// every tensor maps to, before anyone trains on it. W is a file or hf:ORG/REPO[@revision][:file].

import { fileSystemError } from '../io/file-errors.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { describeConfig } from '../checkpoint/canonical.js';
import { readModelFileHeader } from '../model/model-file.js';
import { adaptCheckpoint } from '../checkpoint/adapters.js';
import { importTranssegTorch, isTranssegTorchLayout, TRANSSEG_TORCH_FORMAT } from '../checkpoint/transseg-torch.js';
import { CHECKPOINT_FLAGS, resolveCheckpointFlags } from './checkpoint-options.js';
import { defineCommand, parseFlags } from './flag-table.js';

export const INSPECT_COMMAND = defineCommand({
  name: 'inspect',
  summary: "a checkpoint's format, model, parameter count and name map",
  description: 'What a checkpoint is: its format, model, parameter count and where every tensor maps to (a foreign 2-D checkpoint), or its kind, configuration and provenance (one of our files).',
  synopsis: 'W [--json] [checkpoint options]',
  positionals: [{ name: 'W', help: 'the checkpoint (.safetensors); or give it as --weights' }],
  flags: [
    { name: 'json', help: 'print the report as JSON' },
    ...CHECKPOINT_FLAGS,
  ],
});

const shape = (s: readonly number[]) => `[${s.join(', ')}]`;
const count = (tensors: Iterable<{ data: Float32Array }>) => [...tensors].reduce((n, t) => n + t.data.length, 0);

export async function inspect(argv: string[]): Promise<string> {
  const { values, positionals } = parseFlags(INSPECT_COMMAND, argv);
  const weights = positionals[0] ?? values.weights;
  if (!weights) throw new Error('inspect: give the checkpoint file (transseg inspect W)');
  const { path, options } = await resolveCheckpointFlags({ ...values, weights }, 'inspect');
  const file = await readSafetensorsFile(path).catch((e) => { throw fileSystemError(e, path, 'read the checkpoint'); });
  const ours = readModelFileHeader(file.metadata, weights);
  if (ours) {
    const tensors = [...file.tensors].map(([name, t]) => ({ name, shape: t.shape }));
    const report = { file: weights, format: 'transseg-webgpu', kind: ours.kind, config: ours.encoder, provenance: ours.provenance, parameters: count(file.tensors.values()), tensors };
    if (values.json) return JSON.stringify(report, null, 2);
    return [
      `file        ${weights}`,
      `format      transseg-webgpu ${ours.kind} (${describeConfig(ours.encoder)}, ${ours.encoder.depthSlices} slices)`,
      `parameters  ${report.parameters.toLocaleString('en-US')} in ${tensors.length} tensors`,
      `provenance  ${JSON.stringify(ours.provenance)}`,
      ...tensors.map((t) => `  ${t.name} ${shape(t.shape)}`),
    ].join('\n');
  }
  // A state_dict of the authors' PyTorch code is a whole segmenter; anything else a 2-D checkpoint.
  const authors = isTranssegTorchLayout(file.tensors.keys()) ? importTranssegTorch(file, weights) : null;
  const adapted = authors
    ? { format: TRANSSEG_TORCH_FORMAT, config: authors.header.encoder, tensors: authors.tensors, mapping: authors.mapping }
    : adaptCheckpoint(file, { ...options, fileName: path }); // the file is read once
  const report = {
    file: weights,
    format: adapted.format,
    config: adapted.config,
    ...(authors ? { segmenter: authors.header.segmenter } : {}),
    parameters: count(adapted.tensors.values()),
    tensors: adapted.tensors.size,
    mapping: adapted.mapping,
  };
  if (values.json) return JSON.stringify(report, null, 2);
  const sourceShape = (name: string) => shape(file.tensors.get(name)?.shape ?? []);
  return [
    `file        ${weights}`,
    `format      ${adapted.format}`,
    `model       ${describeConfig(adapted.config)}${authors ? `, ${adapted.config.depthSlices} slices, ${JSON.stringify(authors.header.segmenter)}` : ''}`,
    `parameters  ${report.parameters.toLocaleString('en-US')} in ${report.tensors} canonical tensors`,
    'mapping (file → canonical)',
    ...adapted.mapping.map((m) => `  ${m.from} ${sourceShape(m.from)} → ${m.to ?? '(dropped)'}${m.note ? `  [${m.note}]` : ''}`),
  ].join('\n');
}
