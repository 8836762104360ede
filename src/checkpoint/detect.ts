// Which library wrote a 2-D ViT checkpoint, told from its tensor names alone.

export const CHECKPOINT_FORMATS = ['timm-vit', 'timm-beit', 'hf-vit', 'hf-beit', 'vit-pytorch'] as const;

/**
 * - timm-vit: timm VisionTransformer, also DeiT (distilled: dist_token, head_dist) and DINO.
 * - timm-beit: timm Beit and Microsoft's unilm BEiT (same names).
 * - hf-vit / hf-beit: Hugging Face transformers ViT* / Beit* models (prefix `vit.` / `beit.`).
 * - vit-pytorch: lucidrains vit-pytorch, the early-2021 layout (patch_to_embedding, transformer.layers).
 */
export type CheckpointFormat = (typeof CHECKPOINT_FORMATS)[number];

export function isCheckpointFormat(s: string): s is CheckpointFormat {
  return (CHECKPOINT_FORMATS as readonly string[]).includes(s);
}

const has = (names: string[], pattern: RegExp): boolean => names.some((n) => pattern.test(n));

/** The distinct name patterns, digits collapsed (`blocks.N.attn.qkv.weight`), for error messages. */
export function namePatterns(names: string[], limit = 40): string {
  const patterns = [...new Set(names.map((n) => n.replace(/\.\d+(?=\.|$)/g, '.N')))];
  const shown = patterns.slice(0, limit).join(', ');
  return patterns.length > limit ? `${shown}, … (${patterns.length - limit} more patterns)` : shown;
}

/**
 * The format whose names `names` carries. BEiT is told from ViT by what only BEiT has: q/v
 * biases, relative position tables, layer scales named gamma/lambda, or a pooler LayerNorm.
 */
export function detectFormat(names: string[], fileName: string): CheckpointFormat {
  if (has(names, /^patch_to_embedding\.|^transformer\.layers\.\d+\./)) return 'vit-pytorch';
  if (has(names, /^(vit\.|beit\.)?(embeddings\.patch_embeddings\.|encoder\.layer\.\d+\.)/)) {
    const beit = has(names, /^beit\./) || has(names, /relative_position_bias\.|\.lambda_1$|^(beit\.)?pooler\.layernorm\./);
    return beit ? 'hf-beit' : 'hf-vit';
  }
  if (has(names, /^(patch_embed\.proj\.|blocks\.\d+\.)/)) {
    const beit = has(names, /^blocks\.\d+\.(attn\.(q_bias|relative_position_bias_table)|gamma_1)$|^rel_pos_bias\./);
    return beit ? 'timm-beit' : 'timm-vit';
  }
  throw new Error(`${fileName}: not a checkpoint layout I know (${CHECKPOINT_FORMATS.join(', ')}). ` +
    `It has ${names.length} tensors: ${names.length === 0 ? 'none' : namePatterns(names)}. ` +
    'Pass the format explicitly if the names are close to one of these.');
}
