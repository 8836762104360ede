// Writing a synthetic phantom dataset to disk in the Medical Segmentation Decathlon layout (Node
// only): imagesTr/ and labelsTr/ for the labelled cases, imagesTs/ for the unlabelled ones, and a
// dataset.json listing them, with our `validation` extension (see dataset.ts) for held-out
// labelled cases. Images are int16 Hounsfield units, labels uint8, both gzipped NIfTI-1.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomically } from '../io/atomic-write.js';
import type { NiftiHeader } from '../io/nifti.js';
import { writeNiftiFile } from '../io/nifti-node.js';
import { generatePhantom, PHANTOM_LABELS, phantomSeed, type Phantom, type PhantomOptions } from './phantom.js';

const NIFTI_MM = 2; // xyzt_units: spatial unit millimetres, no temporal unit

/**
 * A clean NIfTI-1 header for a 3-D volume generated here: axes aligned with RAS+ (x Right,
 * y Anterior, z Superior), the given voxel sizes, the centre of the volume at the world origin.
 * The sform (code 1, scanner) and the qform (code 1, identity rotation, qfac 1) describe the
 * same affine.
 */
export function syntheticHeader(dims: readonly number[], spacing: readonly number[]): NiftiHeader {
  if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d < 1 || d > 32767)) {
    throw new Error(`syntheticHeader: dims must be three integers in 1..32767, got [${dims.join(', ')}]`);
  }
  if (spacing.length !== 3 || spacing.some((s) => !(s > 0) || !Number.isFinite(s))) {
    throw new Error(`syntheticHeader: spacing must be three positive numbers (mm), got [${spacing.join(', ')}]`);
  }
  const offset = dims.map((d, k) => (-(d - 1) * spacing[k]) / 2);
  return {
    format: 'nifti1', pair: false, littleEndian: true,
    dim: [3, ...dims, 1, 1, 1, 1],
    pixdim: [1, ...spacing, 1, 1, 1, 1],
    datatypeCode: 0, // unknown: the writer stores the datatype it is asked for
    voxOffset: 352,
    sclSlope: 1, sclInter: 0,
    dimInfo: 0, intentCode: 0, intentName: '',
    xyztUnits: NIFTI_MM,
    qformCode: 1, sformCode: 1,
    quatern: [0, 0, 0],
    qoffset: offset,
    srow: [spacing[0], 0, 0, offset[0], 0, spacing[1], 0, offset[1], 0, 0, spacing[2], offset[2]],
    description: 'transseg-webgpu phantom',
  };
}

/** A kind of phantom the writer can write: its generator, class names and a line for dataset.json. */
export interface PhantomFamily {
  generate: (seed: number) => Phantom;
  labels: readonly string[];
  description: string;
}

/** The sphere, capsule and torus phantoms of phantom.ts (the default). */
export function shapesFamily(phantom: PhantomOptions = {}): PhantomFamily {
  return {
    generate: (seed) => generatePhantom(seed, phantom),
    labels: PHANTOM_LABELS,
    description: 'Synthetic CT-like phantoms (transseg-webgpu src/synthetic/phantom.ts): a body with a spine, a sphere, a capsule and a torus',
  };
}

export interface PhantomDatasetOptions {
  /** Labelled cases listed under `training`. */
  training: number;
  /** Labelled cases listed under `validation` (held out for evaluation). */
  validation: number;
  /** Unlabelled cases listed under `test` (images only, as MSD ships them). */
  test: number;
  /** Case i is generatePhantom(phantomSeed('dataset', seed, i)). */
  seed: number;
  phantom?: PhantomOptions;
  /** What to generate; default shapesFamily(phantom). */
  family?: PhantomFamily;
}

export interface PhantomDatasetFiles {
  /** The dataset.json written. */
  path: string;
  /** Case ids (file names without .nii.gz) of each list. */
  training: string[];
  validation: string[];
  test: string[];
}

const caseId = (index: number) => `phantom_${String(index).padStart(3, '0')}`;

/** Generates case `index` and writes its image (and its label, for a labelled case). */
async function writeCase(dir: string, index: number, options: PhantomDatasetOptions, labelled: boolean): Promise<void> {
  const phantom = (options.family ?? shapesFamily(options.phantom)).generate(phantomSeed('dataset', options.seed, index));
  const header = syntheticHeader(phantom.dims, phantom.spacing);
  const file = `${caseId(index)}.nii.gz`;
  await writeNiftiFile(join(dir, labelled ? 'imagesTr' : 'imagesTs', file), { dims: phantom.dims, data: phantom.image }, header, { datatype: 'int16' });
  if (labelled) await writeNiftiFile(join(dir, 'labelsTr', file), { dims: phantom.dims, data: phantom.label }, header, { datatype: 'uint8' });
}

/**
 * Generates and writes `training + validation + test` phantom cases under `dir` (created if
 * needed; existing files of the same names are replaced), numbered in that order.
 */
export async function writePhantomDataset(dir: string, options: PhantomDatasetOptions): Promise<PhantomDatasetFiles> {
  for (const key of ['training', 'validation', 'test'] as const) {
    const n = options[key];
    if (!Number.isInteger(n) || n < 0) throw new Error(`writePhantomDataset: options.${key} must be an integer >= 0, got ${n}`);
  }
  if (options.training < 1) throw new Error('writePhantomDataset: options.training must be at least 1');
  for (const folder of ['imagesTr', 'labelsTr', 'imagesTs']) await mkdir(join(dir, folder), { recursive: true });

  const indices = (first: number, n: number) => Array.from({ length: n }, (_, i) => first + i);
  const trainingIndices = indices(0, options.training);
  const validationIndices = indices(options.training, options.validation);
  const testIndices = indices(options.training + options.validation, options.test);
  for (const index of [...trainingIndices, ...validationIndices]) await writeCase(dir, index, options, true);
  for (const index of testIndices) await writeCase(dir, index, options, false);
  const [training, validation, test] = [trainingIndices, validationIndices, testIndices].map((list) => list.map(caseId));

  const pair = (id: string) => ({ image: `./imagesTr/${id}.nii.gz`, label: `./labelsTr/${id}.nii.gz` });
  const family = options.family ?? shapesFamily(options.phantom);
  const json = {
    name: 'Phantom',
    description: family.description,
    tensorImageSize: '3D',
    modality: { 0: 'CT' },
    labels: Object.fromEntries(family.labels.map((name, value) => [value, name])),
    numTraining: training.length + validation.length,
    numTest: test.length,
    training: training.map(pair),
    // Without held-out cases the key is left out, so a trainer splits `training` itself.
    ...(validation.length > 0 && { validation: validation.map(pair) }),
    test: test.map((id) => `./imagesTs/${id}.nii.gz`),
  };
  const path = join(dir, 'dataset.json');
  await writeFileAtomically(path, (file) => file.writeFile(`${JSON.stringify(json, null, 2)}\n`));
  return { path, training, validation, test };
}
