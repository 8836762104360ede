// The messages between the page (app.ts, which draws and reports) and its worker (worker.ts, which
// holds the GPU and does all heavy work). A request carries an id, and the worker answers it once
// with a Reply of the same id; along the way it sends Events (progress, training records).

import type { DeviceOptions, io, model, train } from '../src/index.js';
import type { NamedFile } from './volume.js';

type Affine = io.Affine;
type SegmenterFileHeader = model.SegmenterFileHeader;
type LogRecord = train.LogRecord;

/** What the user chose to train from, and with which settings (the page's fine-tuning form). */
export interface TrainChoice {
  /** The training data: image + label volumes paired in file-name order, or a folder holding a dataset.json. */
  data: { kind: 'pairs'; images: File[]; labels: File[] } | { kind: 'folder'; files: { path: string; file: File }[] };
  /** An inflated encoder or a 2-D checkpoint; absent: from scratch with `preset`. */
  weights?: File;
  preset: string;
  steps: number;
  imageSize?: number;
  /** Slices per window; an inflated encoder's own when it is one. */
  depth: number;
  batchSize: number;
  decoder: 'upernet' | 'setr-pup' | 'convtrans';
  /** As `transseg train --intensity` takes it (ct, mr, clip:A,B, …). */
  intensity: string;
  /** Validate and save a checkpoint every this many steps. */
  checkpointEvery: number;
  seed: number;
}

export interface ImageSummary {
  id: string;
  names: string[];
  dims: [number, number, number];
  channels: number;
  affine: Affine;
  /** Channel 0, x fastest: what the viewer draws. */
  firstChannel: Float32Array;
  /** The 1st and 99th percentile of channel 0 (the default window), and its finite min and max. */
  window: [number, number];
  range: [number, number];
}

export interface SegmentResult {
  labels: Float32Array;
  /** Wall-clock seconds of the prediction in the worker (reading the result back included, encoding not). */
  seconds: number;
  files: { labels: Blob; probabilities?: Blob };
  /** predictCase's lines about the input (a channel on another intensity scale than the training scans). */
  warnings: string[];
}

/** A run saved in the browser that a reload can resume. */
export interface SavedRunSummary {
  step: number;
  steps: number;
  records: LogRecord[];
}

export interface TrainResult {
  model: Blob;
  step: number;
  seconds: number;
}

export type Request =
  | { type: 'connect'; device: DeviceOptions }
  | { type: 'open-model'; file: File }
  | { type: 'read-case'; files: NamedFile[] }
  | { type: 'segment'; probabilities: boolean }
  | { type: 'saved-run' }
  | { type: 'train'; choice: TrainChoice }
  | { type: 'resume-training' }
  | { type: 'discard-run' };

/** The answer to each request type. */
export interface Answers {
  'connect': { adapter: string };
  'open-model': { header: SegmenterFileHeader; warmUpSeconds: number };
  'read-case': ImageSummary;
  'segment': SegmentResult;
  'saved-run': SavedRunSummary | null;
  'train': TrainResult;
  'resume-training': TrainResult;
  'discard-run': null;
}

/** Control messages without an answer. */
export type Control = { type: 'pause' } | { type: 'continue' };

export type Event =
  | { event: 'segment-progress'; done: number; total: number }
  | { event: 'status'; text: string }
  | { event: 'train-progress'; step: number; steps: number; etaSeconds: number }
  | { event: 'train-record'; record: LogRecord }
  | { event: 'train-paused'; step: number };

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };
