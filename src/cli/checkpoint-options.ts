// The options every command that reads a 2-D checkpoint shares: --weights (a file or
// hf:ORG/REPO[@revision][:file]), --offline, --format, --preset and --config (a model JSON with
// the settings the weights cannot tell).

import { readFile } from 'node:fs/promises';
import { loadCheckpointFile } from '../checkpoint/load.js';
import type { AdaptedCheckpoint, AdaptOptions } from '../checkpoint/adapters.js';
import { resolveWeights } from '../checkpoint/hub-node.js';
import { isCheckpointFormat, CHECKPOINT_FORMATS } from '../checkpoint/detect.js';
import type { VitConfig } from '../model/config.js';
import { required } from './flags.js';
import { downloadProgress } from './progress.js';

export const CHECKPOINT_FLAGS = {
  weights: { type: 'string' },
  format: { type: 'string' },
  preset: { type: 'string' },
  config: { type: 'string' },
  offline: { type: 'boolean' },
} as const;

export interface CheckpointFlags {
  weights?: string;
  format?: string;
  preset?: string;
  config?: string;
  offline?: boolean;
}

async function readModelJson(path: string): Promise<Partial<VitConfig>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`--config ${path}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
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
