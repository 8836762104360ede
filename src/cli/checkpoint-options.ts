// The options every command that reads a 2-D checkpoint shares: --weights (a file or
// hf:ORG/REPO[@revision][:file]), --offline, --format, --preset and --config (a model JSON with
// the settings the weights cannot tell).

import { readFile } from 'node:fs/promises';
import { loadCheckpointFile } from '../checkpoint/load.js';
import type { AdaptedCheckpoint, AdaptOptions } from '../checkpoint/adapters.js';
import { resolveWeights } from '../checkpoint/hub-node.js';
import { isCheckpointFormat, CHECKPOINT_FORMATS } from '../checkpoint/detect.js';
import { fileSystemReason, isFileSystemError } from '../io/file-errors.js';
import type { VitConfig } from '../model/config.js';
import { required } from './flags.js';
import { downloadProgress } from './progress.js';

/** Rows of the flag tables of inspect, classify and inflate. */
export const CHECKPOINT_FLAGS = [
  { name: 'weights', value: 'W', help: 'the 2-D checkpoint: a .safetensors file or hf:ORG/REPO[@revision][:file] (Hugging Face Hub, cached)', group: 'checkpoint' },
  { name: 'format', value: 'F', shownDefault: 'detected', help: 'timm-vit, timm-beit, hf-vit, hf-beit or vit-pytorch; detected from the tensor names when absent', group: 'checkpoint' },
  { name: 'preset', value: 'NAME', help: 'a named configuration for what the weights cannot tell (heads, epsilon, ...), e.g. vit_base_patch16_224, beit_base_patch16_224, vit4mnist', group: 'checkpoint' },
  { name: 'config', value: 'FILE', help: 'a model JSON: any subset of the VitConfig fields (src/model/config.ts); wins over the preset', group: 'checkpoint' },
  { name: 'offline', help: 'hf: weights from the Hugging Face cache only, no network (as HF_HUB_OFFLINE=1)', group: 'checkpoint' },
] as const;

export interface CheckpointFlags {
  weights?: string;
  format?: string;
  preset?: string;
  config?: string;
  offline?: boolean;
}

/** A model JSON (--config): an object of VitConfig fields; errors name the file. */
export async function readModelJson(path: string): Promise<Partial<VitConfig>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`--config ${path}: cannot read the file: ${isFileSystemError(e) ? fileSystemReason(e) : (e as Error).message}`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Partial<VitConfig>;
  } catch (e) {
    throw new Error(`--config ${path}: not a JSON object (${(e as Error).message})`);
  }
}

/** The checkpoint file (downloaded for hf: weights) and the options to adapt it with. */
export async function resolveCheckpointFlags(flags: CheckpointFlags, command: string): Promise<{ path: string; options: Omit<AdaptOptions, 'fileName'> }> {
  const weights = required(flags.weights, 'weights', command);
  if (flags.format !== undefined && !isCheckpointFormat(flags.format)) {
    throw new Error(`${command}: --format must be one of ${CHECKPOINT_FORMATS.join(', ')}; got '${flags.format}'`);
  }
  const resolved = await resolveWeights(weights, { offline: flags.offline, onProgress: downloadProgress('download') });
  return {
    path: resolved.path,
    options: {
      format: flags.format,
      preset: flags.preset ?? resolved.preset,
      repository: resolved.repository,
      config: flags.config ? await readModelJson(flags.config) : undefined,
    },
  };
}

export async function loadCheckpointFromFlags(flags: CheckpointFlags, command: string): Promise<AdaptedCheckpoint> {
  const { path, options } = await resolveCheckpointFlags(flags, command);
  return loadCheckpointFile(path, options);
}
