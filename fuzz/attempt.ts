// One fuzz attempt: mutate a sample with the attempt's seed, read it with the library, and say
// how it ended. A clean end is an accepted file or an Error (exactly Error, not a TypeError or
// RangeError) whose message names the file; anything else is a crash. For NIfTI, an accepted
// file whose gzip stream zlib refuses (or whose voxels differ from zlib's reading) is counted
// apart; for model files, GPU buffers left live after the attempt are a leak.

import type { Gpu } from '../src/gpu/gpu.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { readModelFileHeader } from '../src/model/model-file.js';
import { segmenterFromFile } from '../src/checkpoint/segmenter-file.js';
import { mutateModel, type ModelSample } from './model.js';
import { Rng } from './mutate.js';
import { mutateNifti, readNiftiAttempt, type NiftiSample } from './nifti.js';
import { mutateSafetensors, type SafetensorsSample } from './safetensors.js';

export const FORMATS = ['nifti', 'safetensors', 'model'] as const;
export type Format = (typeof FORMATS)[number];

export type Ending = 'accepted' | 'refused' | 'crash' | 'corrupt-gzip-accepted' | 'leak';

export interface AttemptResult {
  format: Format;
  seed: number;
  what: string;
  ending: Ending;
  /** The error message (refused, crash) or what was wrong. */
  detail: string;
  ms: number;
}

export interface Corpus {
  nifti: NiftiSample[];
  safetensors: SafetensorsSample[];
  model: ModelSample[];
  /** Needed for model files (a segmenter is built and its weights loaded). */
  gpu: Gpu | null;
}

/** The part of a path that any error about it must name (the .img of a pair is named after its .hdr's stem). */
const stem = (name: string): string => name.split('/').pop()!.replace(/\.(hdr|img|nii)(\.gz)?$/i, '');

function classify(error: unknown, fileName: string): { ending: Ending; detail: string } {
  if (!(error instanceof Error)) return { ending: 'crash', detail: `threw a non-Error: ${String(error)}` };
  const detail = `${error.constructor.name}: ${error.message.slice(0, 300)}`;
  if (error.constructor !== Error) return { ending: 'crash', detail };
  if (!error.message.includes(stem(fileName))) return { ending: 'crash', detail: `the message does not name the file: ${detail}` };
  return { ending: 'refused', detail: error.message.slice(0, 300) };
}

/** Reads a (mutated) model file as `predict` and `train` would; returns a problem or null. */
function readModel(bytes: Uint8Array, name: string, gpu: Gpu): string | null {
  const file = parseSafetensors(bytes, name);
  const header = readModelFileHeader(file.metadata, name, file.tensors);
  if (header?.kind !== 'segmenter') return null;
  const before = gpu.memory().liveBuffers;
  let refusal: unknown = null;
  try {
    segmenterFromFile(gpu, file, name).model.dispose();
  } catch (e) {
    refusal = e; // a refused file must leave no buffer behind either
  }
  const after = gpu.memory().liveBuffers;
  if (after !== before) return `${after - before} GPU buffers left live`;
  if (refusal) throw refusal;
  return null;
}

/** Mutates a sample: what was done, the file name errors must carry, and the read to run. */
function prepare(format: Format, rng: Rng, corpus: Corpus): { what: string; fileName: string; read: () => string | null } {
  if (format === 'nifti') {
    const a = mutateNifti(rng, corpus.nifti);
    return { what: a.what, fileName: a.sample.name, read: () => readNiftiAttempt(a) };
  }
  if (format === 'safetensors') {
    const a = mutateSafetensors(rng, corpus.safetensors);
    return { what: a.what, fileName: a.sample.name, read: () => (parseSafetensors(a.bytes, a.sample.name), null) };
  }
  const gpu = corpus.gpu;
  if (!gpu) throw new Error('fuzz: the model format needs a GPU (WebGPU adapter)');
  const a = mutateModel(rng, corpus.model);
  return { what: a.what, fileName: a.sample.name, read: () => readModel(a.bytes, a.sample.name, gpu) };
}

/** Runs the attempt `seed`; `ms` times the read alone, not the mutation. */
export function runAttempt(format: Format, seed: number, corpus: Corpus): AttemptResult {
  const { what, fileName, read } = prepare(format, new Rng(seed), corpus);
  const start = performance.now();
  let ending: Ending = 'accepted';
  let detail = '';
  try {
    const problem = read();
    if (problem) {
      ending = format === 'nifti' ? 'corrupt-gzip-accepted' : 'leak';
      detail = problem;
    }
  } catch (error) {
    ({ ending, detail } = classify(error, fileName));
  }
  return { format, seed, what, ending, detail, ms: performance.now() - start };
}
