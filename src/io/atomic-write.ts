// Atomic file replacement (Node only), shared by the NIfTI and safetensors writers.

import { randomUUID } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';

/**
 * Creates `path` or replaces it whole: `write` fills a new temporary file in the same folder,
 * which is flushed to disk and only then renamed over `path`. A failure at any point (in `write`,
 * the flush or the rename) removes the temporary file and rethrows, leaving either the old file
 * or the complete new one, never a partial one.
 */
export async function writeFileAtomically(path: string, write: (file: FileHandle) => Promise<void>): Promise<void> {
  const temp = `${path}.${randomUUID()}.tmp`;
  const file = await open(temp, 'wx');
  try {
    try {
      await write(file);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
