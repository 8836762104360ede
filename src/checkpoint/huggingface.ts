// Hugging Face transformers ViT / BEiT → canonical names. The encoder is the same in both: separate
// query/key/value Linears (concatenated here into timm's qkv rows, q | k | v), LayerNorms named
// layernorm_before/after, the MLP split into intermediate.dense and output.dense. BEiT's key has
// no bias, its layer scales are lambda_1/lambda_2, and its mean-pooling LayerNorm sits in the
// pooler. Models keep the backbone under a prefix (`vit.`, `beit.`; none for a bare ViTModel or
// BeitModel) and the classifier outside it.

import { copySharedTable, qkvBiasWithZeroKey } from './beit.js';
import { blockIndices, concatRows, type Renamer } from './mapping.js';

/** Backbone names outside the layers. */
const TOP: Record<string, string> = {
  'embeddings.cls_token': 'cls_token',
  'embeddings.position_embeddings': 'pos_embed',
  'embeddings.patch_embeddings.projection.weight': 'patch_embed.proj.weight',
  'embeddings.patch_embeddings.projection.bias': 'patch_embed.proj.bias',
  'layernorm.weight': 'norm.weight',
  'layernorm.bias': 'norm.bias',
  // BeitPooler with use_mean_pooling: a LayerNorm over the mean of the patch tokens, timm's fc_norm.
  'pooler.layernorm.weight': 'fc_norm.weight',
  'pooler.layernorm.bias': 'fc_norm.bias',
};

/** Names inside `encoder.layer.i.`, except query/key/value. */
const LAYER: Record<string, string> = {
  'layernorm_before.weight': 'norm1.weight',
  'layernorm_before.bias': 'norm1.bias',
  'attention.output.dense.weight': 'attn.proj.weight',
  'attention.output.dense.bias': 'attn.proj.bias',
  'attention.attention.relative_position_bias.relative_position_bias_table': 'attn.relative_position_bias_table',
  'layernorm_after.weight': 'norm2.weight',
  'layernorm_after.bias': 'norm2.bias',
  'intermediate.dense.weight': 'mlp.fc1.weight',
  'intermediate.dense.bias': 'mlp.fc1.bias',
  'output.dense.weight': 'mlp.fc2.weight',
  'output.dense.bias': 'mlp.fc2.bias',
  lambda_1: 'ls1.gamma',
  lambda_2: 'ls2.gamma',
};

/** Known names the canonical model has no use for. */
const DROPPED: [RegExp, string][] = [
  [/(^|\.)relative_position_index$/, 'rebuilt by the model'],
  [/^embeddings\.mask_token$/, 'used only by masked-image modelling'],
  [/^pooler\.dense\./, "ViTModel's pooler, not used by the classifier"],
];

/** Stores `to` = q | k | v (rows) when all three exist with matching trailing dimensions. */
function concatQkv(r: Renamer, names: (string | undefined)[], to: string): void {
  if (!names.every((n): n is string => n !== undefined)) return;
  const joined = concatRows(names.map((n) => r.get(n)!));
  if (joined) r.put(to, joined, names.map((from, j) => ({ from, note: `the ${'qkv'[j]} third of qkv` })));
}

export function adaptHuggingFace(r: Renamer, model: 'vit' | 'beit'): void {
  const prefix = `${model}.`;
  const inner = (name: string): string => (name.startsWith(prefix) ? name.slice(prefix.length) : name);
  // The file's name for each backbone-relative name.
  const named = new Map(r.names.map((n) => [inner(n), n]));
  const layers = blockIndices([...named.keys()], /^encoder\.layer\.(\d+)\./);

  for (const [name, from] of named) {
    const layer = /^encoder\.layer\.(\d+)\.(.+)$/.exec(name);
    const dropped = DROPPED.find(([pattern]) => pattern.test(name));
    if (dropped) r.drop(from, dropped[1]);
    else if (layer && Object.hasOwn(LAYER, layer[2])) r.rename(from, `blocks.${layer[1]}.${LAYER[layer[2]]}`);
    else if (!layer && Object.hasOwn(TOP, name)) r.rename(from, TOP[name]);
    else if (from === 'classifier.weight' || from === 'classifier.bias') r.rename(from, `head.${from.slice('classifier.'.length)}`);
  }

  for (const i of layers) {
    const attn = (name: string) => named.get(`encoder.layer.${i}.attention.attention.${name}`);
    concatQkv(r, [attn('query.weight'), attn('key.weight'), attn('value.weight')], `blocks.${i}.attn.qkv.weight`);
    if (model === 'beit') qkvBiasWithZeroKey(r, attn('query.bias'), attn('value.bias'), `blocks.${i}.attn.qkv.bias`);
    else concatQkv(r, [attn('query.bias'), attn('key.bias'), attn('value.bias')], `blocks.${i}.attn.qkv.bias`);
  }

  const shared = named.get('encoder.relative_position_bias.relative_position_bias_table');
  if (shared !== undefined) copySharedTable(r, shared, layers, (i) => `blocks.${i}.attn.relative_position_bias_table`);
}
