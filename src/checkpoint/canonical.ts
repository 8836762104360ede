// The canonical tensor set of a 2-D ViT (timm VisionTransformer names), and the check that an
// adapted checkpoint holds exactly that set: every tensor there, with its shape, and nothing else.

import { tokenGrid, type VitConfig } from '../model/config.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { shapeText } from './mapping.js';

/** Every canonical tensor `config` needs, with its shape, in model order. */
export function canonicalShapes(config: VitConfig): Map<string, number[]> {
  const { embedDim: E, mlpHidden: M, inChannels: C, patchSize: P, heads } = config;
  const [h, w] = tokenGrid(config, config.imageSize);
  const shapes = new Map<string, number[]>();
  const linear = (name: string, outputs: number, inputs: number, bias = true) => {
    shapes.set(`${name}.weight`, [outputs, inputs]);
    if (bias) shapes.set(`${name}.bias`, [outputs]);
  };
  const norm = (name: string) => {
    shapes.set(`${name}.weight`, [E]);
    shapes.set(`${name}.bias`, [E]);
  };

  shapes.set('cls_token', [1, 1, E]);
  if (config.prefixTokens === 2) shapes.set('dist_token', [1, 1, E]);
  if (config.positionEmbedding) shapes.set('pos_embed', [1, config.prefixTokens + h * w, E]);
  shapes.set('patch_embed.proj.weight', [E, C, P, P]);
  shapes.set('patch_embed.proj.bias', [E]);
  for (let i = 0; i < config.depth; i++) {
    const b = `blocks.${i}.`;
    norm(`${b}norm1`);
    linear(`${b}attn.qkv`, 3 * E, E, config.qkvBias);
    if (config.relativePositionBias) shapes.set(`${b}attn.relative_position_bias_table`, [(2 * h - 1) * (2 * w - 1) + 3, heads]);
    linear(`${b}attn.proj`, E, E);
    if (config.layerScale) shapes.set(`${b}ls1.gamma`, [E]);
    norm(`${b}norm2`);
    linear(`${b}mlp.fc1`, M, E);
    linear(`${b}mlp.fc2`, E, M);
    if (config.layerScale) shapes.set(`${b}ls2.gamma`, [E]);
  }
  if (config.finalNorm !== 'none') norm(config.finalNorm);
  const head = config.head;
  if (head.kind === 'linear') {
    linear('head', head.classes, E);
    if (config.prefixTokens === 2) linear('head_dist', head.classes, E);
  } else if (head.kind === 'mlp') {
    linear('head.fc1', head.hidden, E);
    linear('head.fc2', head.classes, head.hidden);
  }
  return shapes;
}

/** One line describing `config`, for error messages. */
export function describeConfig(c: VitConfig): string {
  const head = c.head.kind === 'none' ? 'no head'
    : c.head.kind === 'mlp' ? `MLP head ${c.head.hidden}→${c.head.classes}` : `linear head ${c.head.classes} (${c.head.pool})`;
  return `embed ${c.embedDim}, depth ${c.depth}, ${c.heads} heads, MLP ${c.mlpHidden}, patch ${c.patchSize}, ` +
    `image ${c.imageSize.join('×')}, ${c.inChannels} channels, ${c.prefixTokens} prefix tokens, ` +
    `qkv bias ${c.qkvBias}, layer scale ${c.layerScale}, position embedding ${c.positionEmbedding}, ` +
    `relative position bias ${c.relativePositionBias}, final norm ${c.finalNorm}, ${head}`;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Checks that `tensors` is exactly the canonical set of `config` and returns it in model order.
 * Otherwise throws one error listing every missing tensor, every wrong shape, every canonical
 * name the model does not use, and every source tensor no rule of the layout claimed.
 */
export function checkComplete(
  tensors: ReadonlyMap<string, HostTensor>, leftovers: [string, HostTensor][], config: VitConfig, where: string,
): Map<string, HostTensor> {
  const expected = canonicalShapes(config);
  const problems: string[] = [];
  const ordered = new Map<string, HostTensor>();
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t) problems.push(`missing: ${name} ${shapeText(shape)}`);
    else if (!sameShape(t.shape, shape)) problems.push(`wrong shape: ${name} is ${shapeText(t.shape)}, expected ${shapeText(shape)}`);
    else ordered.set(name, t);
  }
  for (const [name, t] of tensors) if (!expected.has(name)) problems.push(`unexpected: ${name} ${shapeText(t.shape)}`);
  for (const [name, t] of leftovers) problems.push(`not part of the layout: ${name} ${shapeText(t.shape)}`);
  if (problems.length > 0) {
    throw new Error(`${where}: the tensors do not fit the model they describe (${describeConfig(config)}):\n  ${problems.join('\n  ')}`);
  }
  return ordered;
}
