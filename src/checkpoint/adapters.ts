// Foreign 2-D ViT checkpoints → one canonical description, in the spirit of timm's
// checkpoint_filter_fn: every supported layout is renamed onto timm VisionTransformer names, the
// config is read off the tensors (and a preset or model JSON for what they cannot tell), and the
// result is checked to be exactly the tensor set that config needs.

import type { VitConfig } from '../model/config.js';
import type { SafetensorsFile } from '../io/safetensors.js';
import { adaptTimmBeit } from './beit.js';
import { checkComplete } from './canonical.js';
import { CHECKPOINT_FORMATS, detectFormat, isCheckpointFormat, namePatterns, type CheckpointFormat } from './detect.js';
import { adaptHuggingFace } from './huggingface.js';
import { readSettings, resolveConfig } from './infer.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { Renamer, type MappingEntry } from './mapping.js';
import { adaptVitPytorch } from './vit-pytorch.js';

export interface AdaptOptions {
  /** Names the file in error messages. */
  fileName: string;
  /** The layout; detected from the tensor names when absent. */
  format?: CheckpointFormat;
  /** A name from PRESETS for what the weights cannot tell (heads, eps, normalisation, ...). */
  preset?: string;
  /** What the checkpoint's repository states (a hub config.json); wins over the preset. */
  repository?: { config: Partial<VitConfig>; source: string };
  /** A partial config (a model JSON); its fields win over the preset's and the repository's. */
  config?: Partial<VitConfig>;
}

export interface AdaptedCheckpoint {
  format: CheckpointFormat;
  config: VitConfig;
  /** Exactly the canonical tensors of `config` (see canonicalShapes), in model order; renamed ones share their data with the file's. */
  tensors: Map<string, HostTensor>;
  /** Where every tensor of the file went, dropped ones included. */
  mapping: MappingEntry[];
}

/** Renames a layout's tensors onto canonical names; `known` holds the stated settings. */
type Adapter = (r: Renamer, known: Partial<VitConfig>, where: string) => void;

const ADAPTERS: Record<CheckpointFormat, Adapter> = {
  // timm's names are the canonical ones (ViT, DeiT, DINO alike).
  'timm-vit': (r) => r.keepRest(),
  'timm-beit': (r) => adaptTimmBeit(r),
  'hf-vit': (r) => adaptHuggingFace(r, 'vit'),
  'hf-beit': (r) => adaptHuggingFace(r, 'beit'),
  'vit-pytorch': adaptVitPytorch,
};

export function adaptCheckpoint(file: SafetensorsFile, options: AdaptOptions): AdaptedCheckpoint {
  const names = [...file.tensors.keys()];
  const format = options.format ?? detectFormat(names, options.fileName);
  if (!isCheckpointFormat(format)) {
    throw new Error(`${options.fileName}: unknown checkpoint format '${format}'; known formats: ${CHECKPOINT_FORMATS.join(', ')}`);
  }
  const where = `${options.fileName} (${format})`;
  const settings = readSettings(options, where);
  const renamer = new Renamer(file.tensors, where);
  ADAPTERS[format](renamer, settings.values, where);
  const { tensors, mapping, leftovers } = renamer.finish();
  let config: VitConfig;
  try {
    config = resolveConfig(tensors, format, settings, where);
  } catch (error) {
    if (leftovers.length === 0) throw error;
    // Unclaimed tensors usually mean the wrong layout: say so next to what could not be told.
    throw new Error(`${(error as Error).message}\n  not part of the ${format} layout: ${namePatterns(leftovers.map(([n]) => n))}`);
  }
  return { format, config, tensors: checkComplete(tensors, leftovers, config, where), mapping };
}
