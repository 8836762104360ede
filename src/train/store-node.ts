// A training run's folder (Node). Each checkpoint is committed whole: its files go to a new
// folder checkpoints/step-<n>/ (model.safetensors, a model file; optimizer.safetensors, the AdamW
// moments), and only then is checkpoint.json — the record of the step, the files, the best
// validation and how many metrics lines belong to the run so far — replaced by one atomic rename.
// A process killed at any moment therefore leaves either the old checkpoint or the new one, and
// `--resume` reads exactly one of them. After the commit, last.safetensors and best.safetensors
// (what `transseg predict` reads) are made hard links to the committed model files, and older
// step folders are removed; both are redone on resume, so a kill between them does no harm.
// Also here: metrics.jsonl (one JSON record per log line), curves.svg (loss and validation Dice).
//
// The random generators need no saving: every draw is a function of (seed, sample index) or
// (seed, micro-batch index) (see trainer.ts), so the seed in run.json and the step are their state.

import { appendFile, mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { linkFileAtomically, TEMPORARY_NAME, writeFileAtomically } from '../io/atomic-write.js';
import { fileSystemError, isFileSystemError } from '../io/file-errors.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../io/safetensors-node.js';
import type { SegmenterFileHeader } from '../model/model-file.js';
import { segmenterFileContents } from '../checkpoint/segmenter-file.js';
import type { AdamWState } from '../optim/adamw.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { curvesSvg } from './plot.js';
import type { Checkpoint, LogRecord, TrainerState, TrainerStore, Validation } from './trainer.js';

const MANIFEST = 'checkpoint.json';
const STEPS = 'checkpoints';
const MODEL = 'model.safetensors';
const OPTIMIZER = 'optimizer.safetensors';
const METRICS = 'metrics.jsonl';

/** The names a run writes in its folder; a fresh run refuses a folder holding any (see start). */
const RUN_FILES = ['run.json', MANIFEST, STEPS, METRICS, 'curves.svg', 'curves.png', 'last.safetensors', 'best.safetensors', 'trainer-state.safetensors'];

/** checkpoint.json: the committed checkpoint. Paths are relative to the run folder. */
interface Manifest {
  format: 'transseg-webgpu checkpoint';
  version: 1;
  step: number;
  optimizerStep: number;
  model: string;
  optimizer: string;
  best: Validation | null;
  /** The model file of `best` (in the folder of the step it was reached at), or null. */
  bestModel: string | null;
  /** Records in metrics.jsonl when this checkpoint was committed; later ones are dropped on resume. */
  metricsLines: number;
}

export class RunFolder implements TrainerStore {
  private records: LogRecord[] = [];
  private manifest: Manifest | null = null;

  /** `warn` receives the notes of a resume (dropped metrics lines). */
  constructor(readonly dir: string, private readonly header: SegmenterFileHeader, private readonly warn: (line: string) => void = () => {}) {}

  /**
   * Starts a fresh run: creates the folder, which must not hold an earlier run's files — unless
   * `force`, which deletes those files (and only those) first.
   */
  async start(force: boolean): Promise<void> {
    const existing = await stat(this.dir).catch(() => null);
    if (existing && !existing.isDirectory()) throw new Error(`train: --out ${this.dir} is a file; give a folder`);
    const found = existing ? (await readdir(this.dir)).filter((name) => RUN_FILES.includes(name)) : [];
    if (found.length > 0) {
      if (!force) throw new Error(`train: --out ${this.dir} already holds a run (${found.join(', ')}); continue it with --resume, or give --force to delete those files and start over`);
      for (const name of found) await rm(join(this.dir, name), { recursive: true, force: true });
    }
    await mkdir(this.dir, { recursive: true }).catch((e) => { throw fileSystemError(e, this.dir, 'create the --out folder'); });
  }

  /**
   * Reads the committed checkpoint for `--resume`: the weights and the trainer's state. Also puts
   * the folder back in line with it: metrics.jsonl cut to the checkpoint's records (a torn last
   * line dropped), last/best links renewed, uncommitted step folders and stale temporary files removed.
   */
  async resume(): Promise<{ weights: Map<string, HostTensor>; state: TrainerState }> {
    const manifest = await this.readManifest();
    const model = await readSafetensorsFile(join(this.dir, manifest.model));
    const optimizer = await readSafetensorsFile(join(this.dir, manifest.optimizer));
    const optimizerPath = join(this.dir, manifest.optimizer);
    if (optimizer.metadata.step !== String(manifest.optimizerStep)) {
      throw new Error(`${optimizerPath}: records optimiser step ${optimizer.metadata.step}, but ${join(this.dir, MANIFEST)} says ${manifest.optimizerStep}`);
    }
    const state: TrainerState = { step: manifest.step, optimizer: optimizerState(optimizer.tensors, optimizerPath, manifest.optimizerStep), best: manifest.best };
    await this.cutMetrics(manifest.metricsLines, manifest.step);
    this.manifest = manifest;
    await this.publish();
    await this.prune();
    return { weights: model.tensors, state };
  }

  async commit({ weights, state, isBest }: Checkpoint): Promise<void> {
    const folder = `${STEPS}/step-${state.step}`;
    const path = join(this.dir, folder);
    if (this.manifest && [this.manifest.model, this.manifest.bestModel].some((p) => p?.startsWith(`${folder}/`))) {
      throw new Error(`${path}: holds the committed checkpoint; a new one cannot be written there`);
    }
    await rm(path, { recursive: true, force: true }); // an uncommitted attempt at this step
    await mkdir(path, { recursive: true });
    const header = { ...this.header, provenance: { ...this.header.provenance, step: state.step } };
    const { tensors, metadata } = segmenterFileContents(header, weights);
    await writeSafetensorsFile(join(path, MODEL), tensors, metadata);
    await writeSafetensorsFile(join(path, OPTIMIZER), optimizerTensors(state.optimizer), { step: String(state.optimizer.step) });
    await syncFolder(path);
    const manifest: Manifest = {
      format: 'transseg-webgpu checkpoint',
      version: 1,
      step: state.step,
      optimizerStep: state.optimizer.step,
      model: `${folder}/${MODEL}`,
      optimizer: `${folder}/${OPTIMIZER}`,
      best: state.best,
      bestModel: isBest ? `${folder}/${MODEL}` : this.manifest?.bestModel ?? null,
      metricsLines: this.records.length,
    };
    await writeFileAtomically(join(this.dir, MANIFEST), (file) => file.writeFile(JSON.stringify(manifest, null, 2) + '\n'));
    await syncFolder(this.dir); // the commit
    this.manifest = manifest;
    await this.publish();
    await this.prune();
  }

  async log(record: LogRecord): Promise<void> {
    this.records.push(record);
    await appendFile(join(this.dir, METRICS), JSON.stringify(record) + '\n');
    if (record.kind === 'validation') {
      const svg = curvesSvg({
        train: this.records.flatMap((r) => (r.kind === 'train' ? [{ step: r.step, loss: r.loss }] : [])),
        validation: this.records.flatMap((r) => (r.kind === 'validation' ? [{ step: r.step, meanDice: r.meanDice }] : [])),
      });
      await writeFileAtomically(join(this.dir, 'curves.svg'), (file) => file.writeFile(svg));
    }
  }

  private async readManifest(): Promise<Manifest> {
    const path = join(this.dir, MANIFEST);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if (isFileSystemError(e) && e.code === 'ENOENT') {
        throw new Error(`--resume: ${this.dir} has no checkpoint (no ${MANIFEST}): the run stopped before its first one (written every --validate-every steps); start it again with --force`);
      }
      throw fileSystemError(e, path, 'read');
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
    }
    return checkManifest(json, path);
  }

  /** Keeps the first `lines` complete records of metrics.jsonl (those of the checkpoint) and drops the rest. */
  private async cutMetrics(lines: number, step: number): Promise<void> {
    const path = join(this.dir, METRICS);
    const text = await readFile(path, 'utf8').catch((e) => {
      if (isFileSystemError(e) && e.code === 'ENOENT') return '';
      throw fileSystemError(e, path, 'read');
    });
    const all = text.split('\n');
    const torn = all.pop()!; // '' when the file ends with a newline
    if (torn !== '') this.warn(`warning: ${path}: dropped a torn last line (${torn.length} characters cut off when the run stopped)`);
    const kept: LogRecord[] = [];
    for (const [i, line] of all.slice(0, lines).entries()) {
      try {
        kept.push(JSON.parse(line) as LogRecord);
      } catch {
        this.warn(`warning: ${path}: line ${i + 1} is not JSON; dropped`);
      }
    }
    if (all.length > lines) this.warn(`${path}: dropped ${all.length - lines} line(s) logged after the checkpoint at step ${step}`);
    if (all.length < lines) this.warn(`warning: ${path}: holds ${all.length} of the ${lines} lines logged up to the checkpoint at step ${step}`);
    this.records = kept;
    if (torn !== '' || kept.length !== all.length) {
      await writeFileAtomically(path, (file) => file.writeFile(kept.map((r) => JSON.stringify(r) + '\n').join('')));
    }
  }

  /** Points last.safetensors and best.safetensors at the committed model files. */
  private async publish(): Promise<void> {
    const m = this.manifest!;
    await linkFileAtomically(join(this.dir, m.model), join(this.dir, 'last.safetensors'));
    if (m.bestModel) await linkFileAtomically(join(this.dir, m.bestModel), join(this.dir, 'best.safetensors'));
  }

  /**
   * Removes what the committed checkpoint does not use: other step folders (uncommitted or
   * superseded), the optimiser state in the best model's folder, temporary files of writes that
   * were killed.
   */
  private async prune(): Promise<void> {
    const m = this.manifest!;
    const folderOf = (file: string | null) => file?.slice(0, file.lastIndexOf('/'));
    for (const name of await readdir(join(this.dir, STEPS))) {
      const folder = `${STEPS}/${name}`;
      if (folder === folderOf(m.model)) continue;
      if (folder === folderOf(m.bestModel)) await rm(join(this.dir, folder, OPTIMIZER), { force: true });
      else await rm(join(this.dir, folder), { recursive: true, force: true });
    }
    for (const name of await readdir(this.dir)) {
      if (TEMPORARY_NAME.test(name)) await rm(join(this.dir, name), { force: true });
    }
  }
}

function optimizerTensors(state: AdamWState): [string, HostTensor][] {
  const tensors: [string, HostTensor][] = [];
  state.expAvg.forEach((m, i) => tensors.push([`exp_avg.${i}`, { shape: [m.length], data: m }]));
  state.expAvgSq.forEach((v, i) => tensors.push([`exp_avg_sq.${i}`, { shape: [v.length], data: v }]));
  return tensors;
}

function optimizerState(tensors: Map<string, HostTensor>, path: string, step: number): AdamWState {
  const count = [...tensors.keys()].filter((k) => k.startsWith('exp_avg.')).length;
  const moment = (name: string) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`${path}: missing tensor ${name}`);
    return t.data;
  };
  return {
    step,
    expAvg: Array.from({ length: count }, (_, i) => moment(`exp_avg.${i}`)),
    expAvgSq: Array.from({ length: count }, (_, i) => moment(`exp_avg_sq.${i}`)),
  };
}

/** checkpoint.json's fields, each checked; a path must name a file under checkpoints/. */
function checkManifest(json: unknown, path: string): Manifest {
  const m = json as Partial<Manifest> | null;
  const fail = (field: string, expected: string): never => {
    throw new Error(`${path}: "${field}" must be ${expected}, got ${JSON.stringify((m as Record<string, unknown> | null)?.[field])}`);
  };
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new Error(`${path}: must be a JSON object`);
  if (m.format !== 'transseg-webgpu checkpoint') fail('format', '"transseg-webgpu checkpoint"');
  if (m.version !== 1) fail('version', '1');
  for (const field of ['step', 'optimizerStep', 'metricsLines'] as const) {
    if (!Number.isInteger(m[field]) || m[field]! < 0) fail(field, 'an integer >= 0');
  }
  const inRun = (p: unknown) => typeof p === 'string' && p.startsWith(`${STEPS}/`) && !p.split('/').includes('..');
  for (const field of ['model', 'optimizer'] as const) if (!inRun(m[field])) fail(field, `a path under ${STEPS}/`);
  if (m.bestModel !== null && !inRun(m.bestModel)) fail('bestModel', `null or a path under ${STEPS}/`);
  if (m.best !== null && (typeof m.best !== 'object' || !Number.isFinite(m.best?.meanDice))) fail('best', 'null or a validation record');
  return m as Manifest;
}

/** Flushes a folder's entries (a rename in it) to disk where the platform can; a no-op elsewhere. */
async function syncFolder(path: string): Promise<void> {
  const folder = await open(path, 'r').catch(() => null); // Windows cannot open a folder
  if (!folder) return;
  try {
    await folder.sync();
  } catch {
    // some file systems do not sync folders; the rename is still atomic
  } finally {
    await folder.close();
  }
}
