// Our checkpoint files: one safetensors file whose __metadata__ carries the model description as
// JSON, so the weights and everything needed to rebuild and feed the model travel together.
// Encoder tensors keep timm's names (patch_embed.proj.weight is [E, C, D, P, P], PyTorch's Conv3d
// layout); a segmenter's are prefixed `encoder.` and its decoder's `decoder.`, as TransSeg names
// them. See docs/checkpoints.md.

import type { LabelRemap } from '../data/dataset.js';
import type { IntensitySpec } from '../data/intensity.js';
import type { IntensityReference } from '../data/intensity-reference.js';
import { validateConfig, type VitConfig } from './config.js';
import { checkAgainstTensors, checkSchema, ENCODER_FILE, isOptional, object, SEGMENTER_FILE, type TensorShapes } from './model-file-schema.js';
import type { SegmenterOptions } from './segmenter.js';

export const MODEL_FILE_FORMAT = 'transseg-webgpu';
export const MODEL_FILE_VERSION = '1';

/** How volumes are turned into model input; the pipeline that trained a model writes it. */
export interface Preprocessing {
  /** Intensity transform per channel (src/data/intensity.ts). */
  intensity: IntensitySpec;
  /** Margin (voxels) of the foreground crop the model was trained with (src/data/foreground.ts); absent for none. */
  cropForeground?: number;
  /** Label values merged before training (`--remap`, e.g. BRATS 1,2,3 → whole tumour 1); absent for none. */
  remap?: LabelRemap;
  /** The training scans' intensities as the model saw them, to flag a scan on another scale; absent in files before session 8. */
  intensityReference?: IntensityReference;
}

/** Neighbourhood of a voxel in 3-D: faces (6), faces and edges (18), or all (26). */
export type Connectivity = 6 | 18 | 26;

/** Post-processing of a predicted label volume, as MONAI users know it (src/infer/postprocess.ts). */
export interface PostProcessing {
  /** Keep the largest connected component of each foreground class, or of the whole foreground. */
  largestComponent?: 'classes' | 'foreground';
  /** Foreground components with fewer voxels than this become background. */
  minIslandVoxels?: number;
  /** Only inside the scan: where some channel of the input, as read, differs from its background (data/background.ts). */
  maskForeground?: boolean;
  /** Neighbourhood of a voxel for the two rules above; 26 when absent. */
  connectivity?: Connectivity;
}

/** How predictions are made and cleaned beyond the model itself (`train --tta-flips`, `--keep-largest`, …). */
export interface Inference {
  /** Average over in-plane flips (src/infer/predict.ts). */
  flips?: boolean;
  /** Connected components, islands, mask (src/infer/postprocess.ts). */
  postprocess?: PostProcessing;
}

export interface EncoderFileHeader {
  /** An inflated, pre-trained 3-D ViT (the output of `transseg inflate`). */
  kind: 'encoder';
  encoder: VitConfig;
  /** Where the weights came from and how they were transformed (free-form, for people). */
  provenance: Record<string, unknown>;
}

export interface SegmenterFileHeader {
  /** A trained segmentation model (encoder + decoder), as `transseg train` writes it. */
  kind: 'segmenter';
  encoder: VitConfig;
  segmenter: SegmenterOptions;
  /** Class names by label value, background first. */
  labels: string[];
  /** Modality names, one per input channel. */
  modalities: string[];
  preprocessing: Preprocessing;
  /** Test-time flips and post-processing that predict, evaluate and the web page apply; none when absent. */
  inference?: Inference;
  /** Ids of the dataset cases the training run validated on (its split), for `evaluate`. */
  validationCases?: string[];
  provenance: Record<string, unknown>;
}

export type ModelFileHeader = EncoderFileHeader | SegmenterFileHeader;

export function modelFileMetadata(header: ModelFileHeader): Record<string, string> {
  const { kind, ...fields } = header;
  const metadata: Record<string, string> = { format: MODEL_FILE_FORMAT, version: MODEL_FILE_VERSION, kind };
  for (const [key, value] of Object.entries(fields)) metadata[key] = JSON.stringify(value);
  return metadata;
}

/**
 * The header of one of our files, or null for a foreign safetensors file (no `format` key). Every
 * field is checked against the schema (model-file-schema.ts) and, when `tensors` are given,
 * against their shapes, before anything is built from it. Errors name the file and the field.
 */
export function readModelFileHeader(metadata: Record<string, string>, fileName: string, tensors?: TensorShapes): ModelFileHeader | null {
  if (metadata.format !== MODEL_FILE_FORMAT) return null;
  if (metadata.version !== MODEL_FILE_VERSION) {
    throw new Error(`${fileName}: model file version '${metadata.version}' is not supported (expected '${MODEL_FILE_VERSION}')`);
  }
  const kind = metadata.kind;
  if (kind !== 'encoder' && kind !== 'segmenter') {
    throw new Error(`${fileName}: unknown model file kind '${kind}' (expected 'encoder' or 'segmenter')`);
  }
  const schema = kind === 'encoder' ? ENCODER_FILE : SEGMENTER_FILE;
  const fields: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    if (metadata[key] === undefined) {
      if (isOptional(spec)) continue;
      throw new Error(`${fileName}: __metadata__ has no '${key}'`);
    }
    try {
      fields[key] = JSON.parse(metadata[key]);
    } catch {
      throw new Error(`${fileName}: __metadata__.${key} is not valid JSON`);
    }
  }
  checkSchema(fields, object(schema), '__metadata__', fileName);
  renameMaskNonzero(fields);
  const header = { kind, ...fields } as ModelFileHeader;
  validateConfig(header.encoder, `${fileName}: __metadata__.encoder`);
  if (header.kind === 'segmenter' && header.labels.length !== header.segmenter.classes) {
    throw new Error(`${fileName}: __metadata__.labels must name all ${header.segmenter.classes} classes, it names ${header.labels.length}`);
  }
  if (header.kind === 'segmenter') checkIntensityReference(header.preprocessing.intensityReference, header.encoder.inChannels, fileName);
  if (tensors) checkAgainstTensors(header.encoder, header.kind === 'segmenter' ? header.segmenter : null, tensors, fileName);
  return header;
}

/** One value per input channel in each list, and p1 ≤ median ≤ p99. */
function checkIntensityReference(reference: IntensityReference | undefined, channels: number, fileName: string): void {
  if (!reference) return;
  const field = `${fileName}: __metadata__.preprocessing.intensityReference`;
  for (const key of ['p1', 'median', 'p99'] as const) {
    if (reference[key].length !== channels) throw new Error(`${field}.${key} must hold one value per input channel (${channels}), it holds ${reference[key].length}`);
  }
  for (let c = 0; c < channels; c++) {
    if (!(reference.p1[c] <= reference.median[c] && reference.median[c] <= reference.p99[c])) {
      throw new Error(`${field}: channel ${c} must have p1 ≤ median ≤ p99, got ${reference.p1[c]}, ${reference.median[c]}, ${reference.p99[c]}`);
    }
  }
}

/**
 * Files written before session 6 record the brain mask as `maskNonzero`; where the scan's corners
 * are 0 (the only files where it acted) that is the same mask as `maskForeground`, so it is read
 * as that rather than dropped as an unknown key.
 */
function renameMaskNonzero(fields: Record<string, unknown>): void {
  const postprocess = (fields.inference as { postprocess?: Record<string, unknown> } | undefined)?.postprocess;
  if (postprocess?.maskNonzero === undefined) return;
  postprocess.maskForeground ??= postprocess.maskNonzero;
  delete postprocess.maskNonzero;
}
