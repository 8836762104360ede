// timm / unilm BEiT → canonical names. BEiT differs from timm's ViT by a q bias and a v bias where
// ViT has one qkv bias (k has none), layer scales named gamma_1/gamma_2, relative position tables
// (one per block, or one shared `rel_pos_bias` table), and `relative_position_index` buffers.

import { blockIndices, concatRows, type Renamer } from './mapping.js';

/** Stores `to` = q | 0 | v when both biases are there: BEiT's k projection has no bias. */
export function qkvBiasWithZeroKey(r: Renamer, q: string | undefined, v: string | undefined, to: string): void {
  // A lone q or v bias stays unclaimed: it is reported next to the missing qkv bias.
  if (q === undefined || v === undefined) return;
  const qt = r.get(q);
  const vt = r.get(v);
  if (!qt || !vt) return;
  const joined = concatRows([qt, { shape: [...qt.shape], data: new Float32Array(qt.data.length) }, vt]);
  if (!joined) return;
  r.put(to, joined, [
    { from: q, note: 'the q third of qkv; the k third is zeros' },
    { from: v, note: 'the v third of qkv' },
  ]);
}

/** Copies a shared relative position table into every block, as TransSeg's loader does. */
export function copySharedTable(r: Renamer, from: string, blocks: number[], to: (block: number) => string): void {
  const t = r.get(from);
  if (!t) return;
  for (const i of blocks) {
    r.put(to(i), { shape: [...t.shape], data: t.data.slice() }, [{ from, note: 'shared table, copied into every block' }]);
  }
}

export function adaptTimmBeit(r: Renamer): void {
  const blocks = blockIndices(r.names, /^blocks\.(\d+)\./);
  for (const name of r.names) {
    const gamma = /^blocks\.(\d+)\.gamma_([12])$/.exec(name);
    if (gamma) r.rename(name, `blocks.${gamma[1]}.ls${gamma[2]}.gamma`);
    else if (name.endsWith('.relative_position_index')) r.drop(name, 'rebuilt by the model');
    else if (name === 'mask_token' || name.startsWith('lm_head.')) r.drop(name, 'used only by masked-image pre-training');
  }
  for (const i of blocks) qkvBiasWithZeroKey(r, `blocks.${i}.attn.q_bias`, `blocks.${i}.attn.v_bias`, `blocks.${i}.attn.qkv.bias`);
  copySharedTable(r, 'rel_pos_bias.relative_position_bias_table', blocks, (i) => `blocks.${i}.attn.relative_position_bias_table`);
  // Everything else already has timm's canonical name.
  r.keepRest();
}
