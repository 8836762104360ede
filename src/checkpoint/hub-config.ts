// `hf:ORG/REPO[@revision][:file]` weights references, and what a hub repository's config.json
// tells about the model: timm's (`architecture`, `model_args`, `pretrained_cfg`) and Hugging Face
// transformers' (`model_type`, `hidden_size`, ...; the input normalisation is in
// preprocessor_config.json). Both become settings for the checkpoint adapter, between the preset
// and the user's model JSON (see readSettings).

import { PRESETS, type HeadConfig, type VitConfig } from '../model/config.js';

export interface HubReference {
  repo: string;
  revision: string;
  file: string;
}

export const HUB_PREFIX = 'hf:';
export const DEFAULT_HUB_FILE = 'model.safetensors';

export function isHubReference(weights: string): boolean {
  return weights.startsWith(HUB_PREFIX);
}

/** `hf:timm/vit_base_patch16_224.augreg2_in21k_ft_in1k@main:model.safetensors` → its parts. */
export function parseHubReference(weights: string): HubReference {
  const body = weights.slice(HUB_PREFIX.length);
  const colon = body.indexOf(':');
  const [repoPart, file] = colon < 0 ? [body, DEFAULT_HUB_FILE] : [body.slice(0, colon), body.slice(colon + 1)];
  const at = repoPart.indexOf('@');
  const [repo, revision] = at < 0 ? [repoPart, 'main'] : [repoPart.slice(0, at), repoPart.slice(at + 1)];
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo) || revision === '' || file === '' || file.split('/').includes('..')) {
    throw new Error(`--weights ${weights}: expected hf:ORG/REPO[@revision][:file], e.g. hf:timm/vit_base_patch16_224.augreg2_in21k_ft_in1k`);
  }
  if (!file.endsWith('.safetensors')) {
    throw new Error(`--weights ${weights}: only .safetensors files can be read; name one after the ':' (default ${DEFAULT_HUB_FILE})`);
  }
  return { repo, revision, file };
}

/** Settings a hub repository states about its model. */
export interface HubSettings {
  /** A preset named by timm's `architecture`, when there is one of that name. */
  preset?: string;
  config: Partial<VitConfig>;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const int = (v: unknown): number | undefined => (Number.isInteger(v) && (v as number) > 0 ? (v as number) : undefined);
const numbers = (v: unknown): number[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'number') ? v : undefined);
const size = (v: unknown): [number, number] | undefined => {
  if (int(v) !== undefined) return [v as number, v as number];
  const pair = numbers(v);
  return pair?.length === 2 ? [pair[0], pair[1]] : undefined;
};

/** Only the fields that were stated. */
function stated(config: Partial<VitConfig>): Partial<VitConfig> {
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as Partial<VitConfig>;
}

function timmSettings(json: Json): HubSettings {
  const args = isObject(json.model_args) ? json.model_args : {};
  const pretrained = isObject(json.pretrained_cfg) ? json.pretrained_cfg : {};
  const architecture = typeof json.architecture === 'string' ? json.architecture : undefined;
  const input = numbers(pretrained.input_size);
  const embedDim = int(args.embed_dim);
  const mean = numbers(pretrained.mean);
  const std = numbers(pretrained.std);
  const classes = json.num_classes ?? pretrained.num_classes;
  const head: HeadConfig | undefined = classes === 0
    ? { kind: 'none' }
    : int(classes) !== undefined ? { kind: 'linear', classes: classes as number, pool: json.global_pool === 'avg' ? 'mean' : 'token' } : undefined;
  return {
    preset: architecture !== undefined && Object.hasOwn(PRESETS, architecture) ? architecture : undefined,
    config: stated({
      embedDim,
      depth: int(args.depth),
      heads: int(args.num_heads),
      mlpHidden: embedDim !== undefined && typeof args.mlp_ratio === 'number' ? Math.round(embedDim * args.mlp_ratio) : undefined,
      patchSize: int(args.patch_size),
      imageSize: input?.length === 3 ? [input[1], input[2]] : size(args.img_size),
      inChannels: input?.length === 3 ? input[0] : int(args.in_chans),
      head,
      normalization: mean && std ? { mean, std } : undefined,
    }),
  };
}

function transformersSettings(json: Json, preprocessor: Json | null): HubSettings {
  const mean = numbers(preprocessor?.image_mean);
  const std = numbers(preprocessor?.image_std);
  return {
    config: stated({
      embedDim: int(json.hidden_size),
      depth: int(json.num_hidden_layers),
      heads: int(json.num_attention_heads),
      mlpHidden: int(json.intermediate_size),
      patchSize: int(json.patch_size),
      imageSize: size(json.image_size),
      inChannels: int(json.num_channels),
      eps: typeof json.layer_norm_eps === 'number' ? json.layer_norm_eps : undefined,
      normalization: mean && std ? { mean, std } : undefined,
    }),
  };
}

/**
 * The settings of a repository's config.json (`source` names it in errors). A transformers config
 * (it has `model_type`) reads its normalisation from `preprocessor` (preprocessor_config.json).
 */
export function hubSettings(config: unknown, preprocessor: unknown, source: string): HubSettings {
  if (!isObject(config)) throw new Error(`${source}: not a JSON object`);
  if (typeof config.model_type === 'string') return transformersSettings(config, isObject(preprocessor) ? preprocessor : null);
  return timmSettings(config);
}
