// Our checkpoint files: one safetensors file whose __metadata__ carries the model description as
// JSON, so the weights and everything needed to rebuild the model travel together. Encoder
// tensors keep timm's names (patch_embed.proj.weight is [E, C, D, P, P], PyTorch's Conv3d
// layout); see docs/checkpoints.md.

import { validateConfig, type VitConfig } from './config.js';

export const MODEL_FILE_FORMAT = 'transseg-webgpu';
export const MODEL_FILE_VERSION = '1';

export interface ModelFileHeader {
  /** 'encoder': an inflated, pre-trained 3-D ViT (the output of `transseg inflate`). */
  kind: 'encoder';
  encoder: VitConfig;
  /** Where the weights came from and how they were transformed (free-form, for people). */
  provenance: Record<string, unknown>;
}

export function modelFileMetadata(header: ModelFileHeader): Record<string, string> {
  return {
    format: MODEL_FILE_FORMAT,
    version: MODEL_FILE_VERSION,
    kind: header.kind,
    encoder: JSON.stringify(header.encoder),
    provenance: JSON.stringify(header.provenance),
  };
}

/** The header of one of our files, or null for a foreign safetensors file (no `format` key). */
export function readModelFileHeader(metadata: Record<string, string>, fileName: string): ModelFileHeader | null {
  if (metadata.format !== MODEL_FILE_FORMAT) return null;
  if (metadata.version !== MODEL_FILE_VERSION) {
    throw new Error(`${fileName}: model file version '${metadata.version}' is not supported (expected '${MODEL_FILE_VERSION}')`);
  }
  if (metadata.kind !== 'encoder') throw new Error(`${fileName}: unknown model file kind '${metadata.kind}'`);
  const parse = (key: string): unknown => {
    try {
      return JSON.parse(metadata[key] ?? '');
    } catch {
      throw new Error(`${fileName}: __metadata__.${key} is not valid JSON`);
    }
  };
  return {
    kind: 'encoder',
    encoder: validateConfig(parse('encoder') as VitConfig, `${fileName}: __metadata__.encoder`),
    provenance: parse('provenance') as Record<string, unknown>,
  };
}
