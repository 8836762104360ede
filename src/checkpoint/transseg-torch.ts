// The authors' PyTorch layout (yuhui-zh15/TransSeg: model.py SegmentationModel = BEiT3D encoder +
// mmseg UPerHead, SETR-PUP or ConvTrans head), both ways: a state_dict trained there (converted
// from the Lightning .ckpt to safetensors) becomes one of our segmenters, and ours becomes a
// state_dict that SegmentationModel loads with strict=True.
//
// The names differ from ours in the encoder only: BEiT3D keeps `gamma_1/2` (our ls1/ls2.gamma),
// `attn.q_bias` + `attn.v_bias` (our one qkv.bias with a zero k third; a k bias adds the same value
// to every logit of a softmax row, so dropping it changes nothing) and an int64
// `relative_position_index` buffer per block; its BatchNorms keep `num_batches_tracked`. The
// decoders' names are already TransSeg's (see src/model/decoders/). Everything else is read off
// the shapes; the labels, modalities and preprocessing, which the state_dict cannot tell, travel
// in __metadata__.transseg_webgpu when we wrote the file, and take defaults otherwise. mmseg's
// names for the same model (BEiT's segmentation code: backbone / decode_head / auxiliary_head) and
// a DDP `module.` prefix are read too.

import { INTENSITY_PRESETS } from '../data/intensity.js';
import type { SafetensorsFile, TensorToWrite } from '../io/safetensors.js';
import { relativePositionIndex } from '../model/relative-position-index.js';
import { validateConfig, type VitConfig } from '../model/config.js';
import { UPERNET_FEATURE_INDICES } from '../model/decoders/upernet.js';
import type { SegmenterFileHeader } from '../model/model-file.js';
import type { DecoderKind, SegmenterOptions } from '../model/segmenter.js';
import { qkvBiasWithZeroKey } from './beit.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { blockIndices, Renamer, shapeText, type MappingEntry } from './mapping.js';

export const TRANSSEG_TORCH_FORMAT = 'transseg-torch';

/** model.py's names for our decoder kinds (its `--decoder`). */
const AUTHORS_DECODER: Record<DecoderKind, string> = { upernet: 'upernet', 'setr-pup': 'setrpup', convtrans: 'convtrans' };
/** BEiT3D's LayerNorm epsilon (partial(nn.LayerNorm, eps=1e-6)). */
const BEIT3D_EPS = 1e-6;
/** The patch size the authors' decoders fit: they upsample by fixed factors (UPerHead ×4 from the 4× level). */
const AUTHORS_PATCH = 16;

/** Our fields the state_dict cannot hold, in __metadata__.transseg_webgpu. */
type Extras = Pick<SegmenterFileHeader, 'labels' | 'modalities' | 'preprocessing' | 'validationCases' | 'provenance'>;

/**
 * A file name in model.py's terms, or null for a tensor inference does not use. Also accepted: a
 * DDP `module.` wrapper, and mmseg's names as BEiT's segmentation code has them (`backbone.*` with
 * the fpn1–4 necks inside it, `decode_head.*`, and an `auxiliary_head.*` that only adds a training
 * loss).
 */
function authorsName(name: string): string | null {
  const n = name.replace(/^module\./, '');
  if (n.startsWith('auxiliary_head.')) return null;
  const neck = /^backbone\.(fpn[1-4]\..*)$/.exec(n);
  if (neck) return `decoder.${neck[1]}`;
  return n.replace(/^backbone\./, 'encoder.').replace(/^decode_head\./, 'decoder.');
}

/** A state_dict of the authors' SegmentationModel: BEiT3D's gamma_1 or q_bias, and a decoder. */
export function isTranssegTorchLayout(names: Iterable<string>): boolean {
  const list = [...names].map(authorsName).filter((n): n is string => n !== null);
  return list.some((n) => /^encoder\.blocks\.\d+\.(gamma_1|attn\.q_bias)$/.test(n)) && list.some((n) => n.startsWith('decoder.'));
}

export interface ImportedSegmenter {
  header: SegmenterFileHeader;
  /** Our names (src/model/segmenter.ts). */
  tensors: Map<string, HostTensor>;
  mapping: MappingEntry[];
}

function metadataJson<T>(metadata: Record<string, string>, key: string, where: string): T | undefined {
  if (metadata[key] === undefined) return undefined;
  try {
    return JSON.parse(metadata[key]) as T;
  } catch {
    throw new Error(`${where}: __metadata__.${key} is not valid JSON`);
  }
}

/** The token grid h×w of (h·w + 1)² index entries and a table of (2h − 1)(2w − 1) + 3 rows. */
function tokenGrid(tokens: number, rows: number): [number, number] | undefined {
  for (let h = 1; h <= tokens; h++) {
    const w = tokens / h;
    if (Number.isInteger(w) && (2 * h - 1) * (2 * w - 1) + 3 === rows) return [h, w];
  }
  return undefined;
}

function decoderOptions(tensors: Map<string, HostTensor>, depth: number, where: string): SegmenterOptions {
  const shape = (name: string) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`${where}: no tensor '${name}'`);
    return t.shape;
  };
  if (tensors.has('decoder.fpn_bottleneck.conv.weight')) {
    if (depth <= Math.max(...UPERNET_FEATURE_INDICES)) {
      throw new Error(`${where}: model.py's UPerHead reads blocks [${UPERNET_FEATURE_INDICES.join(', ')}], but the encoder has ${depth} blocks`);
    }
    const [classes, channels] = shape('decoder.conv_seg.weight');
    return { classes, decoder: 'upernet', channels, featureIndices: [...UPERNET_FEATURE_INDICES] };
  }
  if (tensors.has('decoder.decoder0.weight')) {
    return { classes: shape('decoder.decoder4.weight')[0], decoder: 'setr-pup', channels: shape('decoder.decoder0.weight')[0], featureIndices: [depth - 1] };
  }
  if (tensors.has('decoder.decoder1.weight')) {
    return { classes: shape('decoder.decoder4.weight')[1], decoder: 'convtrans', channels: shape('decoder.decoder1.weight')[1], featureIndices: [depth - 1] };
  }
  throw new Error(`${where}: no decoder I know (UPerHead's decoder.fpn_bottleneck, SETR-PUP's decoder.decoder0, ConvTrans's decoder.decoder1)`);
}

/** The authors' state_dict (safetensors) → our segmenter header and tensors. Errors name `fileName`. */
export function importTranssegTorch(file: SafetensorsFile, fileName: string): ImportedSegmenter {
  const where = `${fileName} (TransSeg PyTorch layout)`;
  const r = new Renamer(file.tensors, where);
  const blocks = blockIndices(r.names.map((n) => authorsName(n) ?? ''), /^encoder\.blocks\.(\d+)\./);
  const indexNames: string[] = [];
  // The file's name of each of model.py's names.
  const fromFile = new Map<string, string>();
  for (const name of r.names) {
    const target = authorsName(name);
    if (target === null) {
      r.drop(name, "mmseg's auxiliary head: a training loss only");
      continue;
    }
    fromFile.set(target, name);
    const gamma = /^(encoder\.blocks\.\d+)\.gamma_([12])$/.exec(target);
    if (gamma) r.rename(name, `${gamma[1]}.ls${gamma[2]}.gamma`);
    else if (target.endsWith('.relative_position_index')) {
      indexNames.push(name);
      r.drop(name, 'rebuilt by the model (checked to be the same)');
    } else if (target.endsWith('.num_batches_tracked')) r.drop(name, "BatchNorm's batch counter (used only with momentum=None)");
    else if (target === 'encoder.patch_embed.proj.weight' && r.get(name)!.shape.length === 4) {
      // A 2-D BEiT (mmseg): its Conv2d kernel is a Conv3d one of depth 1.
      const [e, c, p, q] = r.get(name)!.shape;
      r.rename(name, target, 'Conv2d kernel [E, C, P, P] → Conv3d [E, C, 1, P, P]', (t) => ({ shape: [e, c, 1, p, q], data: t.data }));
    } else if (target !== name && !/\.attn\.[qv]_bias$/.test(target)) r.rename(name, target);
  }
  for (const i of blocks) {
    const b = `encoder.blocks.${i}.attn`;
    qkvBiasWithZeroKey(r, fromFile.get(`${b}.q_bias`), fromFile.get(`${b}.v_bias`), `${b}.qkv.bias`);
  }
  // Every other name is already ours; names that are not are reported by the strict weight loader.
  r.keepRest();
  const { tensors, mapping } = r.finish();

  const patch = tensors.get('encoder.patch_embed.proj.weight');
  if (patch?.shape.length !== 5 || patch.shape[3] !== patch.shape[4]) {
    throw new Error(`${where}: expected encoder.patch_embed.proj.weight [E, C, D, P, P] (a Conv3d), got ${patch ? shapeText(patch.shape) : 'none'}`);
  }
  const [E, C, D, P] = patch.shape;
  const table = tensors.get('encoder.blocks.0.attn.relative_position_bias_table');
  const index = indexNames.length > 0 ? file.tensors.get(indexNames[0]) : undefined;
  const hyper = metadataJson<{ num_heads?: number; img_size?: number[] }>(file.metadata, 'hyper_parameters', where);
  let grid: [number, number] | undefined;
  if (table && index) {
    grid = tokenGrid(index.shape[0] - 1, table.shape[0]);
    if (!grid) throw new Error(`${where}: ${indexNames[0]} ${shapeText(index.shape)} and a table of ${table.shape[0]} rows fit no token grid`);
  } else if (hyper?.img_size) {
    grid = [hyper.img_size[0] / P, hyper.img_size[1] / P];
  }
  const heads = table?.shape[1] ?? hyper?.num_heads;
  if (grid === undefined || heads === undefined) {
    throw new Error(`${where}: cannot tell the ${grid === undefined ? 'token grid' : 'number of heads'}: the relative position tables and ` +
      'indices are missing and __metadata__.hyper_parameters (the Lightning hyper_parameters) does not give img_size and num_heads');
  }
  const [h, w] = grid;
  const config: VitConfig = validateConfig({
    embedDim: E, depth: blocks.length, heads, mlpHidden: tensors.get('encoder.blocks.0.mlp.fc1.weight')?.shape[0] ?? 0,
    patchSize: P, imageSize: [h * P, w * P], inChannels: C, depthSlices: D, eps: BEIT3D_EPS,
    qkvBias: tensors.has('encoder.blocks.0.attn.qkv.bias'), layerScale: tensors.has('encoder.blocks.0.ls1.gamma'),
    positionEmbedding: tensors.has('encoder.pos_embed'), relativePositionBias: table !== undefined, prefixTokens: 1,
    finalNorm: 'none', head: { kind: 'none' }, normalization: { mean: new Array(C).fill(0), std: new Array(C).fill(1) },
  }, where);
  const expected = relativePositionIndex(h, w);
  for (const name of indexNames) {
    const found = file.tensors.get(name)!.data;
    if (found.length !== expected.length || found.some((v, i) => v !== expected[i])) {
      throw new Error(`${where}: ${name} is not BEiT's relative position index for a ${h}×${w} token grid`);
    }
  }

  const segmenter = decoderOptions(tensors, config.depth, where);
  const extras = metadataJson<Partial<Extras>>(file.metadata, 'transseg_webgpu', where) ?? {};
  const header: SegmenterFileHeader = {
    kind: 'segmenter',
    encoder: config,
    segmenter,
    labels: extras.labels ?? Array.from({ length: segmenter.classes }, (_, k) => (k === 0 ? 'background' : `class ${k}`)),
    modalities: extras.modalities ?? Array.from({ length: C }, (_, k) => `channel ${k}`),
    // TransSeg's default --clip_range (-175, 250), scaled to [0, 1].
    preprocessing: extras.preprocessing ?? { intensity: INTENSITY_PRESETS.ct },
    ...(extras.validationCases ? { validationCases: extras.validationCases } : {}),
    provenance: extras.provenance ?? { source: fileName, sourceFormat: TRANSSEG_TORCH_FORMAT, ...(hyper ? { hyperParameters: hyper } : {}) },
  };
  return { header, tensors, mapping };
}

/** Why the authors' SegmentationModel cannot hold a model of `header`, one reason a line. */
function exportProblems(header: SegmenterFileHeader): string[] {
  const c = header.encoder;
  const s = header.segmenter;
  const decoder = s.decoder ?? 'upernet';
  const channels = s.channels ?? c.embedDim;
  const features = decoder === 'upernet' ? [...UPERNET_FEATURE_INDICES] : [c.depth - 1];
  const actual = s.featureIndices ?? features;
  return [
    c.positionEmbedding && 'an absolute position embedding (model.py builds BEiT3D with use_abs_pos_emb=False)',
    c.prefixTokens !== 1 && 'a distillation token (BEiT3D has the CLS token only)',
    c.eps !== BEIT3D_EPS && `LayerNorm eps ${c.eps} (BEiT3D: ${BEIT3D_EPS})`,
    c.attentionScale !== undefined && Math.abs(c.attentionScale * Math.sqrt(c.embedDim / c.heads) - 1) > 1e-9 &&
      `attention scale ${c.attentionScale} (BEiT3D: head_dim^-0.5)`,
    c.mlpHidden % c.embedDim !== 0 && `MLP width ${c.mlpHidden}, not a multiple of ${c.embedDim} (model.py: mlp_ratio = mlp_dim // hidden_size)`,
    c.patchSize !== AUTHORS_PATCH && `patch ${c.patchSize} (the authors' decoders upsample by fixed factors made for patch ${AUTHORS_PATCH})`,
    decoder !== 'convtrans' && c.imageSize[0] !== c.imageSize[1] && `a ${c.imageSize.join('×')} input (the authors' ${decoder} resizes to a square)`,
    channels !== c.embedDim && `decoder width ${channels} ≠ embedding width ${c.embedDim} (model.py builds its decoders with channels = hidden_size)`,
    actual.join() !== features.join() && `feature blocks [${actual.join(', ')}] (model.py's ${decoder} reads [${features.join(', ')}])`,
    (s.pixelSkip ?? 0) > 0 && `a pixel skip of width ${s.pixelSkip} (model.py's decoders read the encoder only)`,
  ].filter((p): p is string => typeof p === 'string');
}

/** The Lightning hyper_parameters that rebuild the model: SegmentationModel(**hyper_parameters). */
function hyperParameters(header: SegmenterFileHeader): Record<string, unknown> {
  const c = header.encoder;
  const settings = (header.provenance.settings ?? {}) as Record<string, unknown>;
  return {
    force_2d: false,
    use_pretrained: false, // the weights come from this file, not from the BEiT .pth
    bootstrap_method: header.provenance.method ?? 'centering',
    in_channels: c.inChannels,
    out_channels: header.segmenter.classes,
    patch_size: c.patchSize,
    img_size: [c.imageSize[0], c.imageSize[1], c.depthSlices],
    hidden_size: c.embedDim,
    mlp_dim: c.mlpHidden,
    num_heads: c.heads,
    num_layers: c.depth,
    encoder: 'beit',
    decoder: AUTHORS_DECODER[header.segmenter.decoder ?? 'upernet'],
    loss_type: settings.loss ?? 'dicefocal',
    learning_rate: settings.lr ?? 3e-5,
    weight_decay: settings.weightDecay ?? 0.05,
    warmup_steps: settings.warmup ?? 20,
    max_steps: settings.steps ?? 25000,
  };
}

const int64 = (values: ArrayLike<number>): BigInt64Array => BigInt64Array.from(Array.from(values, (v) => BigInt(v)));

/**
 * Our segmenter (header + weights under our names) → the authors' state_dict and the
 * __metadata__ to write with it (hyper_parameters, and our extras for the way back). Throws one
 * error listing everything the authors' model cannot hold.
 */
export function exportTranssegTorch(header: SegmenterFileHeader, weights: ReadonlyMap<string, HostTensor>, where: string): {
  tensors: [string, TensorToWrite][];
  metadata: Record<string, string>;
} {
  const problems = exportProblems(header);
  if (problems.length > 0) throw new Error(`${where}: the authors' SegmentationModel (BEiT3D) cannot hold this model:\n  ${problems.join('\n  ')}`);
  const c = header.encoder;
  const E = c.embedDim;
  const out: [string, TensorToWrite][] = [];
  for (const [name, t] of weights) {
    const block = /^(encoder\.blocks\.\d+)\.(ls[12]\.gamma|attn\.qkv\.bias)$/.exec(name);
    if (!block) out.push([name, t]);
    else if (block[2] === 'attn.qkv.bias') {
      out.push([`${block[1]}.attn.q_bias`, { shape: [E], data: t.data.slice(0, E) }]);
      out.push([`${block[1]}.attn.v_bias`, { shape: [E], data: t.data.slice(2 * E, 3 * E) }]);
    } else out.push([`${block[1]}.gamma_${block[2][2]}`, t]);
  }
  // BEiT3D always has layer scale, q/v biases and relative position tables: the neutral values
  // (1, 0, 0) stand in exactly for the ones this model does not have.
  const [h, w] = [c.imageSize[0] / c.patchSize, c.imageSize[1] / c.patchSize];
  const rows = (2 * h - 1) * (2 * w - 1) + 3;
  const index = int64(relativePositionIndex(h, w));
  for (let i = 0; i < c.depth; i++) {
    const b = `encoder.blocks.${i}`;
    if (!c.layerScale) out.push([`${b}.gamma_1`, { shape: [E], data: new Float32Array(E).fill(1) }], [`${b}.gamma_2`, { shape: [E], data: new Float32Array(E).fill(1) }]);
    if (!c.qkvBias) out.push([`${b}.attn.q_bias`, { shape: [E], data: new Float32Array(E) }], [`${b}.attn.v_bias`, { shape: [E], data: new Float32Array(E) }]);
    if (!c.relativePositionBias) out.push([`${b}.attn.relative_position_bias_table`, { shape: [rows, c.heads], data: new Float32Array(rows * c.heads) }]);
    out.push([`${b}.attn.relative_position_index`, { shape: [h * w + 1, h * w + 1], data: index }]);
  }
  // BatchNorm's counter: the training micro-batches this model saw (the step × accumulation).
  const settings = (header.provenance.settings ?? {}) as { accumulate?: number };
  const batches = Number(header.provenance.step ?? 0) * (settings.accumulate ?? 1);
  for (const name of weights.keys()) {
    if (name.endsWith('.running_mean')) out.push([name.replace(/running_mean$/, 'num_batches_tracked'), { shape: [], data: int64([batches]) }]);
  }
  const extras: Extras = {
    labels: header.labels, modalities: header.modalities, preprocessing: header.preprocessing,
    ...(header.validationCases ? { validationCases: header.validationCases } : {}), provenance: header.provenance,
  };
  return { tensors: out, metadata: { format: 'pt', hyper_parameters: JSON.stringify(hyperParameters(header)), transseg_webgpu: JSON.stringify(extras) } };
}
