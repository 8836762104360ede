// Medical Segmentation Decathlon `dataset.json` files: parsing, the train/validation split, label
// remapping, and the check of every file before training starts. Plain TypeScript (no Node): the
// files themselves are read through a `VolumeReader` (load-node.ts passes readNiftiFile).
//
// Accepted beyond the MSD format:
// - `image` may be a list of per-modality 3-D files (in `modality` order) instead of one 4-D file
//   with the channels last on disk;
// - `validation`: a list like `training`, used as it is when present (see trainingSplit);
// - `id` on a training / validation case; otherwise the first image's file name without extension.
// Paths are resolved against the folder of the json (POSIX '/' separators, as MSD writes them).

import type { NiftiVolume } from '../io/nifti.js';
import { rng } from '../util/random.js';

export interface DatasetCase {
  id: string;
  /** One path per image file: a single 4-D file, or one 3-D file per modality. */
  image: string[];
  label: string;
}

export interface Dataset {
  /** The dataset.json it was parsed from. */
  path: string;
  name: string;
  /** Label value → name, as declared (before any remap). */
  labels: Record<number, string>;
  /** Channel index → modality name ("CT", "FLAIR", …). */
  modality: Record<number, string>;
  training: DatasetCase[];
  validation?: DatasetCase[];
  /** Unlabelled cases: the image paths of each. */
  test: string[][];
}

/** Reads one NIfTI volume; errors should name the path. */
export type VolumeReader = (path: string) => Promise<NiftiVolume>;

/** Label value → class, e.g. BRATS whole tumour {1: 1, 2: 1, 3: 1, 4: 1}; unlisted values keep theirs. */
export type LabelRemap = Record<number, number>;

const dirname = (path: string): string => path.slice(0, path.lastIndexOf('/') + 1);

const ABSOLUTE = /^(\/|[A-Za-z]:[\\/]|[A-Za-z][A-Za-z0-9+.-]*:\/\/)/;
const ROOT = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*\/|[A-Za-z]:[\\/]|\/)?/;

/** `relative` against `folder` ('' or ending in '/'), with '.', '..' and empty segments folded. */
function resolvePath(folder: string, relative: string): string {
  const joined = ABSOLUTE.test(relative) ? relative : folder + relative;
  const root = ROOT.exec(joined)![0];
  const out: string[] = [];
  for (const part of joined.slice(root.length).split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (!(part === '..' && root)) out.push(part); // '..' above the root stays at the root
  }
  return root + out.join('/');
}

/** The file name without folders and without .nii / .nii.gz / .hdr / .img (gzipped or not). */
export function fileStem(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1).replace(/\.(nii|hdr|img)(\.gz)?$/i, '');
}

function parseFail(path: string, problem: string): Error {
  return new Error(`${path}: ${problem}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** {"0": "background", …} with non-negative integer keys and string values. */
function parseIndexedNames(json: Record<string, unknown>, key: string, path: string): Record<number, string> {
  const value = json[key];
  if (!isObject(value) || Object.keys(value).length === 0) {
    throw parseFail(path, `"${key}" must be a non-empty object like {"0": "name", …}, got ${JSON.stringify(value)}`);
  }
  const out: Record<number, string> = {};
  for (const [k, name] of Object.entries(value)) {
    if (!/^\d+$/.test(k) || typeof name !== 'string') {
      throw parseFail(path, `"${key}": every key must be a non-negative integer and every value a string, got "${k}": ${JSON.stringify(name)}`);
    }
    out[Number(k)] = name;
  }
  return out;
}

/** A string or a non-empty list of strings, as resolved paths. */
function parseImage(value: unknown, where: string, folder: string, path: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((p) => typeof p === 'string' && p.length > 0)) {
    throw parseFail(path, `${where} must be a path or a non-empty list of paths (one per modality), got ${JSON.stringify(value)}`);
  }
  return list.map((p) => resolvePath(folder, p));
}

function parseCases(value: unknown, key: string, folder: string, path: string): DatasetCase[] {
  if (!Array.isArray(value)) throw parseFail(path, `"${key}" must be a list of {"image": …, "label": …}, got ${JSON.stringify(value)}`);
  return value.map((entry, i) => {
    const where = `${key}[${i}]`;
    if (!isObject(entry)) throw parseFail(path, `${where} must be an object {"image": …, "label": …}, got ${JSON.stringify(entry)}`);
    const image = parseImage(entry.image, `${where}.image`, folder, path);
    if (typeof entry.label !== 'string' || entry.label.length === 0) {
      throw parseFail(path, `${where}.label must be a path, got ${JSON.stringify(entry.label)}`);
    }
    if (entry.id !== undefined && (typeof entry.id !== 'string' || entry.id.length === 0)) {
      throw parseFail(path, `${where}.id must be a non-empty string, got ${JSON.stringify(entry.id)}`);
    }
    return { id: typeof entry.id === 'string' ? entry.id : fileStem(image[0]), image, label: resolvePath(folder, entry.label) };
  });
}

/** MSD writes test cases as paths; a list of per-modality paths or an {"image": …} object also works. */
function parseTest(value: unknown, folder: string, path: string): string[][] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw parseFail(path, `"test" must be a list of image paths, got ${JSON.stringify(value)}`);
  return value.map((entry, i) => parseImage(isObject(entry) ? entry.image : entry, `test[${i}]`, folder, path));
}

function checkUniqueIds(cases: DatasetCase[], path: string): void {
  const seen = new Map<string, string>();
  for (const c of cases) {
    const first = seen.get(c.id);
    if (first) {
      throw parseFail(path, `two cases have the id "${c.id}" (${first} and ${c.image[0]}): ids name the prediction files, so give each case a distinct "id"`);
    }
    seen.set(c.id, c.image[0]);
  }
}

/**
 * Parses the text of a dataset.json found at `path` (used to resolve relative paths and in
 * errors). Throws on the first structural problem, naming the field.
 */
export function parseDatasetJson(text: string, path: string): Dataset {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw parseFail(path, `not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(json)) throw parseFail(path, 'a dataset.json must be a JSON object');
  if (json.name !== undefined && typeof json.name !== 'string') throw parseFail(path, `"name" must be a string, got ${JSON.stringify(json.name)}`);
  const folder = dirname(path);
  const modality = parseIndexedNames(json, 'modality', path);
  const channels = Object.keys(modality).map(Number).sort((a, b) => a - b);
  if (channels.some((c, k) => c !== k)) {
    throw parseFail(path, `"modality" keys are channel indices and must be 0..${channels.length - 1}, got ${channels.join(', ')}`);
  }
  const training = parseCases(json.training, 'training', folder, path);
  const validation = json.validation === undefined ? undefined : parseCases(json.validation, 'validation', folder, path);
  // Ids name the prediction files of one list; the same case may be listed in both (trained on and
  // scored, e.g. a final model trained on everything), so each list is checked on its own.
  checkUniqueIds(training, path);
  checkUniqueIds(validation ?? [], path);
  return {
    path,
    name: typeof json.name === 'string' ? json.name : '',
    labels: parseIndexedNames(json, 'labels', path),
    modality,
    training,
    ...(validation && { validation }),
    test: parseTest(json.test, folder, path),
  };
}

/**
 * A seeded split of `cases` into train and validation (both in their original order):
 * round(fraction·n) cases, at least 1 and at most n − 1, go to validation. Used when a
 * dataset.json has no `validation` list. TransSeg instead shuffled `training` with Python's
 * random.seed(1234) into 80% train / 15% validation / 5% local test; that generator (Mersenne
 * Twister) is not reproduced here, so the cases chosen differ from the paper's, and there is no
 * third part.
 */
export function splitCases<T>(cases: readonly T[], options: { fraction?: number; seed: number }): { train: T[]; validation: T[] } {
  const fraction = options.fraction ?? 0.2;
  if (!(fraction > 0 && fraction < 1)) throw new Error(`splitCases: fraction must be in (0, 1), got ${fraction}`);
  if (cases.length < 2) throw new Error(`splitCases: a split needs at least 2 cases, got ${cases.length}`);
  const n = cases.length;
  const count = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  const order = Array.from({ length: n }, (_, i) => i);
  const random = rng(options.seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1)); // Fisher–Yates
    [order[i], order[j]] = [order[j], order[i]];
  }
  const inValidation = new Set(order.slice(0, count));
  return {
    train: cases.filter((_, i) => !inValidation.has(i)),
    validation: cases.filter((_, i) => inValidation.has(i)),
  };
}

/** The dataset's own `validation` list when it has one, otherwise splitCases of `training`. */
export function trainingSplit(dataset: Dataset, options: { fraction?: number; seed: number }): { train: DatasetCase[]; validation: DatasetCase[] } {
  if (dataset.validation) return { train: dataset.training, validation: dataset.validation };
  return splitCases(dataset.training, options);
}

/**
 * The classes after `remap`, each named by the labels merged into it ("edema + enhancing"). They
 * must be 0..K−1, the model's output channels. Throws for a remap of undeclared labels.
 */
export function remapLabels(labels: Record<number, string>, remap: LabelRemap = {}): Record<number, string> {
  for (const [from, to] of Object.entries(remap)) {
    if (!(Number(from) in labels)) {
      throw new Error(`remapLabels: label ${from} is not declared (labels: ${Object.keys(labels).join(', ')})`);
    }
    if (!Number.isInteger(to) || to < 0) throw new Error(`remapLabels: label ${from} → ${to}: a class must be a non-negative integer`);
  }
  const names = new Map<number, string[]>();
  for (const [value, name] of Object.entries(labels)) {
    const target = remap[Number(value)] ?? Number(value);
    names.set(target, [...(names.get(target) ?? []), name]);
  }
  const classes = [...names.keys()].sort((a, b) => a - b);
  if (classes.some((c, k) => c !== k)) {
    throw new Error(`remapLabels: the classes${Object.keys(remap).length ? ' after remapping' : ''} are ${classes.join(', ')}; they must be 0..${classes.length - 1} (one per model output)`);
  }
  return Object.fromEntries(classes.map((c) => [c, names.get(c)!.join(' + ')]));
}

/**
 * Applies `remap` to label values in place (and returns `data`). Values that are not listed,
 * or not non-negative integers, are left as they are for validateDataset to report.
 */
export function remapLabelValues(data: Float32Array, remap: LabelRemap = {}): Float32Array {
  const keys = Object.keys(remap).map(Number);
  if (keys.length === 0) return data;
  const table = Array.from({ length: Math.max(...keys) + 1 }, (_, v) => remap[v] ?? v);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v >= 0 && v < table.length && Number.isInteger(v)) data[i] = table[v];
  }
  return data;
}

/** Thrown by validateDataset: one message listing every problem, and the list itself. */
export class DatasetValidationError extends Error {
  constructor(readonly problems: string[], datasetPath: string) {
    super(`${datasetPath}: ${problems.length} problem${problems.length === 1 ? '' : 's'} found before training:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'DatasetValidationError';
  }
}

export interface DatasetSummary {
  /** Cases checked (training, validation and test). */
  cases: number;
  /** Files read. */
  files: number;
  /** Labelled voxels per class (after remap), over every training and validation label. */
  classVoxels: number[];
}

const AFFINE_TOLERANCE = 1e-4; // mm: float32 headers written by different tools agree to ~1e-5

function gridDifference(a: NiftiVolume, b: NiftiVolume): string | null {
  if ([0, 1, 2].some((k) => a.dims[k] !== b.dims[k])) return `grid ${a.dims.slice(0, 3).join('×')} vs ${b.dims.slice(0, 3).join('×')}`;
  const worst = Math.max(...a.affine.map((v, k) => Math.abs(v - b.affine[k])));
  return worst > AFFINE_TOLERANCE ? `affines differ by up to ${worst.toExponential(2)} (more than ${AFFINE_TOLERANCE})` : null;
}

/** Channels in a file: the product of the dimensions after x, y, z (1 for a 3-D file). */
export const channelCount = (volume: NiftiVolume): number => volume.dims.slice(3).reduce((a, b) => a * b, 1);

async function tryRead(path: string, reader: VolumeReader, problems: string[]): Promise<NiftiVolume | null> {
  try {
    return await reader(path);
  } catch (error) {
    const message = (error as Error).message;
    problems.push(message.includes(path) ? `cannot read: ${message}` : `${path}: cannot read: ${message}`);
    return null;
  }
}

function checkLabelValues(label: NiftiVolume, path: string, remap: LabelRemap, classVoxels: number[], problems: string[]): void {
  const values = remapLabelValues(label.data, remap);
  const undeclared = new Set<number>();
  let fractional = 0;
  let example = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isInteger(v) && v >= 0 && v < classVoxels.length) classVoxels[v]++;
    else if (Number.isInteger(v)) undeclared.add(v);
    else if (fractional++ === 0) example = v;
  }
  if (fractional > 0) problems.push(`${path}: ${fractional} voxel${fractional === 1 ? '' : 's'} with a non-integer label (e.g. ${example})`);
  if (undeclared.size > 0) {
    const list = [...undeclared].sort((a, b) => a - b).slice(0, 10).join(', ');
    problems.push(`${path}: label values ${list}${undeclared.size > 10 ? ', …' : ''} are outside the declared classes 0..${classVoxels.length - 1}${Object.keys(remap).length ? ' (after remap)' : ''}`);
  }
}

/**
 * Reads every file of every case (training, validation, test) and checks: the file is readable;
 * all images and the label of a case share one grid (dims, and affines within 1e-4 mm); the images
 * give one channel per declared modality; images hold only finite numbers; labels are 3-D with
 * integer values among the declared classes after `remap`. Every problem is collected, each naming
 * its file, and thrown together as one DatasetValidationError. Files are read one at a time (a
 * volume at a time in memory).
 */
export async function validateDataset(dataset: Dataset, reader: VolumeReader, options: { remap?: LabelRemap } = {}): Promise<DatasetSummary> {
  const remap = options.remap ?? {};
  const classVoxels = new Array<number>(Object.keys(remapLabels(dataset.labels, remap)).length).fill(0);
  const modalities = Object.keys(dataset.modality).length;
  const cases = [...dataset.training, ...(dataset.validation ?? []), ...dataset.test.map((image) => ({ image, label: undefined }))];
  const problems: string[] = [];
  let files = 0;
  for (const entry of cases) {
    let first: NiftiVolume | null = null;
    let channels = 0;
    let readable = true;
    for (const path of entry.image) {
      files++;
      const volume = await tryRead(path, reader, problems);
      if (!volume) {
        readable = false;
        continue;
      }
      channels += channelCount(volume);
      if (volume.data.some((v) => !Number.isFinite(v))) problems.push(`${path}: the image holds NaN or infinite values`);
      const difference = first && gridDifference(volume, first);
      if (difference) problems.push(`${path}: not on the grid of ${entry.image[0]}: ${difference}`);
      first ??= volume;
    }
    if (readable && channels !== modalities) {
      problems.push(`${entry.image.join(', ')}: ${channels} image channel${channels === 1 ? '' : 's'}, but "modality" declares ${modalities}`);
    }
    if (entry.label === undefined) continue;
    files++;
    const label = await tryRead(entry.label, reader, problems);
    if (!label) continue;
    if (channelCount(label) !== 1) problems.push(`${entry.label}: a label must be 3-D, got dims ${label.dims.join('×')}`);
    const difference = first && gridDifference(label, first);
    if (difference) problems.push(`${entry.label}: not on the grid of its image ${entry.image[0]}: ${difference}`);
    checkLabelValues(label, entry.label, remap, classVoxels, problems);
  }
  if (problems.length > 0) throw new DatasetValidationError(problems, dataset.path);
  return { cases: cases.length, files, classVoxels };
}
