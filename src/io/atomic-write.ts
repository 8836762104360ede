// Atomic file replacement (Node only), shared by the NIfTI and safetensors writers and the run
// folder of `transseg train`.

import { randomUUID } from 'node:crypto';
import { constants, rmSync } from 'node:fs';
import { copyFile, link, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { fileSystemError } from './file-errors.js';

/** Temporary files being written right now, for removeTemporaryFiles. */
const inFlight = new Set<string>();

/** Temporary names end in `.<uuid>.tmp`; a stale one (left by a killed process) matches this. */
export const TEMPORARY_NAME = /\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

/**
 * Creates `path` or replaces it whole: `write` fills a new temporary file in the same folder,
 * which is flushed to disk and only then renamed over `path`. A failure at any point (in `write`,
 * the flush or the rename) removes the temporary file and rethrows, leaving either the old file
 * or the complete new one, never a partial one. Errors of the file system name `path`, not the
 * temporary name.
 */
export async function writeFileAtomically(path: string, write: (file: FileHandle) => Promise<void>): Promise<void> {
  const temp = `${path}.${randomUUID()}.tmp`;
  let file: FileHandle;
  try {
    file = await open(temp, 'wx');
  } catch (error) {
    throw fileSystemError(error, path, 'create');
  }
  inFlight.add(temp);
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
    throw fileSystemError(error, path, 'write');
  } finally {
    inFlight.delete(temp);
  }
}

/**
 * Makes `path` a second name of the existing file `source` (a hard link; a copy where the file
 * system has no hard links), replacing any old `path` atomically as writeFileAtomically does.
 */
export async function linkFileAtomically(source: string, path: string): Promise<void> {
  // Renaming a link over another link to the same file would leave the temporary name behind.
  if (await isSameFile(source, path)) return;
  const temp = `${path}.${randomUUID()}.tmp`;
  inFlight.add(temp);
  try {
    await link(source, temp).catch(() => copyFile(source, temp, constants.COPYFILE_EXCL));
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw fileSystemError(error, path, `link ${source} to`);
  } finally {
    inFlight.delete(temp);
  }
}

async function isSameFile(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([stat(a), stat(b).catch(() => null)]);
  return y !== null && x.dev === y.dev && x.ino === y.ino;
}

/**
 * Removes the temporary files of every writeFileAtomically and linkFileAtomically still running, synchronously: for a
 * signal handler, just before the process dies (see installTemporaryFileCleanup).
 */
export function removeTemporaryFiles(): void {
  for (const temp of inFlight) rmSync(temp, { force: true });
  inFlight.clear();
}

/**
 * On SIGINT, SIGTERM or SIGHUP: removes the temporary files being written, then dies of the same
 * signal as it would have without the handler (so the exit status still tells the signal).
 * For a command-line program; a library leaves signals to its host.
 */
export function installTemporaryFileCleanup(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      removeTemporaryFiles();
      process.kill(process.pid, signal);
    };
    try {
      process.once(signal, onSignal);
    } catch {
      // a runtime or platform without this signal (Deno on Windows has only SIGINT and SIGBREAK)
    }
  }
}
