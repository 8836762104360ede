// Checkpoint adapters (src/checkpoint/): format detection, the canonical names and shapes, the
// element mapping against the raw fixture tensors, the config read off the tensors and its
// conflicts with presets, the error lists, and an f64 forward of the canonical tensors against the
// golden outputs of the original architectures (scripts/golden/checkpoints.py). No GPU needed.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  adaptCheckpoint, canonicalShapes, detectFormat, type AdaptedCheckpoint, type AdaptOptions, type CheckpointFormat,
} from '../src/checkpoint/index.js';
import type { HostTensor } from '../src/tensor/host-tensor.js';
import { loadCheckpointFile } from '../src/checkpoint/load.js';
import { relativePositionIndex } from '../src/model/relative-position-index.js';
import { parseSafetensors, type SafetensorsFile, type SafetensorsTensor } from '../src/io/safetensors.js';
import { PRESETS, type VitConfig } from '../src/model/config.js';
import { expectClose } from './helpers/check.js';
import { geluRef } from './reference/elementwise.js';

interface GoldenTensor { shape: number[]; data: number[] }
interface GoldenModel {
  file: string;
  format: CheckpointFormat;
  model_json: Partial<VitConfig>;
  config: { prefix_tokens: number; in_channels: number; eps: number; attention_scale: number; heads: number };
  input: GoldenTensor;
  blocks: GoldenTensor[];
  logits: GoldenTensor;
}

const FIXTURES = new URL('./fixtures/checkpoints/', import.meta.url);
const golden: { models: Record<string, GoldenModel> } = JSON.parse(readFileSync(new URL('golden.json', FIXTURES), 'utf8'));
const MODELS = Object.keys(golden.models);

const DATA = '../shared/data';
const VIT4MNIST = `${DATA}/weights/vit4mnist/vit4mnist.safetensors`;
const HAVE_DATA = existsSync(VIT4MNIST);
const SKIP_NOTE = HAVE_DATA ? '' : ' (SKIPPED: ../shared/data is absent, e.g. in a clone without the shared test files)';

function fixture(name: string): SafetensorsFile {
  return parseSafetensors(readFileSync(new URL(`${name}.safetensors`, FIXTURES)), `${name}.safetensors`);
}

function adaptFixture(name: string, options: Omit<AdaptOptions, 'fileName'> = { config: golden.models[name].model_json }): AdaptedCheckpoint {
  return adaptCheckpoint(fixture(name), { fileName: `${name}.safetensors`, ...options });
}

/** A copy of `file` with its tensors edited by `edit` (for error cases). */
function edited(file: SafetensorsFile, edit: (t: Map<string, SafetensorsTensor>) => void): SafetensorsFile {
  const tensors = new Map(file.tensors);
  edit(tensors);
  return { metadata: file.metadata, tensors };
}

/** The message of the error `f` throws. */
function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

// Renames and concatenations copy f32 values: they must be bit-exact.
const EXACT = { atol: 0, rtol: 0 };

describe('detectFormat', () => {
  it('tells every fixture layout from its names', () => {
    for (const name of MODELS) {
      expect(detectFormat([...fixture(name).tensors.keys()], name), name).toBe(golden.models[name].format);
    }
  });

  it('tells bare Hugging Face backbones (no vit. / beit. prefix) apart', () => {
    for (const [name, prefix] of [['hf-vit', 'vit.'], ['hf-beit', 'beit.']]) {
      const names = [...fixture(name).tensors.keys()].map((n) => n.replace(prefix, ''));
      expect(detectFormat(names, name)).toBe(name);
    }
  });

  it('tells a BEiT with only a shared relative position table from a ViT', () => {
    expect(detectFormat(['cls_token', 'patch_embed.proj.weight', 'rel_pos_bias.relative_position_bias_table'], 'x')).toBe('timm-beit');
  });

  it('lists the name patterns it saw when no layout matches', () => {
    const names = ['conv1.weight', 'layer1.0.conv1.weight', 'layer1.1.conv1.weight', 'fc.weight'];
    const message = errorOf(() => detectFormat(names, 'resnet.safetensors'));
    expect(message).toContain('resnet.safetensors: not a checkpoint layout I know (timm-vit, timm-beit, hf-vit, hf-beit, vit-pytorch)');
    expect(message).toContain('It has 4 tensors: conv1.weight, layer1.N.conv1.weight, fc.weight');
    expect(errorOf(() => detectFormat([], 'empty.safetensors'))).toContain('It has 0 tensors: none');
  });
});

const identity = (channels: number) => ({ mean: new Array(channels).fill(0), std: new Array(channels).fill(1) });
const TIMM_VIT: VitConfig = {
  embedDim: 32, depth: 2, heads: 4, mlpHidden: 128, patchSize: 4, imageSize: [16, 16], inChannels: 3, depthSlices: 1,
  eps: 1e-6, qkvBias: true, layerScale: false, positionEmbedding: true, relativePositionBias: false, prefixTokens: 1,
  finalNorm: 'norm', head: { kind: 'linear', classes: 5, pool: 'token' }, normalization: identity(3),
};
const TIMM_BEIT: VitConfig = {
  ...TIMM_VIT, layerScale: true, positionEmbedding: false, relativePositionBias: true, finalNorm: 'fc_norm',
  head: { kind: 'linear', classes: 5, pool: 'mean' },
};
const EXPECTED_CONFIGS: Record<string, VitConfig> = {
  'timm-vit': TIMM_VIT,
  'timm-vit-distilled': { ...TIMM_VIT, prefixTokens: 2 },
  'timm-beit': TIMM_BEIT,
  'hf-vit': { ...TIMM_VIT, eps: 1e-12 },
  'hf-beit': { ...TIMM_BEIT, eps: 1e-12 },
  'vit-pytorch': {
    ...TIMM_VIT, mlpHidden: 64, inChannels: 1, eps: 1e-5, qkvBias: false, attentionScale: golden.models['vit-pytorch'].model_json.attentionScale,
    finalNorm: 'none',
    head: { kind: 'mlp', hidden: 64, classes: 5 }, normalization: identity(1),
  },
};

/** The canonical names and shapes of each fixture, written out. */
function expectedTensors(name: string): Record<string, number[]> {
  const c = EXPECTED_CONFIGS[name];
  const M = c.mlpHidden;
  const out: Record<string, number[]> = { cls_token: [1, 1, 32], 'patch_embed.proj.weight': [32, c.inChannels, 4, 4], 'patch_embed.proj.bias': [32] };
  if (c.prefixTokens === 2) out.dist_token = [1, 1, 32];
  if (c.positionEmbedding) out.pos_embed = [1, c.prefixTokens + 16, 32];
  for (const i of [0, 1]) {
    const b = `blocks.${i}.`;
    Object.assign(out, {
      [`${b}norm1.weight`]: [32], [`${b}norm1.bias`]: [32], [`${b}attn.qkv.weight`]: [96, 32],
      [`${b}attn.proj.weight`]: [32, 32], [`${b}attn.proj.bias`]: [32], [`${b}norm2.weight`]: [32], [`${b}norm2.bias`]: [32],
      [`${b}mlp.fc1.weight`]: [M, 32], [`${b}mlp.fc1.bias`]: [M], [`${b}mlp.fc2.weight`]: [32, M], [`${b}mlp.fc2.bias`]: [32],
    });
    if (c.qkvBias) out[`${b}attn.qkv.bias`] = [96];
    if (c.layerScale) Object.assign(out, { [`${b}ls1.gamma`]: [32], [`${b}ls2.gamma`]: [32] });
    if (c.relativePositionBias) out[`${b}attn.relative_position_bias_table`] = [52, 4]; // (2·4 − 1)² + 3 rows
  }
  if (c.finalNorm !== 'none') Object.assign(out, { [`${c.finalNorm}.weight`]: [32], [`${c.finalNorm}.bias`]: [32] });
  if (c.head.kind === 'mlp') {
    Object.assign(out, { 'head.fc1.weight': [64, 32], 'head.fc1.bias': [64], 'head.fc2.weight': [5, 64], 'head.fc2.bias': [5] });
  } else {
    Object.assign(out, { 'head.weight': [5, 32], 'head.bias': [5] });
    if (c.prefixTokens === 2) Object.assign(out, { 'head_dist.weight': [5, 32], 'head_dist.bias': [5] });
  }
  return out;
}

describe('adaptCheckpoint on the golden fixtures', () => {
  for (const name of MODELS) {
    it(`${name}: format, config, canonical names and shapes, a mapping entry per source tensor`, () => {
      const file = fixture(name);
      const adapted = adaptFixture(name);
      expect(adapted.format).toBe(golden.models[name].format);
      expect(adapted.config).toEqual(EXPECTED_CONFIGS[name]);
      const shapes = Object.fromEntries([...adapted.tensors].map(([n, t]) => [n, t.shape]));
      expect(shapes).toEqual(expectedTensors(name));
      expect([...adapted.tensors.keys()]).toEqual([...canonicalShapes(adapted.config).keys()]);
      for (const [n, t] of adapted.tensors) expect(t.data.length, n).toBe(t.shape.reduce((a, b) => a * b, 1));
      expect(new Set(adapted.mapping.map((m) => m.from))).toEqual(new Set(file.tensors.keys()));
    });
  }

  it('drops relative_position_index buffers, and says so in the mapping', () => {
    const beit = adaptFixture('timm-beit').mapping.filter((m) => m.to === null);
    expect(beit).toEqual([0, 1].map((i) => ({ from: `blocks.${i}.attn.relative_position_index`, to: null, note: 'dropped: rebuilt by the model' })));
    const hf = adaptFixture('hf-beit').mapping.filter((m) => m.to === null);
    expect(hf).toEqual([{ from: 'beit.encoder.relative_position_bias.relative_position_index', to: null, note: 'dropped: rebuilt by the model' }]);
  });

  it("drops ViTModel's pooler and BEiT's pre-training tensors", () => {
    const vit = fixture('hf-vit');
    const withPooler = edited(vit, (t) => {
      t.set('vit.pooler.dense.weight', { dtype: 'F32', shape: [32, 32], data: new Float32Array(32 * 32) });
      t.set('vit.pooler.dense.bias', { dtype: 'F32', shape: [32], data: new Float32Array(32) });
    });
    const pooled = adaptCheckpoint(withPooler, { fileName: 'vit', config: { heads: 4 } });
    expect(pooled.mapping.filter((m) => m.to === null).map((m) => m.from)).toEqual(['vit.pooler.dense.weight', 'vit.pooler.dense.bias']);
    expect(pooled.tensors.size).toBe(adaptFixture('hf-vit').tensors.size);

    const pretrained = edited(fixture('timm-beit'), (t) => {
      t.set('mask_token', { dtype: 'F32', shape: [1, 1, 32], data: new Float32Array(32) });
      t.set('lm_head.weight', { dtype: 'F32', shape: [8, 32], data: new Float32Array(8 * 32) });
    });
    const dropped = adaptCheckpoint(pretrained, { fileName: 'beit' }).mapping.filter((m) => m.to === null).map((m) => m.from);
    expect(dropped).toContain('mask_token');
    expect(dropped).toContain('lm_head.weight');
  });
});

describe('element mapping, against the raw fixture tensors', () => {
  const E = 32;

  it('timm-vit: every tensor is the file tensor of the same name', () => {
    for (const name of ['timm-vit', 'timm-vit-distilled']) {
      const file = fixture(name);
      for (const [n, t] of adaptFixture(name).tensors) expectClose(t.data, file.tensors.get(n)!.data, EXACT, 'checkpoint.timm-vit', 'renamed tensors');
    }
  });

  it('timm-beit: qkv bias = q_bias | 0 | v_bias, gamma_1/2 → ls1/ls2, per-block tables', () => {
    const file = fixture('timm-beit');
    const raw = (n: string) => file.tensors.get(n)!.data;
    const t = adaptFixture('timm-beit').tensors;
    for (const i of [0, 1]) {
      const b = `blocks.${i}.`;
      const bias = t.get(`${b}attn.qkv.bias`)!.data;
      expectClose(bias.subarray(0, E), raw(`${b}attn.q_bias`), EXACT, 'checkpoint.timm-beit', 'qkv bias q rows');
      expectClose(bias.subarray(E, 2 * E), new Float32Array(E), EXACT, 'checkpoint.timm-beit', 'qkv bias k rows (zeros)');
      expectClose(bias.subarray(2 * E), raw(`${b}attn.v_bias`), EXACT, 'checkpoint.timm-beit', 'qkv bias v rows');
      expectClose(t.get(`${b}ls1.gamma`)!.data, raw(`${b}gamma_1`), EXACT, 'checkpoint.timm-beit', 'gamma_1 → ls1.gamma');
      expectClose(t.get(`${b}ls2.gamma`)!.data, raw(`${b}gamma_2`), EXACT, 'checkpoint.timm-beit', 'gamma_2 → ls2.gamma');
      expectClose(t.get(`${b}attn.relative_position_bias_table`)!.data, raw(`${b}attn.relative_position_bias_table`), EXACT,
        'checkpoint.timm-beit', 'relative position table');
    }
    // The index buffer stored in the file is BEiT's, which the model rebuilds.
    expectClose(raw('blocks.0.attn.relative_position_index'), relativePositionIndex(4, 4), EXACT, 'checkpoint.timm-beit', 'stored index = rebuilt index');
  });

  it('timm-beit: a shared rel_pos_bias table is copied into every block', () => {
    const file = fixture('timm-beit');
    const table = file.tensors.get('blocks.0.attn.relative_position_bias_table')!;
    const shared = edited(file, (t) => {
      for (const i of [0, 1]) t.delete(`blocks.${i}.attn.relative_position_bias_table`);
      t.set('rel_pos_bias.relative_position_bias_table', table);
    });
    const adapted = adaptCheckpoint(shared, { fileName: 'shared' });
    const copies = [0, 1].map((i) => adapted.tensors.get(`blocks.${i}.attn.relative_position_bias_table`)!.data);
    for (const copy of copies) expectClose(copy, table.data, EXACT, 'checkpoint.timm-beit', 'shared table copies');
    expect(copies[0]).not.toBe(copies[1]);
  });

  it('hf-vit: query/key/value → qkv rows q | k | v, and the renames', () => {
    const file = fixture('hf-vit');
    const raw = (n: string) => file.tensors.get(n)!.data;
    const t = adaptFixture('hf-vit').tensors;
    for (const i of [0, 1]) {
      const src = `vit.encoder.layer.${i}.`;
      const weight = t.get(`blocks.${i}.attn.qkv.weight`)!.data;
      const bias = t.get(`blocks.${i}.attn.qkv.bias`)!.data;
      ['query', 'key', 'value'].forEach((part, k) => {
        expectClose(weight.subarray(k * E * E, (k + 1) * E * E), raw(`${src}attention.attention.${part}.weight`), EXACT, 'checkpoint.hf-vit', `qkv weight ${part} rows`);
        expectClose(bias.subarray(k * E, (k + 1) * E), raw(`${src}attention.attention.${part}.bias`), EXACT, 'checkpoint.hf-vit', `qkv bias ${part} rows`);
      });
      const renames: [string, string][] = [
        ['layernorm_before.weight', 'norm1.weight'], ['attention.output.dense.weight', 'attn.proj.weight'],
        ['layernorm_after.bias', 'norm2.bias'], ['intermediate.dense.weight', 'mlp.fc1.weight'], ['output.dense.weight', 'mlp.fc2.weight'],
      ];
      for (const [from, to] of renames) expectClose(t.get(`blocks.${i}.${to}`)!.data, raw(src + from), EXACT, 'checkpoint.hf-vit', 'layer renames');
    }
    const top: [string, string][] = [
      ['vit.embeddings.cls_token', 'cls_token'], ['vit.embeddings.position_embeddings', 'pos_embed'],
      ['vit.embeddings.patch_embeddings.projection.weight', 'patch_embed.proj.weight'], ['vit.layernorm.weight', 'norm.weight'],
      ['classifier.weight', 'head.weight'], ['classifier.bias', 'head.bias'],
    ];
    for (const [from, to] of top) expectClose(t.get(to)!.data, raw(from), EXACT, 'checkpoint.hf-vit', 'top-level renames');
  });

  it('hf-beit: qkv bias = query | 0 | value, lambda → ls, pooler.layernorm → fc_norm, shared table in every block', () => {
    const file = fixture('hf-beit');
    const raw = (n: string) => file.tensors.get(n)!.data;
    const adapted = adaptFixture('hf-beit');
    const t = adapted.tensors;
    for (const i of [0, 1]) {
      const src = `beit.encoder.layer.${i}.`;
      const bias = t.get(`blocks.${i}.attn.qkv.bias`)!.data;
      expectClose(bias.subarray(0, E), raw(`${src}attention.attention.query.bias`), EXACT, 'checkpoint.hf-beit', 'qkv bias q rows');
      expectClose(bias.subarray(E, 2 * E), new Float32Array(E), EXACT, 'checkpoint.hf-beit', 'qkv bias k rows (zeros)');
      expectClose(bias.subarray(2 * E), raw(`${src}attention.attention.value.bias`), EXACT, 'checkpoint.hf-beit', 'qkv bias v rows');
      expectClose(t.get(`blocks.${i}.attn.qkv.weight`)!.data.subarray(E * E, 2 * E * E), raw(`${src}attention.attention.key.weight`), EXACT,
        'checkpoint.hf-beit', 'qkv weight k rows');
      expectClose(t.get(`blocks.${i}.ls1.gamma`)!.data, raw(`${src}lambda_1`), EXACT, 'checkpoint.hf-beit', 'lambda_1 → ls1.gamma');
      expectClose(t.get(`blocks.${i}.ls2.gamma`)!.data, raw(`${src}lambda_2`), EXACT, 'checkpoint.hf-beit', 'lambda_2 → ls2.gamma');
      expectClose(t.get(`blocks.${i}.attn.relative_position_bias_table`)!.data,
        raw('beit.encoder.relative_position_bias.relative_position_bias_table'), EXACT, 'checkpoint.hf-beit', 'shared table copies');
    }
    expectClose(t.get('fc_norm.weight')!.data, raw('beit.pooler.layernorm.weight'), EXACT, 'checkpoint.hf-beit', 'pooler.layernorm → fc_norm');
    const qRows = adapted.mapping.find((m) => m.from === 'beit.encoder.layer.0.attention.attention.query.bias');
    expect(qRows).toEqual({ from: 'beit.encoder.layer.0.attention.attention.query.bias', to: 'blocks.0.attn.qkv.bias', note: 'the q third of qkv; the k third is zeros' });
  });

  it('vit-pytorch: the (p1 p2 c) patch Linear becomes a Conv2d kernel, W[e,c,y,x] = L[e,(y·P + x)·C + c]', () => {
    const file = fixture('vit-pytorch');
    const raw = (n: string) => file.tensors.get(n)!.data;
    const t = adaptFixture('vit-pytorch').tensors;
    const linear = raw('patch_to_embedding.weight');
    const [P, C] = [4, 1];
    const expected = new Float32Array(E * C * P * P);
    for (let e = 0; e < E; e++) {
      for (let c = 0; c < C; c++) {
        for (let y = 0; y < P; y++) for (let x = 0; x < P; x++) expected[((e * C + c) * P + y) * P + x] = linear[e * P * P * C + (y * P + x) * C + c];
      }
    }
    expectClose(t.get('patch_embed.proj.weight')!.data, expected, EXACT, 'checkpoint.vit-pytorch', 'patch Linear → Conv2d');
    const renames: [string, string][] = [
      ['pos_embedding', 'pos_embed'], ['patch_to_embedding.bias', 'patch_embed.proj.bias'],
      ['transformer.layers.1.0.fn.norm.weight', 'blocks.1.norm1.weight'], ['transformer.layers.1.0.fn.fn.to_qkv.weight', 'blocks.1.attn.qkv.weight'],
      ['transformer.layers.1.0.fn.fn.to_out.bias', 'blocks.1.attn.proj.bias'], ['transformer.layers.1.1.fn.norm.bias', 'blocks.1.norm2.bias'],
      ['transformer.layers.1.1.fn.fn.net.0.weight', 'blocks.1.mlp.fc1.weight'], ['transformer.layers.1.1.fn.fn.net.2.weight', 'blocks.1.mlp.fc2.weight'],
      ['mlp_head.0.weight', 'head.fc1.weight'], ['mlp_head.2.bias', 'head.fc2.bias'],
    ];
    for (const [from, to] of renames) expectClose(t.get(to)!.data, raw(from), EXACT, 'checkpoint.vit-pytorch', 'renames');
  });
});

// ---- an f64 forward of the canonical model, against the original architectures' golden outputs ----



/** rows × outputs = x (rows × inputs) · Wᵀ + b. */
function linear(x: Float64Array, rows: number, w: HostTensor, b?: HostTensor): Float64Array {
  const [outputs, inputs] = w.shape;
  const y = new Float64Array(rows * outputs);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outputs; o++) {
      let s = b ? b.data[o] : 0;
      for (let i = 0; i < inputs; i++) s += x[r * inputs + i] * w.data[o * inputs + i];
      y[r * outputs + o] = s;
    }
  }
  return y;
}

function layerNorm(x: Float64Array, rows: number, w: HostTensor, b: HostTensor, eps: number): Float64Array {
  const E = w.shape[0];
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * E, (r + 1) * E);
    const mean = row.reduce((a, v) => a + v, 0) / E;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / E;
    for (let e = 0; e < E; e++) y[r * E + e] = ((row[e] - mean) / Math.sqrt(variance + eps)) * w.data[e] + b.data[e];
  }
  return y;
}

/** The canonical ViT (timm semantics) in plain f64 loops: the tokens after each block, and the logits. */
function forwardRef(c: VitConfig, t: Map<string, HostTensor>, image: number[]): { blocks: Float64Array[]; logits: Float64Array } {
  const p = (name: string) => t.get(name)!;
  const { embedDim: E, patchSize: P, inChannels: C, heads, prefixTokens: pre } = c;
  const [H, W] = c.imageSize;
  const [h, w] = [H / P, W / P];
  const T = pre + h * w;
  const dh = E / heads;
  const scale = c.attentionScale ?? dh ** -0.5;
  let x: Float64Array = new Float64Array(T * E);
  x.set(p('cls_token').data);
  if (pre === 2) x.set(p('dist_token').data, E);
  const kernel = p('patch_embed.proj.weight').data;
  for (let gy = 0; gy < h; gy++) {
    for (let gx = 0; gx < w; gx++) {
      for (let e = 0; e < E; e++) {
        let s = p('patch_embed.proj.bias').data[e];
        for (let ch = 0; ch < C; ch++) {
          for (let ky = 0; ky < P; ky++) {
            for (let kx = 0; kx < P; kx++) s += kernel[((e * C + ch) * P + ky) * P + kx] * image[(ch * H + gy * P + ky) * W + gx * P + kx];
          }
        }
        x[(pre + gy * w + gx) * E + e] = s;
      }
    }
  }
  if (c.positionEmbedding) p('pos_embed').data.forEach((v, i) => (x[i] += v));
  const index = c.relativePositionBias ? relativePositionIndex(h, w) : null;

  const blocks: Float64Array[] = [];
  for (let i = 0; i < c.depth; i++) {
    const b = `blocks.${i}.`;
    const qkv = linear(layerNorm(x, T, p(`${b}norm1.weight`), p(`${b}norm1.bias`), c.eps), T, p(`${b}attn.qkv.weight`), t.get(`${b}attn.qkv.bias`));
    const o = new Float64Array(T * E);
    for (let hd = 0; hd < heads; hd++) {
      for (let q = 0; q < T; q++) {
        const scores = new Float64Array(T);
        for (let k = 0; k < T; k++) {
          let s = 0;
          for (let d = 0; d < dh; d++) s += qkv[q * 3 * E + hd * dh + d] * qkv[k * 3 * E + E + hd * dh + d];
          scores[k] = s * scale + (index ? p(`${b}attn.relative_position_bias_table`).data[index[q * T + k] * heads + hd] : 0);
        }
        const max = Math.max(...scores);
        const exp = scores.map((s) => Math.exp(s - max));
        const sum = exp.reduce((a, v) => a + v, 0);
        for (let d = 0; d < dh; d++) {
          let s = 0;
          for (let k = 0; k < T; k++) s += (exp[k] / sum) * qkv[k * 3 * E + 2 * E + hd * dh + d];
          o[q * E + hd * dh + d] = s;
        }
      }
    }
    const residual = (branch: Float64Array, gamma?: HostTensor) => {
      x = x.map((v, j) => v + (gamma ? gamma.data[j % E] : 1) * branch[j]);
    };
    residual(linear(o, T, p(`${b}attn.proj.weight`), p(`${b}attn.proj.bias`)), t.get(`${b}ls1.gamma`));
    const hidden = linear(layerNorm(x, T, p(`${b}norm2.weight`), p(`${b}norm2.bias`), c.eps), T, p(`${b}mlp.fc1.weight`), p(`${b}mlp.fc1.bias`)).map(geluRef);
    residual(linear(hidden, T, p(`${b}mlp.fc2.weight`), p(`${b}mlp.fc2.bias`)), t.get(`${b}ls2.gamma`));
    blocks.push(x.slice());
  }

  if (c.finalNorm === 'norm') x = layerNorm(x, T, p('norm.weight'), p('norm.bias'), c.eps);
  const head = c.head;
  if (head.kind === 'none') return { blocks, logits: new Float64Array(0) };
  if (head.kind === 'mlp') {
    return { blocks, logits: linear(linear(x.subarray(0, E), 1, p('head.fc1.weight'), p('head.fc1.bias')).map(geluRef), 1, p('head.fc2.weight'), p('head.fc2.bias')) };
  }
  let features: Float64Array = x.slice(0, E);
  if (head.pool === 'mean') {
    features = new Float64Array(E);
    for (let r = pre; r < T; r++) for (let e = 0; e < E; e++) features[e] += x[r * E + e] / (T - pre);
  }
  if (c.finalNorm === 'fc_norm') features = layerNorm(features, 1, p('fc_norm.weight'), p('fc_norm.bias'), c.eps);
  const logits = linear(features, 1, p('head.weight'), p('head.bias'));
  if (pre === 2) {
    const dist = linear(x.subarray(E, 2 * E), 1, p('head_dist.weight'), p('head_dist.bias'));
    return { blocks, logits: logits.map((v, k) => (v + dist[k]) / 2) };
  }
  return { blocks, logits };
}

describe('the canonical tensors compute what the original architectures computed (golden.json)', () => {
  // Both sides are f64 from the same f32 weights; only the summation order differs (≈ 1e-16 per
  // operation, a few hundred operations deep).
  const F64 = { atol: 1e-13, rtol: 1e-13 };
  for (const name of MODELS) {
    it(name, () => {
      const g = golden.models[name];
      const { config, tensors } = adaptFixture(name);
      expect(config.eps).toBe(g.config.eps);
      expect(config.attentionScale ?? (config.embedDim / config.heads) ** -0.5).toBeCloseTo(g.config.attention_scale, 15);
      const { blocks, logits } = forwardRef(config, tensors, g.input.data);
      expect(blocks.length).toBe(g.blocks.length);
      blocks.forEach((b, i) => expectClose(b, g.blocks[i].data, F64, 'checkpoint.forward-f64', `${name} block ${i}`));
      expectClose(logits, g.logits.data, F64, 'checkpoint.forward-f64', `${name} logits`);
    });
  }
});

describe('config: tensors, presets and model JSON', () => {
  it('fails without heads, saying to pass --preset or a model JSON', () => {
    expect(errorOf(() => adaptFixture('timm-vit', {}))).toContain(
      'timm-vit.safetensors (timm-vit): cannot describe the model:\n  heads: the weights do not tell it; pass --preset <name> or a model JSON with "heads"');
  });

  it("takes BEiT's heads from its relative position tables, and the library's epsilon", () => {
    expect(adaptFixture('timm-beit', {}).config).toEqual(TIMM_BEIT);
    expect(adaptFixture('hf-beit', {}).config.eps).toBe(1e-12);
    expect(adaptFixture('hf-vit', { config: { heads: 4 } }).config.eps).toBe(1e-12);
    expect(errorOf(() => adaptFixture('timm-beit', { config: { heads: 8 } }))).toContain(
      'heads: the model JSON says 8, the tensors say 4 (blocks.0.attn.relative_position_bias_table [52, 4])');
  });

  it('reads a checkpoint without a head (DINO) as head none', () => {
    const headless = edited(fixture('timm-vit'), (t) => {
      t.delete('head.weight');
      t.delete('head.bias');
    });
    const adapted = adaptCheckpoint(headless, { fileName: 'dino', config: { heads: 4 } });
    expect(adapted.config.head).toEqual({ kind: 'none' });
    expect([...adapted.tensors.keys()].filter((n) => n.startsWith('head'))).toEqual([]);
  });

  it("defaults vit-pytorch's attention scale to dim^-0.5 and its epsilon to 1e-5", () => {
    const { config } = adaptFixture('vit-pytorch', { config: { heads: 4 } });
    expect(config.attentionScale).toBeCloseTo(1 / Math.sqrt(32), 16);
    expect(config.eps).toBe(1e-5);
  });

  it('reports every field where a preset contradicts the tensors, with both values', () => {
    const message = errorOf(() => adaptFixture('timm-vit', { preset: 'vit_tiny_patch16_224' }));
    for (const line of [
      "embedDim: preset 'vit_tiny_patch16_224' says 192, the tensors say 32 (patch_embed.proj.weight [32, 3, 4, 4])",
      "depth: preset 'vit_tiny_patch16_224' says 12, the tensors say 2 (blocks.0 … blocks.1)",
      "mlpHidden: preset 'vit_tiny_patch16_224' says 768, the tensors say 128 (blocks.0.mlp.fc1.weight [128, 32])",
      "patchSize: preset 'vit_tiny_patch16_224' says 16, the tensors say 4 (patch_embed.proj.weight [32, 3, 4, 4])",
      `head: preset 'vit_tiny_patch16_224' says {"kind":"linear","classes":1000,"pool":"token"}, the tensors say {"kind":"linear","classes":5,"pool":"token"} (head.weight [5, 32])`,
    ]) expect(message).toContain(line);
    expect(errorOf(() => adaptFixture('timm-beit', { preset: 'dino_vits16' }))).toContain(
      "positionEmbedding: preset 'dino_vits16' says true, the tensors say false (no pos_embed)");
  });

  it('lets a model JSON override a preset, keeping the rest of the preset', () => {
    const overrides: Partial<VitConfig> = {
      embedDim: 32, depth: 2, heads: 4, mlpHidden: 128, patchSize: 4, imageSize: [16, 16], head: { kind: 'linear', classes: 5, pool: 'token' },
    };
    const { config } = adaptFixture('timm-vit', { preset: 'deit_tiny_patch16_224', config: overrides });
    expect(config).toEqual({ ...TIMM_VIT, normalization: PRESETS.deit_tiny_patch16_224.normalization });
  });

  it('accepts a stated image size that fits the position embedding, and refuses one that does not', () => {
    expect(adaptFixture('timm-vit', { config: { heads: 4, imageSize: [8, 32] } }).config.imageSize).toEqual([8, 32]);
    expect(errorOf(() => adaptFixture('timm-vit', { config: { heads: 4, imageSize: [16, 20] } }))).toContain(
      'imageSize: imageSize [16,20] from the model JSON needs 20 patch positions (patch 4), but pos_embed [1, 17, 32] holds 16');
    expect(errorOf(() => adaptFixture('timm-beit', { config: { imageSize: [8, 32] } }))).toContain(
      'needs relative position tables of 48 rows (patch 4), but blocks.0.attn.relative_position_bias_table [52, 4] has 52');
  });

  it('refuses unknown presets, unknown model JSON fields and a normalisation for the wrong channel count', () => {
    expect(errorOf(() => adaptFixture('timm-vit', { preset: 'vit_huge' }))).toContain("unknown preset 'vit_huge'; known presets: vit_tiny_patch16_224,");
    expect(errorOf(() => adaptFixture('timm-vit', { config: { heads: 4, numHeads: 4 } as Partial<VitConfig> }))).toContain(
      "the model JSON has unknown fields 'numHeads'");
    expect(errorOf(() => adaptFixture('vit-pytorch', { config: { heads: 4, normalization: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } } })))
      .toContain('normalization: the model JSON gives 3 means and 3 stds for 1 input channels');
    expect(errorOf(() => adaptFixture('timm-vit', { config: { heads: 5 } }))).toContain('embedDim 32 is not divisible by heads 5');
  });

  it('splits a vit-pytorch patch Linear by the stated patch size or channels', () => {
    expect(errorOf(() => adaptFixture('vit-pytorch', { config: { heads: 4, inChannels: 3 } }))).toContain(
      'patch_to_embedding.weight takes 16 values per patch (P·P·C), which does not fit inChannels 3');
    const { config } = adaptFixture('vit-pytorch', { config: { heads: 4, patchSize: 4 } });
    expect([config.patchSize, config.inChannels]).toEqual([4, 1]);
  });
});

describe('incomplete or malformed checkpoints: one error listing everything', () => {
  it('lists missing tensors, wrong shapes and unexpected names together', () => {
    const broken = edited(fixture('timm-vit'), (t) => {
      t.delete('blocks.1.norm2.bias');
      t.delete('head.bias');
      const fc2 = t.get('blocks.0.mlp.fc2.weight')!;
      t.set('blocks.0.mlp.fc2.weight', { ...fc2, shape: [32, 127], data: fc2.data.slice(0, 32 * 127) });
      t.set('extra.weight', { dtype: 'F32', shape: [3], data: new Float32Array(3) });
    });
    const message = errorOf(() => adaptCheckpoint(broken, { fileName: 'broken.safetensors', config: { heads: 4 } }));
    expect(message).toMatch(/^broken.safetensors \(timm-vit\): the tensors do not fit the model they describe \(embed 32, depth 2, 4 heads/);
    expect(message.split('\n').slice(1)).toEqual([
      '  wrong shape: blocks.0.mlp.fc2.weight is [32, 127], expected [32, 128]',
      '  missing: blocks.1.norm2.bias [32]',
      '  missing: head.bias [5]',
      '  unexpected: extra.weight [3]',
    ]);
  });

  it('reports source tensors no rule could place (a missing key bias, a malformed value weight)', () => {
    const broken = edited(fixture('hf-vit'), (t) => {
      t.delete('vit.encoder.layer.1.attention.attention.key.bias');
      const v = t.get('vit.encoder.layer.0.attention.attention.value.weight')!;
      t.set('vit.encoder.layer.0.attention.attention.value.weight', { ...v, shape: [32, 31], data: v.data.slice(0, 32 * 31) });
    });
    const lines = errorOf(() => adaptCheckpoint(broken, { fileName: 'hf', config: { heads: 4 } })).split('\n').slice(1);
    expect(lines).toEqual([
      '  missing: blocks.0.attn.qkv.weight [96, 32]',
      '  missing: blocks.1.attn.qkv.bias [96]',
      '  not part of the layout: vit.encoder.layer.0.attention.attention.key.weight [32, 32]',
      '  not part of the layout: vit.encoder.layer.0.attention.attention.query.weight [32, 32]',
      '  not part of the layout: vit.encoder.layer.0.attention.attention.value.weight [32, 31]',
      '  not part of the layout: vit.encoder.layer.1.attention.attention.query.bias [32]',
      '  not part of the layout: vit.encoder.layer.1.attention.attention.value.bias [32]',
    ]);
  });

  it('falls back on the settings when the patch embedding is missing, and still reports it', () => {
    const broken = edited(fixture('timm-vit'), (t) => t.delete('patch_embed.proj.weight'));
    expect(errorOf(() => adaptCheckpoint(broken, { fileName: 'x', config: { heads: 4 } }))).toContain(
      'patchSize: the weights do not tell it; pass --preset <name> or a model JSON with "patchSize"');
    expect(errorOf(() => adaptCheckpoint(broken, { fileName: 'x', config: { heads: 4, patchSize: 4, inChannels: 3 } }))).toContain(
      'missing: patch_embed.proj.weight [32, 3, 4, 4]');
  });

  it('refuses a shared and a per-block relative position table for the same block', () => {
    const both = edited(fixture('timm-beit'), (t) => t.set('rel_pos_bias.relative_position_bias_table', t.get('blocks.0.attn.relative_position_bias_table')!));
    expect(errorOf(() => adaptCheckpoint(both, { fileName: 'beit' }))).toContain(
      "both rel_pos_bias.relative_position_bias_table and blocks.0.attn.relative_position_bias_table map to 'blocks.0.attn.relative_position_bias_table'");
  });
});

describe('explicit format', () => {
  it('overrides detection: timm ViT names are also a BEiT without BEiT extras', () => {
    const asBeit = adaptFixture('timm-vit', { format: 'timm-beit', config: { heads: 4 } });
    expect(asBeit.format).toBe('timm-beit');
    expect([...asBeit.tensors.keys()]).toEqual([...adaptFixture('timm-vit').tensors.keys()]);
  });

  it('a wrong explicit format says which tensors are not part of that layout', () => {
    const message = errorOf(() => adaptFixture('timm-vit', { format: 'vit-pytorch', config: { heads: 4 } }));
    expect(message).toContain('timm-vit.safetensors (vit-pytorch): cannot describe the model:');
    expect(message).toContain('depth: the weights do not tell it');
    expect(message).toContain('not part of the vit-pytorch layout: blocks.N.attn.proj.bias, blocks.N.attn.proj.weight,');
    expect(errorOf(() => adaptFixture('timm-vit', { format: 'vit_pytorch' as CheckpointFormat }))).toContain(
      "unknown checkpoint format 'vit_pytorch'; known formats: timm-vit, timm-beit, hf-vit, hf-beit, vit-pytorch");
  });

  it('bare Hugging Face backbones (no prefix) adapt like the prefixed ones', () => {
    const file = fixture('hf-beit');
    const bare = { metadata: {}, tensors: new Map([...file.tensors].map(([n, t]) => [n.replace(/^beit\./, ''), t])) };
    const adapted = adaptCheckpoint(bare, { fileName: 'bare' });
    expect(adapted.format).toBe('hf-beit');
    expect([...adapted.tensors.keys()]).toEqual([...adaptFixture('hf-beit').tensors.keys()]);
  });
});

describe(`the real vit4mnist checkpoint (vit-pytorch layout)${SKIP_NOTE}`, () => {
  it.skipIf(!HAVE_DATA)('adapts with preset vit4mnist to exactly the preset, 74 canonical tensors', async () => {
    const adapted = await loadCheckpointFile(VIT4MNIST, { preset: 'vit4mnist' });
    expect(adapted.format).toBe('vit-pytorch');
    expect(adapted.config).toEqual(PRESETS.vit4mnist);
    // cls, pos, patch weight and bias; 11 per block (no qkv bias); the MLP head's 4.
    expect(adapted.tensors.size).toBe(4 + 6 * 11 + 4);
    expect(adapted.tensors.get('patch_embed.proj.weight')!.shape).toEqual([64, 1, 7, 7]);
    // Without the preset, the layout's defaults give the same model except the normalisation.
    const plain = await loadCheckpointFile(VIT4MNIST, { config: { heads: 8 } });
    expect(plain.config).toEqual({ ...PRESETS.vit4mnist, normalization: identity(1) });
  });

  it.skipIf(!HAVE_DATA)('classifies a drawn 1 and a drawn 0 (f64 forward of the canonical tensors)', async () => {
    const { config, tensors } = await loadCheckpointFile(VIT4MNIST, { preset: 'vit4mnist' });
    const { mean, std } = config.normalization;
    const draw = (inside: (y: number, x: number) => boolean) =>
      Array.from({ length: 28 * 28 }, (_, i) => ((inside(Math.floor(i / 28), i % 28) ? 1 : 0) - mean[0]) / std[0]);
    const one = draw((y, x) => y >= 5 && y <= 22 && x >= 13 && x <= 14);
    const zero = draw((y, x) => Math.abs(Math.hypot((y - 13.5) / 8, (x - 13.5) / 6) - 1) < 0.22);
    for (const [digit, image] of [[1, one], [0, zero]] as const) {
      const { logits } = forwardRef(config, tensors, image);
      expect(logits.indexOf(Math.max(...logits)), `drawn ${digit}`).toBe(digit);
    }
  });
});
