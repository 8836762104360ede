// Reading and writing safetensors files on disk (Node only; the format itself is in safetensors.ts).

import { constants } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import { writeFileAtomically } from './atomic-write.js';
import {
  layoutSafetensors, parseSafetensors, parseSafetensorsHeader, readHeaderLength, tensorBytes,
  type SafetensorsFile, type SafetensorsHeader, type TensorsToWrite,
} from './safetensors.js';

// One read or write call moves at most this much (the OS caps a single call near 2 GiB).
const CHUNK_BYTES = 1 << 30;

async function readExactly(file: FileHandle, target: Uint8Array, path: string): Promise<void> {
  for (let done = 0; done < target.length;) {
    const { bytesRead } = await file.read(target, done, Math.min(target.length - done, CHUNK_BYTES), done);
    if (bytesRead === 0) throw new Error(`${path}: the file ended after ${done} bytes while being read`);
    done += bytesRead;
  }
}

async function writeAll(file: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    done += (await file.write(bytes, done, Math.min(bytes.length - done, CHUNK_BYTES))).bytesWritten;
  }
}

/**
 * Reads a safetensors file and converts every tensor to f32. The file is read once into a single
 * Uint8Array and each tensor decoded from a view of it, so memory peaks at the file plus the
 * decoded tensors (aligned little-endian F32 data is copied once, straight into its own array);
 * the file's bytes are garbage once this returns.
 */
export async function readSafetensorsFile(path: string): Promise<SafetensorsFile> {
  const file = await open(path, 'r');
  let bytes: Uint8Array;
  try {
    const { size } = await file.stat();
    if (size > constants.MAX_LENGTH) {
      throw new Error(`${path}: the file is ${size} bytes, more than one buffer can hold here (${constants.MAX_LENGTH})`);
    }
    bytes = new Uint8Array(size);
    await readExactly(file, bytes, path);
  } finally {
    await file.close();
  }
  return parseSafetensors(bytes, path);
}

/** Reads and validates only the header (names, dtypes, shapes, metadata): 8 + N bytes of the file. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const lengthBytes = new Uint8Array(Math.min(8, size));
    await readExactly(file, lengthBytes, path);
    const bytes = new Uint8Array(8 + readHeaderLength(lengthBytes, path, size));
    await readExactly(file, bytes, path);
    return parseSafetensorsHeader(bytes, path, size);
  } finally {
    await file.close();
  }
}

/**
 * Writes the tensors as a safetensors file (layout: see layoutSafetensors), streaming each
 * tensor's bytes without building the whole file in memory. The file is replaced atomically (see
 * writeFileAtomically): a crash leaves either the old file or the complete new one.
 */
export async function writeSafetensorsFile(
  path: string, tensors: TensorsToWrite, metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  const layout = layoutSafetensors(tensors, metadata);
  await writeFileAtomically(path, async (file) => {
    await writeAll(file, layout.prefix);
    for (const [, { data }] of layout.tensors) await writeAll(file, tensorBytes(data));
  });
}
