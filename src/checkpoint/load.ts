// Loading a foreign 2-D ViT checkpoint from disk (Node only).

import { fileSystemError } from '../io/file-errors.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { adaptCheckpoint, type AdaptedCheckpoint, type AdaptOptions } from './adapters.js';

/** Reads a .safetensors checkpoint and adapts it (see adaptCheckpoint); errors name `path`. */
export async function loadCheckpointFile(path: string, options: Omit<AdaptOptions, 'fileName'> = {}): Promise<AdaptedCheckpoint> {
  const file = await readSafetensorsFile(path).catch((e) => { throw fileSystemError(e, path, 'read the checkpoint'); });
  return adaptCheckpoint(file, { ...options, fileName: path });
}
