// The schema of our model files' __metadata__ (model-file.ts), and the check of the metadata
// against the tensors, both run before a model is built or anything allocated from the numbers:
// a file that says `depth: 1e9` or `segmenter: null` is refused with the file, the field and what
// was expected, never by a TypeError or a runaway allocation.
//
// A schema is a plain object of field specs; adding a field to the file format is one entry in
// the object below it (VIT_CONFIG, SEGMENTER_OPTIONS, PREPROCESSING or SEGMENTER_FILE). Unknown
// keys are ignored, so a file written by a newer version with extra optional fields still reads.

/** Checks one value; when it does not fit, pushes "<path> must be <what was expected>, got <value>" onto problems. */
type Spec = (value: unknown, path: string, problems: string[]) => void;

const shown = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
};

const demand = (ok: boolean, path: string, what: string, value: unknown, problems: string[]): void => {
  if (!ok) problems.push(`${path} must be ${what}, got ${value === undefined ? 'nothing (missing)' : shown(value)}`);
};

export const int = (min: number, max: number): Spec => (v, path, problems) =>
  demand(Number.isInteger(v) && (v as number) >= min && (v as number) <= max, path, `an integer in ${min}..${max}`, v, problems);

/** A finite number in (gt, max] or [min, max]. */
export const num = (range: { gt?: number; min?: number; max: number }): Spec => (v, path, problems) => {
  const x = v as number;
  const lowOk = range.gt !== undefined ? x > range.gt : x >= (range.min ?? -Infinity);
  const low = range.gt !== undefined ? `greater than ${range.gt}` : `at least ${range.min}`;
  demand(typeof v === 'number' && Number.isFinite(x) && lowOk && x <= range.max, path, `a finite number ${low} and at most ${range.max}`, v, problems);
};

export const bool: Spec = (v, path, problems) => demand(typeof v === 'boolean', path, 'true or false', v, problems);

export const str: Spec = (v, path, problems) => demand(typeof v === 'string', path, 'a string', v, problems);

export const oneOf = (...values: readonly unknown[]): Spec => (v, path, problems) =>
  demand(values.includes(v), path, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v, problems);

export const arrayOf = (item: Spec, min: number, max: number): Spec => (v, path, problems) => {
  if (!Array.isArray(v) || v.length < min || v.length > max) {
    demand(false, path, `an array of ${min}..${max} entries`, v, problems);
    return;
  }
  v.forEach((x, i) => item(x, `${path}[${i}]`, problems));
};

export const tuple = (...items: Spec[]): Spec => (v, path, problems) => {
  if (!Array.isArray(v) || v.length !== items.length) {
    demand(false, path, `an array of ${items.length} entries`, v, problems);
    return;
  }
  items.forEach((item, i) => item(v[i], `${path}[${i}]`, problems));
};

/** Any JSON object (free-form, e.g. provenance). */
export const anyObject: Spec = (v, path, problems) =>
  demand(typeof v === 'object' && v !== null && !Array.isArray(v), path, 'an object', v, problems);

/** Marks a field that may be absent (but not null). */
export const optional = (spec: Spec): Spec => Object.assign((v: unknown, path: string, problems: string[]) => spec(v, path, problems), { optional: true });

/** Whether a field may be absent. */
export const isOptional = (spec: Spec): boolean => (spec as { optional?: boolean }).optional === true;

/** An object from whole-number keys (label values) to values that fit `item`. */
export const byLabel = (item: Spec): Spec => (v, path, problems) => {
  anyObject(v, path, problems);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return;
  for (const [key, x] of Object.entries(v)) {
    demand(/^\d+$/.test(key), `${path} key ${JSON.stringify(key)}`, 'a label value (a whole number)', key, problems);
    item(x, `${path}.${key}`, problems);
  }
};

export const object = (fields: Record<string, Spec>): Spec => (v, path, problems) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    demand(false, path, 'an object', v, problems);
    return;
  }
  const o = v as Record<string, unknown>;
  for (const [key, spec] of Object.entries(fields)) {
    if (o[key] === undefined && isOptional(spec)) continue;
    spec(o[key], `${path}.${key}`, problems);
  }
};

/** An object whose `kind` picks one of several schemas. */
export const byKind = (kinds: Record<string, Record<string, Spec>>): Spec => (v, path, problems) => {
  const kind = (v as { kind?: unknown } | null)?.kind;
  if (typeof v !== 'object' || v === null || typeof kind !== 'string' || !Object.hasOwn(kinds, kind)) {
    demand(false, path, `an object with kind ${Object.keys(kinds).map((k) => JSON.stringify(k)).join(' or ')}`, v, problems);
    return;
  }
  object(kinds[kind])(v, path, problems);
};

// Upper bounds: far beyond any real ViT (ViT-G: width 1664, depth 48, MLP 8192), low enough that
// nothing sized by them can exhaust memory before the tensors are compared with them.
const DIM = 1 << 16;
const CLASSES = 1 << 16;

/** VitConfig (config.ts). */
export const VIT_CONFIG: Record<string, Spec> = {
  embedDim: int(1, DIM),
  depth: int(1, 1024),
  heads: int(1, DIM),
  mlpHidden: int(1, 1 << 18),
  patchSize: int(1, 1024),
  imageSize: tuple(int(1, DIM), int(1, DIM)),
  inChannels: int(1, 1024),
  depthSlices: int(1, 1024),
  eps: num({ gt: 0, max: 1 }),
  qkvBias: bool,
  layerScale: bool,
  positionEmbedding: bool,
  relativePositionBias: bool,
  prefixTokens: oneOf(1, 2),
  attentionScale: optional(num({ gt: 0, max: 1e6 })),
  finalNorm: oneOf('norm', 'fc_norm', 'none'),
  head: byKind({
    none: {},
    linear: { classes: int(1, 1 << 20), pool: oneOf('token', 'mean') },
    mlp: { hidden: int(1, 1 << 18), classes: int(1, 1 << 20) },
  }),
  normalization: object({ mean: arrayOf(num({ min: -1e6, max: 1e6 }), 1, 1024), std: arrayOf(num({ gt: 0, max: 1e6 }), 1, 1024) }),
};

/** SegmenterOptions (segmenter.ts). */
export const SEGMENTER_OPTIONS: Record<string, Spec> = {
  classes: int(1, CLASSES),
  decoder: optional(oneOf('upernet', 'setr-pup', 'convtrans')),
  channels: optional(int(1, DIM)),
  featureIndices: optional(arrayOf(int(0, 1023), 1, 4)),
  dropout: optional(num({ min: 0, max: 0.999 })),
  pixelSkip: optional(int(0, DIM)),
};

/** Preprocessing (model-file.ts). */
export const PREPROCESSING: Record<string, Spec> = {
  intensity: byKind({
    clip: { aMin: num({ min: -1e30, max: 1e30 }), aMax: num({ min: -1e30, max: 1e30 }) },
    zscore: {},
    none: {},
  }),
  cropForeground: optional(int(0, DIM)),
  remap: optional(byLabel(int(0, CLASSES))),
  intensityReference: optional(object({
    p1: arrayOf(num({ min: -1e30, max: 1e30 }), 1, 1024),
    median: arrayOf(num({ min: -1e30, max: 1e30 }), 1, 1024),
    p99: arrayOf(num({ min: -1e30, max: 1e30 }), 1, 1024),
  })),
};

/** Test-time flips and post-processing (Inference in model-file.ts; src/infer/postprocess.ts). */
export const INFERENCE: Record<string, Spec> = {
  flips: optional(bool),
  postprocess: optional(object({
    largestComponent: optional(oneOf('classes', 'foreground')),
    minIslandVoxels: optional(int(1, 2 ** 31 - 1)),
    maskForeground: optional(bool),
    maskNonzero: optional(bool), // the name before session 6: readModelFileHeader reads it as maskForeground
    connectivity: optional(oneOf(6, 18, 26)),
  })),
};

const names = (max: number): Spec => arrayOf(str, 1, max);

/** The fields of an encoder file besides `kind`, each stored as JSON. */
export const ENCODER_FILE: Record<string, Spec> = {
  encoder: object(VIT_CONFIG),
  provenance: anyObject,
};

/** The fields of a segmenter file besides `kind`, each stored as JSON. Add new ones here. */
export const SEGMENTER_FILE: Record<string, Spec> = {
  encoder: object(VIT_CONFIG),
  segmenter: object(SEGMENTER_OPTIONS),
  labels: names(CLASSES),
  modalities: names(1024),
  preprocessing: object(PREPROCESSING),
  inference: optional(object(INFERENCE)),
  validationCases: optional(arrayOf(str, 0, 1 << 20)),
  provenance: anyObject,
};

/** Checks `value` against `spec`; throws one error listing every problem, each with its path. */
export function checkSchema(value: unknown, spec: Spec, path: string, fileName: string): void {
  const problems: string[] = [];
  spec(value, path, problems);
  if (problems.length) throw new Error(`${fileName}: ${problems.join('; ')}`);
}

/** What the check needs of each tensor: its shape. */
export type TensorShapes = ReadonlyMap<string, { readonly shape: readonly number[] }>;

/** The fields the check reads (VitConfig, SegmenterOptions), already through the schema. */
interface CheckedConfig {
  embedDim: number; depth: number; heads: number; mlpHidden: number; patchSize: number; imageSize: [number, number];
  inChannels: number; depthSlices: number; prefixTokens: number; positionEmbedding: boolean; relativePositionBias: boolean;
}

/**
 * Compares the numbers that size the model with the tensors that must carry them, so a header
 * that contradicts its weights is refused before the model is built: the patch embedding
 * [embedDim, inChannels, depthSlices, patchSize, patchSize], one MLP [mlpHidden, embedDim] per
 * block and no block past `depth`, the position embedding [1, prefixTokens + grid, embedDim]
 * (imageSize), BEiT's relative-position table [rows, heads], the decoder's last layer
 * (classes, channels) and the pixel skip's first and last (pixelSkip). `heads` of a model without
 * that table and `eps` leave no trace in the shapes; the schema bounds them. Everything else is
 * compared by loadWeights after building.
 */
export function checkAgainstTensors(
  c: CheckedConfig, segmenter: { classes: number; decoder?: string; channels?: number; pixelSkip?: number } | null, tensors: TensorShapes, fileName: string,
): void {
  const problems: string[] = [];
  /** `expected` with null where a dimension is not checked. */
  const want = (name: string, expected: (number | null)[], fields: string): boolean => {
    const t = tensors.get(name);
    if (!t) {
      problems.push(`tensor ${name} is missing (it carries ${fields})`);
      return false;
    }
    if (t.shape.length !== expected.length || expected.some((d, i) => d !== null && d !== t.shape[i])) {
      const shape = `[${expected.map((d) => d ?? '*').join(', ')}]`;
      problems.push(`${fields} in the metadata give ${name} the shape ${shape}, the file has [${t.shape.join(', ')}]`);
      return false;
    }
    return true;
  };
  const p = segmenter ? 'encoder.' : '';
  const E = c.embedDim;
  want(`${p}patch_embed.proj.weight`, [E, c.inChannels, c.depthSlices, c.patchSize, c.patchSize], 'embedDim, inChannels, depthSlices, patchSize');
  for (let i = 0; i < c.depth; i++) {
    if (!want(`${p}blocks.${i}.mlp.fc1.weight`, [c.mlpHidden, E], `depth ${c.depth}, mlpHidden, embedDim`)) break;
  }
  if (tensors.has(`${p}blocks.${c.depth}.mlp.fc1.weight`)) problems.push(`depth is ${c.depth}, but the file holds block ${c.depth} too`);
  const [gh, gw] = [c.imageSize[0] / c.patchSize, c.imageSize[1] / c.patchSize];
  if (c.positionEmbedding) want(`${p}pos_embed`, [1, c.prefixTokens + gh * gw, E], 'imageSize, patchSize, prefixTokens, embedDim');
  if (c.relativePositionBias) {
    want(`${p}blocks.0.attn.relative_position_bias_table`, [(2 * gh - 1) * (2 * gw - 1) + 3, c.heads], 'imageSize, patchSize, heads');
  }
  if (segmenter) {
    const { classes, decoder = 'upernet', channels = E } = segmenter;
    if (decoder === 'upernet') want('decoder.conv_seg.weight', [classes, channels, 1, 1], 'segmenter.classes, segmenter.channels');
    else if (decoder === 'setr-pup') want('decoder.decoder4.weight', [classes, channels, 1, 1], 'segmenter.classes, segmenter.channels');
    else want('decoder.decoder4.weight', [channels, classes, null, null], 'segmenter.classes, segmenter.channels');
    const skip = segmenter.pixelSkip ?? 0;
    if (skip > 0) {
      want('pixel_skip.input.0.conv.weight', [skip, c.inChannels * c.depthSlices, 3, 3], 'segmenter.pixelSkip, inChannels, depthSlices');
      want('pixel_skip.classifier.weight', [classes, skip, 1, 1], 'segmenter.classes, segmenter.pixelSkip');
    } else if (tensors.has('pixel_skip.classifier.weight')) {
      problems.push('the file holds a pixel_skip branch, but segmenter.pixelSkip is not set');
    }
  }
  if (problems.length) throw new Error(`${fileName}: the metadata does not fit the tensors: ${problems.join('; ')}`);
}
