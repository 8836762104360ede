// What a command writes to stderr (progress, warnings), captured instead of shown.
import { vi } from 'vitest';

/** Runs `work` with process.stderr.write captured; returns its value and the chunks written, in order. */
export async function captureStderr<T>(work: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    return { value: await work(), lines };
  } finally {
    spy.mockRestore();
  }
}
