// Our checkpoint files: one safetensors file whose __metadata__ carries the model description as
// JSON, so the weights and everything needed to rebuild and feed the model travel together.
// Encoder tensors keep timm's names (patch_embed.proj.weight is [E, C, D, P, P], PyTorch's Conv3d
// layout); a segmenter's are prefixed `encoder.` and its decoder's `decoder.`, as TransSeg names
// them. See docs/checkpoints.md.

import type { LabelRemap } from '../data/dataset.js';
import type { IntensitySpec } from '../data/intensity.js';
import { validatePostProcessing, type PostProcessing } from '../infer/postprocess.js';
import { validateConfig, type VitConfig } from './config.js';
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

/** The header of one of our files, or null for a foreign safetensors file (no `format` key). */
export function readModelFileHeader(metadata: Record<string, string>, fileName: string): ModelFileHeader | null {
  if (metadata.format !== MODEL_FILE_FORMAT) return null;
  if (metadata.version !== MODEL_FILE_VERSION) {
    throw new Error(`${fileName}: model file version '${metadata.version}' is not supported (expected '${MODEL_FILE_VERSION}')`);
  }
  const parse = <T>(key: string): T => {
    if (metadata[key] === undefined) throw new Error(`${fileName}: __metadata__ has no '${key}'`);
    try {
      return JSON.parse(metadata[key]) as T;
    } catch {
      throw new Error(`${fileName}: __metadata__.${key} is not valid JSON`);
    }
  };
  const encoder = validateConfig(parse<VitConfig>('encoder'), `${fileName}: __metadata__.encoder`);
  const provenance = parse<Record<string, unknown>>('provenance');
  if (metadata.kind === 'encoder') return { kind: 'encoder', encoder, provenance };
  if (metadata.kind === 'segmenter') {
    const segmenter = parse<SegmenterOptions>('segmenter');
    const labels = parse<string[]>('labels');
    if (!Array.isArray(labels) || labels.length !== segmenter.classes) {
      throw new Error(`${fileName}: __metadata__.labels must name all ${segmenter.classes} classes`);
    }
    return { kind: 'segmenter', encoder, segmenter, labels, modalities: parse('modalities'), preprocessing: parse('preprocessing'),
      ...(metadata.inference !== undefined ? { inference: validateInference(parse<Inference>('inference'), `${fileName}: __metadata__.inference`) } : {}),
      ...(metadata.validationCases !== undefined ? { validationCases: parse<string[]>('validationCases') } : {}), provenance };
  }
  throw new Error(`${fileName}: unknown model file kind '${metadata.kind}' (expected 'encoder' or 'segmenter')`);
}

function validateInference(value: Inference, where: string): Inference {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where} must be an object, got ${JSON.stringify(value)}`);
  if (value.flips !== undefined && typeof value.flips !== 'boolean') throw new Error(`${where}.flips must be true or false, got ${JSON.stringify(value.flips)}`);
  if (value.postprocess !== undefined) validatePostProcessing(value.postprocess, `${where}.postprocess`);
  return value;
}
