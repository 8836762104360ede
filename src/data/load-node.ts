// Opening a dataset on disk (Node only): dataset.json, then every NIfTI file it lists, read with
// readNiftiFile.

import { readFile } from 'node:fs/promises';
import { fileSystemError } from '../io/file-errors.js';
import { readNiftiFile } from '../io/nifti-node.js';
import { parseDatasetJson, validateDataset, type Dataset, type DatasetSummary, type LabelRemap } from './dataset.js';
import { loadCase, type CaseEntry, type LoadedCase } from './volume.js';

/** Parses the dataset.json at `path` (relative paths inside resolve against its folder). */
export async function readDatasetFile(path: string): Promise<Dataset> {
  const text = await readFile(path, 'utf8').catch((e) => { throw fileSystemError(e, path, 'read the dataset file'); });
  return parseDatasetJson(text, path);
}

/**
 * Parses the dataset.json at `path` and validates every file it lists (see validateDataset):
 * throws one DatasetValidationError listing all problems, or returns the dataset and a summary.
 */
export async function openDataset(path: string, options: { remap?: LabelRemap } = {}): Promise<{ dataset: Dataset; summary: DatasetSummary }> {
  const dataset = await readDatasetFile(path);
  return { dataset, summary: await validateDataset(dataset, readNiftiFile, options) };
}

/** loadCase with the files read from disk. */
export function loadCaseFile(entry: CaseEntry, options: { remap?: LabelRemap } = {}): Promise<LoadedCase> {
  return loadCase(entry, readNiftiFile, options);
}
