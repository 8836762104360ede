// The one canonical description of a ViT that every checkpoint format is mapped onto, and the
// presets for what the weights cannot tell (heads, epsilon, attention scale, image size,
// normalisation). Parameter names follow timm's VisionTransformer; see docs/checkpoints.md.

export type HeadConfig =
  | { kind: 'none' }
  /** timm: Linear on the CLS token (pool 'token') or on the mean of the patch tokens (BEiT, pool 'mean'). */
  | { kind: 'linear'; classes: number; pool: 'token' | 'mean' }
  /** vit-pytorch: Linear → GELU → Linear on the CLS token, named head.fc1 / head.fc2. */
  | { kind: 'mlp'; hidden: number; classes: number };

export interface VitConfig {
  /** Embedding width E. */
  embedDim: number;
  /** Number of transformer blocks. */
  depth: number;
  heads: number;
  /** Width of the MLP's hidden layer (4E in timm). */
  mlpHidden: number;
  patchSize: number;
  /** The input grid [H, W] the weights were trained at: it fixes the position-embedding grid. */
  imageSize: [number, number];
  inChannels: number;
  /** Slices D the patch embedding spans (Conv3d kernel depth); 1 for a 2-D model. */
  depthSlices: number;
  /** LayerNorm epsilon (timm 1e-6, vit-pytorch 1e-5, Hugging Face 1e-12). */
  eps: number;
  /** A bias on the qkv projection (BEiT's q_bias/v_bias are stored as one with a zero k part). */
  qkvBias: boolean;
  /** Per-block learned scales on the two residual branches (BEiT gamma_1/2, timm ls1/ls2). */
  layerScale: boolean;
  /** Absolute position embedding added to the tokens (not in BEiT). */
  positionEmbedding: boolean;
  /** A learned relative-position bias table in every block (BEiT). */
  relativePositionBias: boolean;
  /** Tokens before the patches: 1 (CLS) or 2 (CLS and DeiT's distillation token). */
  prefixTokens: 1 | 2;
  /** Multiplies q·kᵀ; head_dim^-0.5 when absent. vit-pytorch's early releases used dim^-0.5. */
  attentionScale?: number;
  /** LayerNorm after the last block: 'norm' (timm), 'fc_norm' (after mean pooling, BEiT), or none. */
  finalNorm: 'norm' | 'fc_norm' | 'none';
  head: HeadConfig;
  /** Per-channel input normalisation the weights expect: (x − mean) / std on [0, 1] images. */
  normalization: { mean: number[]; std: number[] };
}

const IMAGENET_HALF = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
const IMAGENET_DEFAULT = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

function timmVit(embedDim: number, heads: number, normalization = IMAGENET_HALF): VitConfig {
  return {
    embedDim, depth: 12, heads, mlpHidden: 4 * embedDim, patchSize: 16, imageSize: [224, 224], inChannels: 3,
    depthSlices: 1, eps: 1e-6, qkvBias: true, layerScale: false, positionEmbedding: true,
    relativePositionBias: false, prefixTokens: 1, finalNorm: 'norm',
    head: { kind: 'linear', classes: 1000, pool: 'token' }, normalization,
  };
}

/** Named configurations for checkpoints whose hyper-parameters are not in the file. */
export const PRESETS: Record<string, VitConfig> = {
  vit_tiny_patch16_224: timmVit(192, 3),
  vit_small_patch16_224: timmVit(384, 6),
  vit_base_patch16_224: timmVit(768, 12),
  deit_tiny_patch16_224: timmVit(192, 3, IMAGENET_DEFAULT),
  deit_small_patch16_224: timmVit(384, 6, IMAGENET_DEFAULT),
  deit_base_patch16_224: timmVit(768, 12, IMAGENET_DEFAULT),
  deit_tiny_distilled_patch16_224: { ...timmVit(192, 3, IMAGENET_DEFAULT), prefixTokens: 2 },
  deit_small_distilled_patch16_224: { ...timmVit(384, 6, IMAGENET_DEFAULT), prefixTokens: 2 },
  deit_base_distilled_patch16_224: { ...timmVit(768, 12, IMAGENET_DEFAULT), prefixTokens: 2 },
  dino_vits16: { ...timmVit(384, 6, IMAGENET_DEFAULT), head: { kind: 'none' } },
  dino_vitb16: { ...timmVit(768, 12, IMAGENET_DEFAULT), head: { kind: 'none' } },
  beit_base_patch16_224: {
    ...timmVit(768, 12), eps: 1e-6, layerScale: true, positionEmbedding: false, relativePositionBias: true,
    finalNorm: 'fc_norm', head: { kind: 'linear', classes: 1000, pool: 'mean' },
  },
  // TransSeg's default source weights (self-supervised on ImageNet-22k, then fine-tuned on it).
  beit_base_patch16_224_pt22k_ft22k: {
    ...timmVit(768, 12), eps: 1e-6, layerScale: true, positionEmbedding: false, relativePositionBias: true,
    finalNorm: 'fc_norm', head: { kind: 'linear', classes: 21841, pool: 'mean' },
  },
  // The real checkpoint in ../shared/data/weights/vit4mnist (lucidrains vit-pytorch, early 2021).
  vit4mnist: {
    embedDim: 64, depth: 6, heads: 8, mlpHidden: 128, patchSize: 7, imageSize: [28, 28], inChannels: 1,
    depthSlices: 1, eps: 1e-5, qkvBias: false, layerScale: false, positionEmbedding: true,
    relativePositionBias: false, prefixTokens: 1, attentionScale: 64 ** -0.5, finalNorm: 'none',
    head: { kind: 'mlp', hidden: 128, classes: 10 }, normalization: { mean: [0.1307], std: [0.3081] },
  },
};

/** Patch-token grid [h, w] for an input of `size` pixels. */
export function tokenGrid(config: VitConfig, size: readonly [number, number]): [number, number] {
  const [H, W] = size;
  const P = config.patchSize;
  if (H % P !== 0 || W % P !== 0) {
    throw new Error(`image size ${H}×${W} is not divisible by the patch size ${P}`);
  }
  return [H / P, W / P];
}

/** Checks the fields a hand-written model JSON must get right; returns the config. */
export function validateConfig(config: VitConfig, source: string): VitConfig {
  const positive = ['embedDim', 'depth', 'heads', 'mlpHidden', 'patchSize', 'inChannels', 'depthSlices'] as const;
  for (const key of positive) {
    const v = config[key];
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${source}: '${key}' must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (config.embedDim % config.heads !== 0) throw new Error(`${source}: embedDim ${config.embedDim} is not divisible by heads ${config.heads}`);
  if (!(config.eps > 0)) throw new Error(`${source}: 'eps' must be positive, got ${JSON.stringify(config.eps)}`);
  if (config.prefixTokens !== 1 && config.prefixTokens !== 2) throw new Error(`${source}: 'prefixTokens' must be 1 or 2`);
  try {
    tokenGrid(config, config.imageSize);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  return config;
}
