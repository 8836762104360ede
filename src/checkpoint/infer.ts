// The VitConfig of a canonical tensor set. Shapes and presence of tensors fix most of it; what the
// weights cannot tell (heads, LayerNorm epsilon, attention scale, input normalisation) comes from
// a preset or a partial config (a model JSON), which may also restate any other field: a
// statement that contradicts the tensors is an error naming both values.

import { PRESETS, validateConfig, type VitConfig } from '../model/config.js';
import type { CheckpointFormat } from './detect.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { shapeText } from './mapping.js';

/** Every VitConfig field, in the order configs are written (`satisfies` keeps the list exact). */
const CONFIG_KEYS = Object.keys({
  embedDim: 0, depth: 0, heads: 0, mlpHidden: 0, patchSize: 0, imageSize: 0, inChannels: 0, depthSlices: 0, eps: 0,
  qkvBias: 0, layerScale: 0, positionEmbedding: 0, relativePositionBias: 0, prefixTokens: 0, attentionScale: 0,
  finalNorm: 0, head: 0, normalization: 0,
} satisfies Record<keyof VitConfig, 0>) as (keyof VitConfig)[];

/** LayerNorm epsilon each library uses when nothing else is said. */
const DEFAULT_EPS: Record<CheckpointFormat, number> = {
  'timm-vit': 1e-6, 'timm-beit': 1e-6, 'hf-vit': 1e-12, 'hf-beit': 1e-12, 'vit-pytorch': 1e-5,
};

/** Values stated by a preset and a model JSON (which wins), with where each came from. */
export interface Settings {
  values: Partial<VitConfig>;
  source: Partial<Record<keyof VitConfig, string>>;
}

export function readSettings(
  options: { preset?: string; repository?: { config: Partial<VitConfig>; source: string }; config?: Partial<VitConfig> }, where: string,
): Settings {
  const settings: Settings = { values: {}, source: {} };
  const apply = (values: Partial<VitConfig>, source: string) => {
    for (const key of CONFIG_KEYS) {
      if (values[key] === undefined) continue;
      (settings.values as Record<string, unknown>)[key] = values[key];
      settings.source[key] = source;
    }
  };
  if (options.preset !== undefined) {
    if (!Object.hasOwn(PRESETS, options.preset)) {
      throw new Error(`${where}: unknown preset '${options.preset}'; known presets: ${Object.keys(PRESETS).join(', ')}`);
    }
    apply(PRESETS[options.preset], `preset '${options.preset}'`);
  }
  if (options.repository !== undefined) apply(options.repository.config, options.repository.source);
  if (options.config !== undefined) {
    const unknown = Object.keys(options.config).filter((k) => !(CONFIG_KEYS as string[]).includes(k));
    if (unknown.length > 0) {
      throw new Error(`${where}: the model JSON has unknown fields ${unknown.map((k) => `'${k}'`).join(', ')}; ` +
        `known fields: ${CONFIG_KEYS.join(', ')}`);
    }
    apply(options.config, 'the model JSON');
  }
  return settings;
}

/** A value read off the tensors, with the tensor that shows it. */
interface Fact<T> {
  value: T;
  evidence: string;
}

type Facts = { [K in keyof VitConfig]?: Fact<VitConfig[K]> };

function same(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return a === b;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length &&
    keys.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const show = (v: unknown): string => JSON.stringify(v);

/** n = r², or undefined. */
function exactRoot(n: number): number | undefined {
  const r = Math.round(Math.sqrt(n));
  return r > 0 && r * r === n ? r : undefined;
}

/** What the canonical tensors say about the config, plus the grid evidence for the image size. */
function readFacts(t: ReadonlyMap<string, HostTensor>) {
  const facts: Facts = {};
  const set = <K extends keyof VitConfig>(key: K, value: VitConfig[K], evidence: string) => {
    (facts as Record<string, Fact<unknown>>)[key] = { value, evidence };
  };
  const described = (name: string) => `${name} ${shapeText(t.get(name)!.shape)}`;
  const rows = (name: string) => t.get(name)?.shape[0];
  const blockNames = [...t.keys()].filter((n) => /^blocks\.\d+\./.test(n));
  /** The first block tensor named `blocks.N.<suffix>`. */
  const inBlocks = (suffix: string) => blockNames.find((n) => n.replace(/^blocks\.\d+\./, '') === suffix);

  const patch = t.get('patch_embed.proj.weight');
  if (patch?.shape.length === 4 && patch.shape[2] === patch.shape[3]) {
    const [E, C, P] = patch.shape;
    set('embedDim', E, described('patch_embed.proj.weight'));
    set('inChannels', C, described('patch_embed.proj.weight'));
    set('patchSize', P, described('patch_embed.proj.weight'));
  } else if (t.get('cls_token')?.shape.length === 3) {
    set('embedDim', t.get('cls_token')!.shape[2], described('cls_token'));
  }
  set('depthSlices', 1, 'a 2-D checkpoint');

  const indices = blockNames.map((n) => Number(n.split('.')[1]));
  if (indices.length > 0) set('depth', Math.max(...indices) + 1, `blocks.0 … blocks.${Math.max(...indices)}`);
  const fc1 = inBlocks('mlp.fc1.weight');
  if (fc1 !== undefined) set('mlpHidden', rows(fc1)!, described(fc1));
  const table = inBlocks('attn.relative_position_bias_table');
  if (table !== undefined && t.get(table)!.shape.length === 2) set('heads', t.get(table)!.shape[1], described(table));

  const presence = (key: 'qkvBias' | 'layerScale' | 'relativePositionBias' | 'positionEmbedding', name: string | undefined, what: string) =>
    set(key, name !== undefined, name !== undefined ? `${name} present` : `no ${what}`);
  presence('qkvBias', inBlocks('attn.qkv.bias'), 'blocks.N.attn.qkv.bias');
  presence('layerScale', inBlocks('ls1.gamma') ?? inBlocks('ls2.gamma'), 'blocks.N.ls1.gamma');
  presence('relativePositionBias', table, 'blocks.N.attn.relative_position_bias_table');
  presence('positionEmbedding', t.has('pos_embed') ? 'pos_embed' : undefined, 'pos_embed');
  const prefixTokens = t.has('dist_token') ? 2 : 1;
  set('prefixTokens', prefixTokens, t.has('dist_token') ? 'dist_token present' : 'no dist_token');

  const finalNorm = t.has('norm.weight') || t.has('norm.bias') ? 'norm' : t.has('fc_norm.weight') || t.has('fc_norm.bias') ? 'fc_norm' : 'none';
  set('finalNorm', finalNorm, finalNorm === 'none' ? 'no norm or fc_norm' : `${finalNorm}.weight present`);

  if ([...t.keys()].some((n) => n.startsWith('head.fc1.') || n.startsWith('head.fc2.'))) {
    const hidden = rows('head.fc1.weight') ?? rows('head.fc1.bias') ?? t.get('head.fc2.weight')?.shape[1];
    const classes = rows('head.fc2.weight') ?? rows('head.fc2.bias');
    // With head.fc2 missing altogether the sizes come from the settings.
    if (hidden !== undefined && classes !== undefined) set('head', { kind: 'mlp', hidden, classes }, 'head.fc1 and head.fc2');
  } else if (t.has('head.weight') || t.has('head.bias')) {
    const name = t.has('head.weight') ? 'head.weight' : 'head.bias';
    set('head', { kind: 'linear', classes: rows(name)!, pool: finalNorm === 'fc_norm' ? 'mean' : 'token' }, described(name));
  } else {
    set('head', { kind: 'none' }, 'no head');
  }

  const pos = t.get('pos_embed');
  const grid = {
    /** Patch tokens the position embedding covers. */
    positions: pos?.shape.length === 3 ? { count: pos.shape[1] - prefixTokens, evidence: described('pos_embed') } : undefined,
    /** Rows of the relative position tables: (2h − 1)(2w − 1) + 3. */
    tableRows: table !== undefined ? { count: rows(table)!, evidence: described(table) } : undefined,
  };
  return { facts, grid };
}

/**
 * The config of the canonical tensors `t` (from `format`), checked against `settings`. Throws
 * one error listing every contradiction and every field neither side can tell.
 */
export function resolveConfig(t: ReadonlyMap<string, HostTensor>, format: CheckpointFormat, settings: Settings, where: string): VitConfig {
  const { facts, grid } = readFacts(t);
  const problems: string[] = [];
  const resolved: Partial<VitConfig> = {};
  for (const key of CONFIG_KEYS) {
    const fact = facts[key];
    const stated = settings.values[key];
    if (fact && stated !== undefined && !same(fact.value, stated)) {
      problems.push(`${key}: ${settings.source[key]} says ${show(stated)}, the tensors say ${show(fact.value)} (${fact.evidence})`);
    }
    const value = fact ? fact.value : stated;
    if (value !== undefined) (resolved as Record<string, unknown>)[key] = value;
  }
  resolved.eps ??= DEFAULT_EPS[format];
  // The early vit-pytorch release scaled q·k by dim^-0.5, the full width, not head_dim^-0.5.
  if (format === 'vit-pytorch' && resolved.attentionScale === undefined && resolved.embedDim !== undefined) {
    resolved.attentionScale = resolved.embedDim ** -0.5;
  }
  // Without a stated normalisation the model takes its input as it is.
  if (resolved.normalization === undefined && resolved.inChannels !== undefined) {
    resolved.normalization = { mean: new Array(resolved.inChannels).fill(0), std: new Array(resolved.inChannels).fill(1) };
  }
  for (const key of ['embedDim', 'depth', 'heads', 'mlpHidden', 'patchSize', 'inChannels', 'head'] as const) {
    if (resolved[key] === undefined) {
      problems.push(`${key}: the weights do not tell it; pass --preset <name> or a model JSON with "${key}"`);
    }
  }
  if (resolved.patchSize !== undefined) resolveImageSize(resolved, resolved.patchSize, grid, settings, problems);
  const norm = resolved.normalization;
  if (norm !== undefined && resolved.inChannels !== undefined &&
      (norm.mean.length !== resolved.inChannels || norm.std.length !== resolved.inChannels)) {
    problems.push(`normalization: ${settings.source.normalization} gives ${norm.mean.length} means and ${norm.std.length} stds ` +
      `for ${resolved.inChannels} input channels`);
  }
  if (problems.length > 0) throw new Error(`${where}: cannot describe the model:\n  ${problems.join('\n  ')}`);
  const config = Object.fromEntries(CONFIG_KEYS.filter((k) => resolved[k] !== undefined).map((k) => [k, resolved[k]]));
  return validateConfig(config as unknown as VitConfig, where);
}

type Grid = ReturnType<typeof readFacts>['grid'];

/** imageSize: stated, or the square grid the tensors imply; either way it must fit the tensors. */
function resolveImageSize(resolved: Partial<VitConfig>, P: number, grid: Grid, settings: Settings, problems: string[]): void {
  let size = resolved.imageSize;
  let claim = `imageSize ${show(size)} from ${settings.source.imageSize}`;
  if (size === undefined) {
    const side = grid.positions ? exactRoot(grid.positions.count) : grid.tableRows ? exactRoot(grid.tableRows.count - 3) : undefined;
    const h = grid.positions ? side : side !== undefined && side % 2 === 1 ? (side + 1) / 2 : undefined;
    if (h === undefined) {
      const why = grid.positions ?? grid.tableRows;
      const problem = why ? `${why.evidence} does not give a square token grid` : 'no position embedding or table gives the token grid';
      problems.push(`imageSize: ${problem}; give imageSize in a model JSON`);
      return;
    }
    size = [h * P, h * P];
    claim = `the ${h}×${h} grid of ${(grid.positions ?? grid.tableRows)!.evidence}`;
    resolved.imageSize = size;
  }
  const [H, W] = size;
  if (H % P !== 0 || W % P !== 0) return; // validateConfig reports it
  const [h, w] = [H / P, W / P];
  if (grid.positions && grid.positions.count !== h * w) {
    problems.push(`imageSize: ${claim} needs ${h * w} patch positions (patch ${P}), but ${grid.positions.evidence} holds ${grid.positions.count}`);
  }
  const rows = (2 * h - 1) * (2 * w - 1) + 3;
  if (grid.tableRows && grid.tableRows.count !== rows) {
    problems.push(`imageSize: ${claim} needs relative position tables of ${rows} rows (patch ${P}), ` +
      `but ${grid.tableRows.evidence} has ${grid.tableRows.count}`);
  }
}
