// Listing a folder of case folders (Node); the matching rule is src/data/case-folders.ts.

import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { matchModalityFiles } from './case-folders.js';

export interface FolderCase {
  /** The case folder's name. */
  id: string;
  /** One path per pattern, in the patterns' order. */
  image: string[];
  /** The label file, when a label pattern was given. */
  label?: string;
}

/** The sub-folders of `folder` (sorted), or [] when it has none; a link to a folder counts as one. */
export async function subfolders(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  const isFolder = async (e: (typeof entries)[number]) =>
    e.isDirectory() || (e.isSymbolicLink() && Boolean((await stat(join(folder, e.name)).catch(() => null))?.isDirectory()));
  const flags = await Promise.all(entries.map(isFolder));
  return entries.filter((_, i) => flags[i]).map((e) => e.name).sort();
}

/**
 * Every sub-folder of `folder` as one case: its image files matched to `patterns`, and its label to
 * `labelPattern` when given. All problems are collected and thrown together.
 */
export async function caseFolders(folder: string, patterns: readonly string[], labelPattern?: string): Promise<FolderCase[]> {
  const cases: FolderCase[] = [];
  const problems: string[] = [];
  for (const id of await subfolders(folder)) {
    const dir = join(folder, id);
    const files = await readdir(dir);
    try {
      const image = matchModalityFiles(files, patterns, dir).map((f) => join(dir, f));
      const label = labelPattern === undefined ? undefined : join(dir, matchModalityFiles(files, [labelPattern], dir)[0]);
      cases.push({ id, image, ...(label ? { label } : {}) });
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (problems.length) throw new Error(`${folder}: ${problems.length} case folder${problems.length === 1 ? '' : 's'} without a match:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  if (cases.length === 0) throw new Error(`${folder} holds no case folders`);
  return cases;
}

/**
 * `folder` as one patient folder: the case whose modality files are the folder's files matched to
 * `patterns` (two or more), or null when some pattern matches no file or several.
 */
export async function patientFolder(folder: string, patterns: readonly string[]): Promise<FolderCase | null> {
  if (patterns.length < 2) return null; // one pattern cannot tell a patient's files from a folder of cases
  try {
    const image = matchModalityFiles(await readdir(folder), patterns, folder).map((f) => join(folder, f));
    return { id: basename(resolve(folder)), image };
  } catch {
    return null;
  }
}
