// `transseg inspect W`: what a checkpoint is — format, configuration, parameter count — and where
// every tensor maps to, before anyone trains on it.

import { parseArgs } from 'node:util';
import { fileSystemError } from '../io/file-errors.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { describeConfig } from '../checkpoint/canonical.js';
import { readModelFileHeader } from '../model/model-file.js';
import { CHECKPOINT_FLAGS, loadCheckpointFromFlags } from './checkpoint-options.js';

const shape = (s: readonly number[]) => `[${s.join(', ')}]`;
const count = (tensors: Iterable<{ data: Float32Array }>) => [...tensors].reduce((n, t) => n + t.data.length, 0);

export async function inspect(argv: string[]): Promise<string> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...CHECKPOINT_FLAGS, json: { type: 'boolean' } } });
  const weights = positionals[0] ?? values.weights;
  if (!weights) throw new Error('inspect: give the checkpoint file (transseg inspect W)');
  const file = await readSafetensorsFile(weights).catch((e) => { throw fileSystemError(e, weights, 'read the checkpoint'); });
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
  const adapted = await loadCheckpointFromFlags({ ...values, weights }, 'inspect');
  const report = {
    file: weights,
    format: adapted.format,
    config: adapted.config,
    parameters: count(adapted.tensors.values()),
    tensors: adapted.tensors.size,
    mapping: adapted.mapping,
  };
  if (values.json) return JSON.stringify(report, null, 2);
  const sourceShape = (name: string) => shape(file.tensors.get(name)?.shape ?? []);
  return [
    `file        ${weights}`,
    `format      ${adapted.format}`,
    `model       ${describeConfig(adapted.config)}`,
    `parameters  ${report.parameters.toLocaleString('en-US')} in ${report.tensors} canonical tensors`,
    'mapping (file → canonical)',
    ...adapted.mapping.map((m) => `  ${m.from} ${sourceShape(m.from)} → ${m.to ?? '(dropped)'}${m.note ? `  [${m.note}]` : ''}`),
  ].join('\n');
}
