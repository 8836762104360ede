// lucidrains vit-pytorch, the early-2021 layout (the vit4mnist checkpoint) → canonical names.
// Each layer is Residual(PreNorm(fn)): `transformer.layers.i.0.fn.norm` and `….0.fn.fn` (attention:
// to_qkv without bias, rows q | k | v like timm's qkv, and to_out), `….1.fn.fn.net.0/.2` (MLP).
// The patch embedding is a Linear over patches flattened in (p1, p2, c) order, turned here into
// the equivalent Conv2d kernel; the classifier `mlp_head` is Linear → GELU → Linear.

import { linearPatchToConv } from '../inflate/patch-embed.js';
import type { VitConfig } from '../model/config.js';
import { shapeText, type Renamer } from './mapping.js';

const RULES: [RegExp, (m: RegExpExecArray) => string][] = [
  [/^cls_token$/, () => 'cls_token'],
  [/^pos_embedding$/, () => 'pos_embed'],
  [/^patch_to_embedding\.bias$/, () => 'patch_embed.proj.bias'],
  [/^transformer\.layers\.(\d+)\.0\.fn\.norm\.(weight|bias)$/, (m) => `blocks.${m[1]}.norm1.${m[2]}`],
  [/^transformer\.layers\.(\d+)\.0\.fn\.fn\.to_qkv\.weight$/, (m) => `blocks.${m[1]}.attn.qkv.weight`],
  [/^transformer\.layers\.(\d+)\.0\.fn\.fn\.to_out\.(weight|bias)$/, (m) => `blocks.${m[1]}.attn.proj.${m[2]}`],
  [/^transformer\.layers\.(\d+)\.1\.fn\.norm\.(weight|bias)$/, (m) => `blocks.${m[1]}.norm2.${m[2]}`],
  [/^transformer\.layers\.(\d+)\.1\.fn\.fn\.net\.0\.(weight|bias)$/, (m) => `blocks.${m[1]}.mlp.fc1.${m[2]}`],
  [/^transformer\.layers\.(\d+)\.1\.fn\.fn\.net\.2\.(weight|bias)$/, (m) => `blocks.${m[1]}.mlp.fc2.${m[2]}`],
  [/^mlp_head\.0\.(weight|bias)$/, (m) => `head.fc1.${m[1]}`],
  [/^mlp_head\.2\.(weight|bias)$/, (m) => `head.fc2.${m[1]}`],
];

/** n = r², or undefined. */
function exactRoot(n: number): number | undefined {
  const r = Math.round(Math.sqrt(n));
  return r > 0 && r * r === n ? r : undefined;
}

/**
 * Patch size P and channels C of a Linear patch embedding with P·P·C inputs per patch. The
 * settings fix either; otherwise C = 3 or C = 1, whichever leaves a square P·P (at most one can).
 */
export function patchGeometry(inputs: number, known: Partial<VitConfig>, where: string): { patch: number; channels: number } {
  const { patchSize, inChannels } = known;
  const candidates = inChannels !== undefined ? [inChannels] : patchSize !== undefined ? [inputs / patchSize ** 2] : [3, 1];
  for (const channels of candidates) {
    const patch = Number.isInteger(channels) && channels > 0 ? exactRoot(inputs / channels) : undefined;
    if (patch !== undefined && (patchSize === undefined || patch === patchSize)) return { patch, channels };
  }
  const given = [patchSize !== undefined && `patchSize ${patchSize}`, inChannels !== undefined && `inChannels ${inChannels}`]
    .filter(Boolean).join(' and ');
  throw new Error(`${where}: patch_to_embedding.weight takes ${inputs} values per patch (P·P·C), ` +
    (given ? `which does not fit ${given}` : 'which is not 3·P·P or P·P: give patchSize or inChannels in a model JSON'));
}

export function adaptVitPytorch(r: Renamer, known: Partial<VitConfig>, where: string): void {
  for (const name of r.names) {
    for (const [pattern, to] of RULES) {
      const m = pattern.exec(name);
      if (m) {
        r.rename(name, to(m));
        break;
      }
    }
  }
  const linear = r.get('patch_to_embedding.weight');
  // Any other shape stays unclaimed and is reported with the missing patch_embed.proj.weight.
  if (linear?.shape.length !== 2) return;
  const [embed, inputs] = linear.shape;
  const { patch, channels } = patchGeometry(inputs, known, where);
  r.rename('patch_to_embedding.weight', 'patch_embed.proj.weight',
    `Linear ${shapeText(linear.shape)} over (p1 p2 c) patches → Conv2d kernel [E, C, P, P]`,
    (t) => ({ shape: [embed, channels, patch, patch], data: linearPatchToConv(t.data, patch, channels) }));
}
