// The model-file cases of issue 12: metadata checked against the schema and against the tensors
// before a model is built, each refusal naming the file and the field, and no GPU buffer made.
import { describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors, type SafetensorsFile } from '../src/io/safetensors.js';
import type { VitConfig } from '../src/model/config.js';
import { readWeights } from '../src/model/load-weights.js';
import { readModelFileHeader, type SegmenterFileHeader } from '../src/model/model-file.js';
import { checkAgainstTensors } from '../src/model/model-file-schema.js';
import { segmenterFileContents, segmenterFromFile } from '../src/checkpoint/segmenter-file.js';
import { Segmenter } from '../src/model/segmenter.js';
import { testGpu } from './helpers/gpu.js';

const TINY: VitConfig = {
  embedDim: 16, depth: 1, heads: 2, mlpHidden: 32, patchSize: 4, imageSize: [8, 8], inChannels: 1, depthSlices: 3,
  eps: 1e-6, qkvBias: true, layerScale: false, positionEmbedding: true, relativePositionBias: false, prefixTokens: 1,
  finalNorm: 'none', head: { kind: 'none' }, normalization: { mean: [0], std: [1] },
};
const HEADER: SegmenterFileHeader = {
  kind: 'segmenter', encoder: TINY, segmenter: { classes: 3, decoder: 'convtrans', channels: 4 },
  labels: ['background', 'organ', 'tumour'], modalities: ['CT'], preprocessing: { intensity: { kind: 'none' } }, provenance: {},
};

/** A file written by the library, read back. */
async function modelFile(header = HEADER): Promise<SafetensorsFile> {
  const gpu = await testGpu();
  const model = new Segmenter(gpu, 3, header.encoder, header.segmenter);
  const weights = await readWeights(model);
  model.dispose();
  const { tensors, metadata } = segmenterFileContents(header, weights);
  return parseSafetensors(serializeSafetensors(tensors, metadata), 'm.safetensors');
}

/** The file with one metadata field replaced (JSON text, or undefined to delete it). */
function withField(file: SafetensorsFile, key: string, edit: (value: Record<string, unknown>) => unknown): SafetensorsFile {
  const value = edit(JSON.parse(file.metadata[key]) as Record<string, unknown>);
  const metadata = { ...file.metadata };
  if (value === undefined) delete metadata[key];
  else metadata[key] = JSON.stringify(value);
  return { ...file, metadata };
}

describe('model files: metadata checked before anything is built', async () => {
  const file = await modelFile();
  const gpu = await testGpu();
  const set = (o: Record<string, unknown>, k: string, v: unknown) => ({ ...o, [k]: v });

  const cases: [string, SafetensorsFile, string][] = [
    ['segmenter: null', withField(file, 'segmenter', () => null), '__metadata__.segmenter must be an object, got null'],
    ['encoder: null', withField(file, 'encoder', () => null), '__metadata__.encoder must be an object, got null'],
    ['no encoder key', withField(file, 'encoder', () => undefined), "__metadata__ has no 'encoder'"],
    ['a missing imageSize', withField(file, 'encoder', (e) => set(e, 'imageSize', undefined)),
      '__metadata__.encoder.imageSize must be an array of 2 entries, got nothing (missing)'],
    ['a negative imageSize', withField(file, 'encoder', (e) => set(e, 'imageSize', [-8, 8])),
      '__metadata__.encoder.imageSize[0] must be an integer in 1..65536, got -8'],
    ['encoder.depth = 1e9', withField(file, 'encoder', (e) => set(e, 'depth', 1e9)),
      '__metadata__.encoder.depth must be an integer in 1..1024, got 1000000000'],
    ['a huge mlpHidden', withField(file, 'encoder', (e) => set(e, 'mlpHidden', 2 ** 40)),
      '__metadata__.encoder.mlpHidden must be an integer in 1..262144, got 1099511627776'],
    ['a huge segmenter.channels', withField(file, 'segmenter', (s) => set(s, 'channels', 1e12)),
      '__metadata__.segmenter.channels must be an integer in 1..65536, got 1000000000000'],
    ['eps of 0, and several problems at once', withField(file, 'encoder', (e) => ({ ...e, eps: 0, qkvBias: 'yes' })),
      '__metadata__.encoder.eps must be a finite number greater than 0 and at most 1, got 0; __metadata__.encoder.qkvBias must be true or false, got "yes"'],
    ['an unknown head kind', withField(file, 'encoder', (e) => set(e, 'head', { kind: 'big' })),
      '__metadata__.encoder.head must be an object with kind "none" or "linear" or "mlp", got {"kind":"big"}'],
    ['a remap with a key that is not a label value', withField(file, 'preprocessing', (p) => set(p, 'remap', { x: 1 })),
      '__metadata__.preprocessing.remap key "x" must be a label value (a whole number), got "x"'],
    ['an intensity reference with a value per channel missing', withField(file, 'preprocessing', (p) => set(p, 'intensityReference', { p1: [-2], median: [0, 1], p99: [2] })),
      '__metadata__.preprocessing.intensityReference.median must hold one value per input channel (1), it holds 2'],
    ['an intensity reference out of order', withField(file, 'preprocessing', (p) => set(p, 'intensityReference', { p1: [2], median: [0], p99: [3] })),
      '__metadata__.preprocessing.intensityReference: channel 0 must have p1 ≤ median ≤ p99, got 2, 0, 3'],
    ['an intensity reference that is not numbers', withField(file, 'preprocessing', (p) => set(p, 'intensityReference', { p1: ['a'], median: [0], p99: [3] })),
      '__metadata__.preprocessing.intensityReference.p1[0] must be a finite number'],
    ['labels that are not strings', withField(file, 'labels', () => [1, 2, 3]), '__metadata__.labels[0] must be a string, got 1'],
    ['labels that miss a class', withField(file, 'labels', () => ['a', 'b']), '__metadata__.labels must name all 3 classes, it names 2'],
    ['metadata JSON that does not parse', { ...file, metadata: { ...file.metadata, preprocessing: '{' } }, '__metadata__.preprocessing is not valid JSON'],
    ['an imageSize the patch does not divide', withField(file, 'encoder', (e) => set(e, 'imageSize', [3, 8])),
      '__metadata__.encoder: image size 3×8 is not divisible by the patch size 4'],
    ['heads that do not divide embedDim', withField(file, 'encoder', (e) => set(e, 'heads', 3)), '__metadata__.encoder: embedDim 16 is not divisible by heads 3'],
    ['feature blocks past the encoder depth', withField(file, 'segmenter', (s) => set(s, 'featureIndices', [5])),
      '__metadata__.segmenter: the convtrans decoder needs 1 feature block index in 0..0 (the encoder has depth 1), got [5]; pass featureIndices'],
    // Contradictions with the tensors.
    ['depth 2 with one block in the file', withField(file, 'encoder', (e) => set(e, 'depth', 2)),
      'the metadata does not fit the tensors: tensor encoder.blocks.1.mlp.fc1.weight is missing (it carries depth 2, mlpHidden, embedDim)'],
    ['a different mlpHidden', withField(file, 'encoder', (e) => set(e, 'mlpHidden', 64)),
      'the metadata does not fit the tensors: depth 1, mlpHidden, embedDim in the metadata give encoder.blocks.0.mlp.fc1.weight the shape [64, 16], the file has [32, 16]'],
    ['a different patchSize', withField(file, 'encoder', (e) => set(e, 'patchSize', 2)),
      'the metadata does not fit the tensors: embedDim, inChannels, depthSlices, patchSize in the metadata give encoder.patch_embed.proj.weight the shape [16, 1, 3, 2, 2], the file has [16, 1, 3, 4, 4]'],
    ['a different imageSize', withField(file, 'encoder', (e) => set(e, 'imageSize', [16, 16])),
      'the metadata does not fit the tensors: imageSize, patchSize, prefixTokens, embedDim in the metadata give encoder.pos_embed the shape [1, 17, 16], the file has [1, 5, 16]'],
    ['a different class count', withField(withField(file, 'segmenter', (s) => set(s, 'classes', 4)), 'labels', () => ['a', 'b', 'c', 'd']),
      'the metadata does not fit the tensors: segmenter.classes, segmenter.channels in the metadata give decoder.decoder4.weight the shape [4, 4, *, *], the file has [4, 3, 2, 2]'],
  ];
  for (const [what, bad, message] of cases) {
    it(`refuses ${what}`, () => {
      const before = gpu.memory().liveBuffers;
      expect(() => segmenterFromFile(gpu, bad, 'm.safetensors')).toThrow(`m.safetensors: ${message}`);
      expect(gpu.memory().liveBuffers).toBe(before); // nothing was built
    });
  }

  it('the file as written loads', () => {
    const { model, header } = segmenterFromFile(gpu, file, 'm.safetensors');
    model.dispose();
    expect(header).toEqual(HEADER);
  });

  it('an intensity reference loads as written', () => {
    const reference = { p1: [-1.5], median: [0.1], p99: [2.5] };
    const { model, header } = segmenterFromFile(gpu, withField(file, 'preprocessing', (p) => set(p, 'intensityReference', reference)), 'm.safetensors');
    model.dispose();
    expect(header.preprocessing.intensityReference).toEqual(reference);
  });

  it('a model with a pixel skip loads, and a pixelSkip that contradicts its tensors is refused', async () => {
    const header: SegmenterFileHeader = { ...HEADER, segmenter: { ...HEADER.segmenter, pixelSkip: 2 } };
    const skipped = await modelFile(header);
    const { model, header: read } = segmenterFromFile(gpu, skipped, 'm.safetensors');
    expect(read).toEqual(header);
    expect(model.pixelSkip?.width).toBe(2);
    model.dispose();
    const before = gpu.memory().liveBuffers;
    expect(() => segmenterFromFile(gpu, withField(skipped, 'segmenter', (s) => set(s, 'pixelSkip', 3)), 'm.safetensors')).toThrow(
      'm.safetensors: the metadata does not fit the tensors: segmenter.pixelSkip, inChannels, depthSlices in the metadata give ' +
        'pixel_skip.input.0.conv.weight the shape [3, 3, 3, 3], the file has [2, 3, 3, 3]; segmenter.classes, segmenter.pixelSkip ' +
        'in the metadata give pixel_skip.classifier.weight the shape [3, 3, 1, 1], the file has [3, 2, 1, 1]');
    expect(() => segmenterFromFile(gpu, withField(skipped, 'segmenter', (s) => set(s, 'pixelSkip', undefined)), 'm.safetensors')).toThrow(
      'm.safetensors: the metadata does not fit the tensors: the file holds a pixel_skip branch, but segmenter.pixelSkip is not set');
    expect(() => segmenterFromFile(gpu, withField(file, 'segmenter', (s) => set(s, 'pixelSkip', 2)), 'm.safetensors')).toThrow(
      'm.safetensors: the metadata does not fit the tensors: tensor pixel_skip.input.0.conv.weight is missing (it carries segmenter.pixelSkip, inChannels, depthSlices)');
    expect(gpu.memory().liveBuffers).toBe(before); // nothing was built
  });

  it('reads the mask of files written before session 6 (maskNonzero) as maskForeground', () => {
    const old = { metadata: { ...file.metadata, inference: JSON.stringify({ postprocess: { maskNonzero: true, largestComponent: 'foreground' } }) } };
    expect(readModelFileHeader(old.metadata, 'old.safetensors')).toMatchObject({ inference: { postprocess: { maskForeground: true, largestComponent: 'foreground' } } });
    const header = readModelFileHeader(old.metadata, 'old.safetensors') as { inference: { postprocess: object } };
    expect(Object.keys(header.inference.postprocess).sort()).toEqual(['largestComponent', 'maskForeground']);
    const wrong = { metadata: { ...file.metadata, inference: JSON.stringify({ postprocess: { maskNonzero: 'yes' } }) } };
    expect(() => readModelFileHeader(wrong.metadata, 'old.safetensors')).toThrow(/maskNonzero/);
  });

  it('heads that contradict a relative-position table are refused (without it, heads leave no trace in the shapes)', () => {
    const beit = { ...TINY, positionEmbedding: false, relativePositionBias: true, heads: 4 };
    const shapes = new Map([
      ['patch_embed.proj.weight', { shape: [16, 1, 3, 4, 4] }], ['blocks.0.mlp.fc1.weight', { shape: [32, 16] }],
      ['blocks.0.attn.relative_position_bias_table', { shape: [12, 2] }], // (2·2 − 1)² + 3 rows, 2 heads
    ]);
    expect(() => checkAgainstTensors(beit, null, shapes, 'b.safetensors')).toThrow(
      'b.safetensors: the metadata does not fit the tensors: imageSize, patchSize, heads in the metadata give blocks.0.attn.relative_position_bias_table the shape [12, 4], the file has [12, 2]',
    );
    expect(() => checkAgainstTensors({ ...beit, heads: 2 }, null, shapes, 'b.safetensors')).not.toThrow();
  });

  it('an encoder file is checked against its tensors when they are given', () => {
    const metadata = { format: 'transseg-webgpu', version: '1', kind: 'encoder', encoder: JSON.stringify(TINY), provenance: '{}' };
    expect(readModelFileHeader(metadata, 'e.safetensors')?.kind).toBe('encoder');
    expect(() => readModelFileHeader(metadata, 'e.safetensors', new Map([['x', { shape: [1] }]]))).toThrow(
      'e.safetensors: the metadata does not fit the tensors: tensor patch_embed.proj.weight is missing (it carries embedDim, inChannels, depthSlices, patchSize)',
    );
  });
});
