// `transseg predict --model M --input X --output Y`: runs a trained segmenter on NIfTI volumes and
// writes label maps in each input's exact geometry, optionally the class probabilities and PNG
// overlays of chosen slices. See docs/cli.md.
//
// What --input may be:
// - a NIfTI file (.nii, .nii.gz, .hdr): one case, a 3-D file, or a 4-D file holding every
//   modality (channels last, as MSD stores them); or several files joined by commas, one per
//   modality in the model's order. --output (and --probabilities) is then a file.
// - a folder: each NIfTI file in it is one case, named by its file name. Files named as nnU-Net
//   does, `<case>_0000.nii.gz`, `<case>_0001.nii.gz`, …, are the channels of case `<case>` in that
//   order. --output is then a folder of `<case>.nii.gz`.
//   A folder without NIfTI files whose sub-folders each hold one case (BRATS-style patient
//   folders): each sub-folder is a case named by the folder, its files matched to the model's
//   modality names (or --modalities patterns) by a case-insensitive part of the file name
//   (src/data/case-folders.ts).
// - a dataset.json: the cases of its `test` list, into an --output folder.
// A comma-separated list of modality files is one case named by its --output file (`pat3.nii.gz`:
// `pat3`, not the first modality's file name), in progress lines and overlay names.
//
// Nothing is written until everything has been checked: the flags, the output paths (writable,
// none of them an input file), the model file (a segmenter), and every input file (readable,
// channels matching the model, one grid per case, --slices within it). A case that fails after
// that (a GPU or disk error) stops the run with an error naming it; every file written before it
// is complete (the NIfTI writer is atomic) and kept, and the error lists them.

import { constants } from 'node:fs';
import { access, mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { defineCommand, parseFlags } from './flag-table.js';
import { positiveInteger, required } from './flags.js';
import { channelCount, fileStem } from '../data/dataset.js';
import { caseFolders, patientFolder, subfolders } from '../data/case-folders-node.js';
import { readDatasetFile } from '../data/load-node.js';
import { readModelFileHeader } from '../model/model-file.js';
import { loadCase, type LoadedCase } from '../data/volume.js';
import { Gpu } from '../gpu/gpu.js';
import type { Affine } from '../io/affine.js';
import { writeFileAtomically } from '../io/atomic-write.js';
import { readNiftiFile, writeNiftiFile } from '../io/nifti-node.js';
import type { NiftiVolume } from '../io/nifti.js';
import { readSafetensorsFile, readSafetensorsHeader } from '../io/safetensors-node.js';
import type { SafetensorsFile } from '../io/safetensors.js';
import { mostForegroundSlices, overlayFigureSvg, overlayPng, overlayScale, radiologicalView } from '../infer/overlay.js';
import { channelMismatch, labelDatatype, predictCase } from '../infer/predict-file.js';
import { segmenterFromFile, type LoadedSegmenter } from '../checkpoint/segmenter-file.js';
import { ProgressLine } from './progress.js';

const NIFTI_NAME = /\.(nii|hdr)(\.gz)?$/i;
const NIFTI_OUTPUT = /\.nii(\.gz)?$/i;
/** nnU-Net's per-channel file names: `<case>_<4-digit channel>.nii.gz`. */
const CHANNEL_FILE = /^(.+)_(\d{4})\.(nii|hdr)(\.gz)?$/i;

/** One case to predict: its id names the output files; one path per image file. */
interface InputCase {
  id: string;
  image: string[];
}

// ---------------------------------------------------------------------------------------------
// Helpers shared with `transseg evaluate`

/** Reads a model file and builds its segmenter on `gpu`; errors name the file. */
export async function loadSegmenterFile(gpu: Gpu, path: string, command: string): Promise<LoadedSegmenter> {
  let file: SafetensorsFile;
  try {
    file = await readSafetensorsFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code ? `${command}: cannot read --model ${path} (${code})` : `${command}: --model ${(e as Error).message}`);
  }
  try {
    return segmenterFromFile(gpu, file, path);
  } catch (e) {
    throw new Error(`${command}: --model ${(e as Error).message}`);
  }
}

/** The nearest existing folder at or above `path`. */
async function existingAncestor(path: string): Promise<string> {
  for (let p = resolve(path); ; p = dirname(p)) {
    try {
      await stat(p);
      return p;
    } catch {
      if (p === dirname(p)) return p;
    }
  }
}

async function checkWritable(folder: string, what: string, command: string): Promise<void> {
  try {
    await access(folder, constants.W_OK);
  } catch {
    throw new Error(`${command}: ${what}: cannot write in ${folder}`);
  }
}

/** `path` is to be a file written by us: not a folder, in a folder that exists and is writable. */
export async function checkOutputFile(path: string, flag: string, command: string): Promise<void> {
  if ((await stat(path).catch(() => null))?.isDirectory()) throw new Error(`${command}: --${flag} ${path} is a folder; give a file name`);
  const folder = dirname(resolve(path));
  if (!(await stat(folder).catch(() => null))?.isDirectory()) throw new Error(`${command}: --${flag} ${path}: the folder ${folder} does not exist`);
  await checkWritable(folder, `--${flag} ${path}`, command);
}

/** `path` is to be a folder we write into: an existing folder, or one that can be created. */
async function checkOutputFolder(path: string, flag: string): Promise<void> {
  const existing = await stat(path).catch(() => null);
  if (existing && !existing.isDirectory()) throw new Error(`predict: --${flag} ${path} is a file; give a folder (the input is a folder or a dataset.json)`);
  await checkWritable(await existingAncestor(path), `--${flag} ${path}`, 'predict');
}

// ---------------------------------------------------------------------------------------------
// Inputs

/** The NIfTI files of a folder as cases; nnU-Net channel files are grouped (see above). */
async function folderCases(folder: string): Promise<InputCase[]> {
  const names = (await readdir(folder)).filter((n) => NIFTI_NAME.test(n)).sort();
  if (names.length === 0) throw new Error(`predict: --input ${folder} holds no .nii, .nii.gz or .hdr files`);
  const channels = new Map<string, { channel: number; path: string }[]>();
  const cases: InputCase[] = [];
  for (const name of names) {
    const m = CHANNEL_FILE.exec(name);
    if (!m) {
      cases.push({ id: fileStem(name), image: [join(folder, name)] });
      continue;
    }
    if (!channels.has(m[1])) channels.set(m[1], []);
    channels.get(m[1])!.push({ channel: Number(m[2]), path: join(folder, name) });
  }
  for (const [id, files] of channels) {
    const numbers = files.map((f) => f.channel).sort((a, b) => a - b);
    if (numbers.some((c, k) => c !== k)) {
      throw new Error(`predict: --input ${folder}: case ${id} has channel files ${numbers.map((c) => String(c).padStart(4, '0')).join(', ')}; they must be numbered from 0000 without gaps`);
    }
    cases.push({ id, image: files.sort((a, b) => a.channel - b.channel).map((f) => f.path) });
  }
  return cases.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The modality patterns for case folders: --modalities, else the model file's modality names; null
 * when the model records none (the authors' PyTorch files).
 */
async function modalityPatterns(flag: string | undefined, modelPath: string): Promise<string[] | null> {
  if (flag !== undefined) {
    const patterns = flag.split(',');
    if (patterns.some((p) => p.trim() === '')) throw new Error(`predict: --modalities ${flag}: an empty pattern in the comma-separated list`);
    return patterns.map((p) => p.trim());
  }
  const header = readModelFileHeader((await readSafetensorsHeader(modelPath)).metadata, modelPath); // the metadata only
  if (header === null) return null;
  if (header.kind !== 'segmenter') throw new Error(`predict: --model ${modelPath} is not a trained segmenter`);
  return header.modalities;
}

/** The cases --input names, and whether the outputs are single files or folders. */
async function resolveInput(input: string, output: string, patterns: () => Promise<string[] | null>): Promise<{ cases: InputCase[]; single: boolean }> {
  const outputId = fileStem(output);
  if (input.includes(',')) {
    const image = input.split(',');
    if (image.some((p) => p === '')) throw new Error(`predict: --input ${input}: an empty path in the comma-separated list`);
    return { cases: [{ id: outputId, image }], single: true };
  }
  const info = await stat(input).catch(() => null);
  if (!info) throw new Error(`predict: --input ${input} does not exist`);
  if (info.isDirectory()) {
    const hasNifti = (await readdir(input)).some((n) => NIFTI_NAME.test(n));
    if (!hasNifti && (await subfolders(input)).length > 0) {
      const named = await patterns();
      if (named === null) throw new Error(`predict: --input ${input} holds patient folders, and the model records no modality names to match their files (the authors' PyTorch files do not): give --modalities`);
      const cases = await caseFolders(input, named).catch((e: Error) => {
        throw new Error(`predict: --input ${e.message}`);
      });
      return { cases, single: false };
    }
    const patient = hasNifti ? await patientFolder(input, (await patterns()) ?? []) : null;
    return { cases: patient ? [patient] : await folderCases(input), single: false };
  }
  if (/\.json$/i.test(input)) {
    const dataset = await readDatasetFile(input);
    if (dataset.test.length === 0) throw new Error(`predict: --input ${input} lists no "test" cases`);
    return { cases: dataset.test.map((image) => ({ id: fileStem(image[0]), image })), single: false };
  }
  if (!NIFTI_NAME.test(input)) throw new Error(`predict: --input ${input}: expected a .nii, .nii.gz or .hdr file, a folder or a dataset.json`);
  return { cases: [{ id: fileStem(input), image: [input] }], single: true };
}

function checkUniqueIds(cases: InputCase[]): void {
  const seen = new Map<string, string>();
  for (const c of cases) {
    const first = seen.get(c.id);
    if (first) throw new Error(`predict: the inputs ${first} and ${c.image[0]} would both write ${c.id}.nii.gz; rename one`);
    seen.set(c.id, c.image[0]);
  }
}

async function tryRead(path: string, problems: string[]): Promise<NiftiVolume | null> {
  try {
    return await readNiftiFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    problems.push(code ? `${path}: cannot read (${code})` : (e as Error).message);
    return null;
  }
}

/**
 * Reads every input file once (a volume at a time) and collects every problem: unreadable files,
 * channel counts that do not match the model, files of one case on different grids, --slices
 * outside a volume. Throws them all at once.
 */
async function checkInputs(cases: InputCase[], channels: number, modalities: readonly string[], slices: number[] | null): Promise<void> {
  const problems: string[] = [];
  for (const c of cases) {
    let grid: number[] | null = null;
    let found = 0;
    let readable = true;
    for (const path of c.image) {
      const volume = await tryRead(path, problems);
      if (!volume) {
        readable = false;
        continue;
      }
      found += channelCount(volume);
      const g = volume.dims.slice(0, 3);
      if (grid && g.some((d, k) => d !== grid![k])) problems.push(`${path}: grid ${g.join('×')}, but ${c.image[0]} has ${grid.join('×')}`);
      grid ??= g;
    }
    const mismatch = readable ? channelMismatch(found, channels, modalities) : null;
    if (mismatch) problems.push(`${c.image.join(', ')}: ${mismatch}`);
    const outside = grid ? (slices ?? []).filter((k) => k >= grid![2]) : [];
    if (outside.length > 0) problems.push(`${c.image[0]}: --slices ${outside.join(',')} outside its ${grid![2]} slices (0..${grid![2] - 1})`);
  }
  if (problems.length > 0) {
    throw new Error(`predict: ${problems.length} problem${problems.length === 1 ? '' : 's'} with the input; nothing was written:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Flags and outputs

interface Outputs {
  /** The label file of a case. */
  labels: (id: string) => string;
  probabilities: ((id: string) => string) | null;
  overlays: string | null;
  /** 'auto' or slice numbers. */
  slices: 'auto' | number[];
}

function parseSlices(text: string): 'auto' | number[] {
  if (text === 'auto') return 'auto';
  if (!/^\d+(,\d+)*$/.test(text)) throw new Error(`predict: --slices must be 'auto' or slice numbers like 10,20,30 (from 0), got '${text}'`);
  return [...new Set(text.split(',').map(Number))].sort((a, b) => a - b);
}

/** Checks the output flags against the kind of input and returns where each case's files go. */
async function planOutputs(
  values: { output: string; probabilities?: string; overlay?: string; slices?: string },
  cases: InputCase[], single: boolean,
): Promise<Outputs> {
  const { output, probabilities, overlay } = values;
  if (values.slices !== undefined && overlay === undefined) throw new Error('predict: --slices chooses the slices of --overlay; give --overlay DIR too');
  const inputs = new Set(cases.flatMap((c) => c.image.map((p) => resolve(p))));
  const inFolder = (folder: string) => (id: string) => join(folder, `${id}.nii.gz`);
  const plan: Outputs = {
    labels: single ? () => output : inFolder(output),
    probabilities: probabilities === undefined ? null : single ? () => probabilities : inFolder(probabilities),
    overlays: overlay ?? null,
    slices: parseSlices(values.slices ?? 'auto'),
  };
  for (const [flag, path] of [['output', output], ['probabilities', probabilities]] as const) {
    if (path === undefined) continue;
    if (!single) {
      if (NIFTI_OUTPUT.test(path)) throw new Error(`predict: --${flag} ${path}: the input is a folder or a dataset.json, so this names a folder of <case>.nii.gz files; give a name without .nii / .nii.gz`);
      await checkOutputFolder(path, flag);
      continue;
    }
    if (!NIFTI_OUTPUT.test(path)) throw new Error(`predict: --${flag} ${path}: the name must end in .nii or .nii.gz (the input is one case)`);
    await checkOutputFile(path, flag, 'predict');
  }
  if (overlay !== undefined) await checkOutputFolder(overlay, 'overlay');
  if (probabilities !== undefined && resolve(probabilities) === resolve(output)) {
    throw new Error(`predict: --output and --probabilities are both ${output}; give them different ${single ? 'files' : 'folders'}`);
  }
  for (const c of cases) {
    for (const path of [plan.labels(c.id), plan.probabilities?.(c.id)]) {
      if (path !== undefined && inputs.has(resolve(path))) throw new Error(`predict: writing ${path} would overwrite an input file`);
    }
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------

/** Reads a case, keeping the affine of its first file (for the overlays' orientation). */
async function loadInputCase(c: InputCase): Promise<{ volume: LoadedCase; affine: Affine }> {
  let affine: Affine | null = null;
  const volume = await loadCase(c, async (path) => {
    const v = await readNiftiFile(path);
    affine ??= v.affine;
    return v;
  });
  return { volume, affine: affine! };
}

/** Writes the overlays of one case; returns their paths. */
async function writeOverlays(folder: string, volume: LoadedCase, labels: Float32Array, affine: Affine, classNames: readonly string[], slices: 'auto' | number[]): Promise<string[]> {
  const [X, Y] = volume.dims;
  const plane = X * Y;
  const view = radiologicalView(affine);
  const paths: string[] = [];
  for (const k of slices === 'auto' ? mostForegroundSlices(labels, volume.dims) : slices) {
    const slice = {
      image: volume.image.subarray(k * plane, (k + 1) * plane), // channel 0: the first modality
      labels: labels.subarray(k * plane, (k + 1) * plane),
      size: [X, Y] as const,
    };
    const scale = overlayScale(X, Y);
    const png = await overlayPng(slice, classNames.length, view, scale);
    const path = join(folder, `${volume.id}_slice${k}.png`);
    await writeFileAtomically(path, (file) => file.writeFile(png));
    // The same picture with a title and a legend naming the classes.
    const [width, height] = (view.transpose ? [Y, X] : [X, Y]).map((n) => n * scale);
    const figure = overlayFigureSvg(png, { width, height }, classNames, `${volume.id}, axial slice ${k} (of ${volume.dims[2]})`);
    await writeFileAtomically(path.replace(/\.png$/, '.svg'), (file) => file.writeFile(figure));
    paths.push(path);
  }
  return paths;
}

export const PREDICT_COMMAND = defineCommand({
  name: 'predict',
  summary: 'segment NIfTI volumes with a trained model',
  description: "Segment NIfTI volumes with a trained model (best/last.safetensors of train): label maps in each input's exact geometry, optionally class probabilities and PNG overlays.",
  synopsis: '--model M --input X --output Y [options]',
  flags: [
    { name: 'model', value: 'FILE', help: 'the model file' },
    { name: 'input', value: 'X', help: "a .nii / .nii.gz / .hdr file; a,b (one file per modality, in the model's order); a folder of files, one patient folder (a file per modality) or a folder of patient folders; or a dataset.json (its test list)" },
    { name: 'modalities', value: 'PATTERNS', shownDefault: "the model's modality names", help: 'comma-separated file-name parts that pick each modality in a patient folder (e.g. flair,t1c)' },
    { name: 'output', value: 'Y', help: 'a .nii / .nii.gz file for one case, else a folder of <case>.nii.gz (created if needed)' },
    { name: 'probabilities', value: 'P', shownDefault: 'none', help: 'also write the class probabilities: float32, 4-D [X, Y, Z, classes]; a file or a folder as --output' },
    { name: 'batch-size', value: 'N', default: '8', help: 'windows per forward pass' },
    { name: 'overlay', value: 'DIR', shownDefault: 'none', help: 'a folder for overlays <case>_slice<k>.png and .svg (the same picture with a title and a legend naming the classes)' },
    { name: 'slices', value: 'LIST', shownDefault: 'auto', help: 'the overlay slices: auto (the 3 with the most predicted foreground) or k1,k2,... (0-based, along the third NIfTI axis)' },
  ],
});

export async function predict(argv: string[]): Promise<string> {
  const { values } = parseFlags(PREDICT_COMMAND, argv);
  const modelPath = required(values.model, 'model', 'predict');
  const input = required(values.input, 'input', 'predict');
  const output = required(values.output, 'output', 'predict');
  const batchSize = positiveInteger(values['batch-size'], 'batch-size', 'predict');
  const { cases, single } = await resolveInput(input, output, () => modalityPatterns(values.modalities, modelPath));
  checkUniqueIds(cases);
  const plan = await planOutputs({ ...values, output }, cases, single);

  const gpu = await Gpu.create();
  try {
    const loaded = await loadSegmenterFile(gpu, modelPath, 'predict');
    const { model, header } = loaded;
    try {
      const K = model.classes;
      await checkInputs(cases, header.encoder.inChannels, header.modalities, plan.slices === 'auto' ? null : plan.slices);
      for (const folder of single ? [plan.overlays] : [output, values.probabilities, plan.overlays]) {
        if (folder) await mkdir(folder, { recursive: true });
      }
      const datatype = labelDatatype(K);
      const written: string[] = [];
      let slices = 0;
      let warned = 0;
      const started = performance.now();
      for (const [i, c] of cases.entries()) {
        try {
          const { volume, affine } = await loadInputCase(c);
          const progress = new ProgressLine(`predict ${c.id} (${i + 1}/${cases.length})`);
          const { labels, probabilities, warnings: caseWarnings } = await predictCase(loaded, volume, {
            batchSize,
            probabilities: plan.probabilities !== null,
            onProgress: (done, total) => progress.update(done, total, 'slices'),
          });
          for (const line of caseWarnings) process.stderr.write(`warning: ${line}\n`);
          warned += caseWarnings.length ? 1 : 0;
          await writeNiftiFile(plan.labels(c.id), labels, volume.geometry, { datatype: labels.datatype });
          written.push(plan.labels(c.id));
          if (plan.probabilities) {
            const path = plan.probabilities(c.id);
            await writeNiftiFile(path, probabilities!, volume.geometry, { datatype: probabilities!.datatype });
            written.push(path);
          }
          if (plan.overlays) written.push(...await writeOverlays(plan.overlays, volume, labels.data, affine, header.labels, plan.slices));
          slices += volume.dims[2];
        } catch (e) {
          const kept = written.length > 0 ? `the ${written.length} file(s) written before it are complete and kept:\n${written.map((p) => `  ${p}`).join('\n')}` : 'nothing was written';
          throw new Error(`predict: case ${c.id} (${c.image.join(', ')}) failed: ${(e as Error).message}\n${kept}`);
        }
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const parts = [`labels (${datatype}) in ${output}`];
      if (values.probabilities) parts.push(`probabilities in ${values.probabilities}`);
      if (plan.overlays) parts.push(`${written.filter((p) => p.endsWith('.png')).length} overlays in ${plan.overlays}`);
      const warning = warned ? `; ${warned} case${warned === 1 ? '' : 's'} with intensities unlike the training scans' (warnings above)` : '';
      return `predicted ${cases.length} case${cases.length === 1 ? '' : 's'} (${slices} slices) in ${seconds} s: ${parts.join(', ')}${warning}`;
    } finally {
      model.dispose();
    }
  } finally {
    gpu.destroy();
  }
}
