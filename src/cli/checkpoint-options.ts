// The options every command that reads a 2-D checkpoint shares: --weights, --format, --preset and
// --config (a model JSON with the settings the weights cannot tell).

import { readFile } from 'node:fs/promises';
import { loadCheckpointFile } from '../checkpoint/load.js';
import type { AdaptedCheckpoint } from '../checkpoint/adapters.js';
import { isCheckpointFormat, CHECKPOINT_FORMATS } from '../checkpoint/detect.js';
import { fileSystemReason, isFileSystemError } from '../io/file-errors.js';
import type { VitConfig } from '../model/config.js';
import { required } from './flags.js';

export const CHECKPOINT_FLAGS = {
  weights: { type: 'string' },
  format: { type: 'string' },
  preset: { type: 'string' },
  config: { type: 'string' },
} as const;

export interface CheckpointFlags {
  weights?: string;
  format?: string;
  preset?: string;
  config?: string;
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

export async function loadCheckpointFromFlags(flags: CheckpointFlags, command: string): Promise<AdaptedCheckpoint> {
  const weights = required(flags.weights, 'weights', command);
  if (flags.format !== undefined && !isCheckpointFormat(flags.format)) {
    throw new Error(`${command}: --format must be one of ${CHECKPOINT_FORMATS.join(', ')}; got '${flags.format}'`);
  }
  return loadCheckpointFile(weights, {
    format: flags.format,
    preset: flags.preset,
    config: flags.config ? await readModelJson(flags.config) : undefined,
  });
}
