// Kill tests for `transseg train --resume`: a tiny training is killed at many points — between
// steps, inside a checkpoint between its files, in the middle of a file or of a metrics line — and
// resumed; the final weights must be bit-identical to those of the run that was never killed, and
// so must last/best.safetensors, the metrics log (timings aside) and the run folder's file list.
//
// The kills are simulated deterministically. node:fs/promises is wrapped so that every mutating
// operation (open for writing, write, append, flush, close, rename, link, remove, mkdir) is
// counted; just before the k-th of a chosen set, the run folder is copied as it is at that
// instant, and when that operation writes data, the first half of its bytes is added to the copy.
// Each copy is then exactly what a kill -9 during that operation would leave on disk — nothing
// after it, no cleanup — and each is resumed as `transseg train --resume` does.
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writePhantomDataset } from '../src/synthetic/phantom-node.js';
import { readWeights } from '../src/model/load-weights.js';
import type { HostTensor } from '../src/tensor/host-tensor.js';
import { prepareRun, readRunOptions, type RunOptions } from '../src/train/setup-node.js';
import { testGpu } from './helpers/gpu.js';

const faults = vi.hoisted(() => ({
  /** Mutating operations so far, each as 'kind path'. */
  operations: [] as string[],
  /** The run folder being watched, and the operation numbers (1-based) to copy it before. */
  folder: '',
  killAt: new Set<number>(),
  /** Copy of the folder per operation number. */
  copies: new Map<number, string>(),
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  /** Counts an operation; at a kill point, copies the folder and adds the half-done write to the copy. */
  const operation = <T>(what: string, run: () => Promise<T>, half?: { path: string; data: string | Uint8Array }): Promise<T> => {
    faults.operations.push(what);
    const k = faults.operations.length;
    if (faults.killAt.has(k)) {
      const copy = `${faults.folder}-killed-${k}`;
      if (existsSync(faults.folder)) cpSync(faults.folder, copy, { recursive: true });
      if (half && existsSync(copy)) {
        const target = half.path.replace(faults.folder, copy);
        appendFileSync(target, typeof half.data === 'string' ? half.data.slice(0, half.data.length >> 1) : half.data.subarray(0, half.data.length >> 1));
      }
      faults.copies.set(k, copy);
    }
    return run();
  };
  // Every write here is sequential (no position), so half of a write is an append to the file so far.
  const wrapHandle = (handle: FileHandle, path: string): FileHandle => new Proxy(handle, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      const method = value.bind(target) as (...args: unknown[]) => Promise<unknown>;
      if (key === 'write') {
        return (bytes: Uint8Array, offset = 0, length = bytes.length - offset) =>
          operation(`write ${path}`, () => method(bytes, offset, length), { path, data: bytes.subarray(offset, offset + length) });
      }
      if (key === 'writeFile') return (data: string | Uint8Array) => operation(`writeFile ${path}`, () => method(data), { path, data });
      if (key === 'sync' || key === 'close') return () => operation(`${key} ${path}`, () => method());
      return method;
    },
  });
  return {
    ...real,
    open: async (path: string, flags = 'r', mode?: number) => {
      if (flags === 'r') return real.open(path, flags, mode);
      return wrapHandle(await operation(`open ${path}`, () => real.open(path, flags, mode)), path);
    },
    appendFile: (path: string, data: string) => operation(`append ${path}`, () => real.appendFile(path, data), { path, data }),
    writeFile: (path: string, data: string | Uint8Array) => operation(`writeFile ${path}`, () => real.writeFile(path, data), { path, data }),
    rename: (from: string, to: string) => operation(`rename ${to}`, () => real.rename(from, to)),
    link: (from: string, to: string) => operation(`link ${to}`, () => real.link(from, to)),
    copyFile: (from: string, to: string, mode?: number) => operation(`copy ${to}`, () => real.copyFile(from, to, mode)),
    rm: (path: string, options?: object) => operation(`rm ${path}`, () => real.rm(path, options)),
    unlink: (path: string) => operation(`unlink ${path}`, () => real.unlink(path)),
    mkdir: (path: string, options?: object) => operation(`mkdir ${path}`, () => real.mkdir(path, options)),
  };
});

const dir = mkdtempSync(join(tmpdir(), 'transseg-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The smallest run that has every part: UPerNet (BatchNorm statistics, dropout), augmentation,
 * validation and a best model, 2 checkpoints.
 */
const options = (out: string): RunOptions => ({
  dataset: join(dir, 'data', 'dataset.json'),
  out,
  pretrained: false,
  preset: 'vit_tiny_patch16_224',
  modelJson: { embedDim: 8, depth: 2, heads: 2, mlpHidden: 16, patchSize: 4, normalization: { mean: [0], std: [1] } },
  imageSize: 8,
  depth: 3,
  decoder: 'upernet',
  channels: 4,
  featureIndices: [0, 1, 1, 1],
  dropout: 0.1,
  validationFraction: 0.25,
  settings: { steps: 4, batchSize: 2, accumulate: 1, validateEvery: 2, logEvery: 1, seed: 5, lr: 1e-3, warmup: 2, intensity: { kind: 'clip', aMin: -100, aMax: 300 } },
});

/** Trains (or resumes) to the end and returns the final weights. */
async function train(o: RunOptions, log?: (line: string) => void): Promise<Map<string, HostTensor>> {
  const run = await prepareRun(await testGpu(), o, log);
  try {
    await run.trainer.run();
    return await readWeights(run.model);
  } finally {
    run.trainer.dispose();
    run.model.dispose();
  }
}

/** What a finished run folder holds: relative path → bytes; metrics.jsonl without its timings. */
function folderContents(out: string): Map<string, string> {
  const files = new Map<string, string>();
  const visit = (relative: string) => {
    for (const name of readdirSync(join(out, relative)).sort()) {
      const path = join(relative, name);
      if (statSync(join(out, path)).isDirectory()) visit(path);
      else if (name === 'metrics.jsonl') {
        const lines = readFileSync(join(out, path), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        files.set(path, JSON.stringify(lines.map(({ stepsPerSecond: _, ...rest }) => rest)));
      } else if (name === 'run.json' || name === 'curves.png') files.set(path, '(present)'); // run.json records --resume
      else files.set(path, readFileSync(join(out, path)).toString('base64'));
    }
  };
  visit('');
  return files;
}

const bits = (t: HostTensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64');

/**
 * The kill points, from the operations of an uninterrupted run: every operation of the last
 * checkpoint (step 4) but its tensor writes — removing a stale step folder, creating it, opening,
 * flushing, closing and renaming each file, the commit, the links, the pruning — and the middle
 * write of each of its two files; a torn line in each of 3 metrics appends; 4 spread over the rest
 * (starting the run, curves.png, the first checkpoint).
 */
function chooseKillPoints(operations: string[]): number[] {
  const numbers = (keep: (op: string, k: number) => boolean) => operations.flatMap((op, i) => (keep(op, i + 1) ? [i + 1] : []));
  const first = operations.findIndex((op) => op.includes('step-4')) + 1;
  const middle = (list: number[]) => list[list.length >> 1];
  const inCheckpoint = [
    ...numbers((op, k) => k >= first && !op.startsWith('write ')),
    middle(numbers((op) => op.startsWith('write ') && op.includes('step-4/model'))),
    middle(numbers((op) => op.startsWith('write ') && op.includes('step-4/optimizer'))),
  ];
  const appends = numbers((op) => op.startsWith('append '));
  const before = numbers((op, k) => k < first && !op.startsWith('write ') && !op.startsWith('append '));
  const spread = [0, 1, 2, 3].map((i) => before[Math.floor((i * before.length) / 4)]);
  return [...new Set([...inCheckpoint, appends[0], appends[2], appends.at(-1)!, ...spread])].sort((a, b) => a - b);
}

let reference: { weights: Map<string, HostTensor>; files: Map<string, string> };
let killPoints: number[] = [];
let operations: string[] = [];

beforeAll(async () => {
  await writePhantomDataset(join(dir, 'data'), { training: 4, validation: 0, test: 0, seed: 2, phantom: { dims: [16, 16, 4], spacing: [1, 1, 3] } });
  // A first run lists the operations; a second, identical, run is copied at the kill points.
  faults.operations = [];
  faults.folder = join(dir, 'list');
  await train(options(faults.folder));
  killPoints = chooseKillPoints(faults.operations);
  faults.operations = [];
  faults.folder = join(dir, 'reference');
  faults.killAt = new Set(killPoints);
  const weights = await train(options(faults.folder));
  operations = [...faults.operations];
  faults.killAt = new Set();
  reference = { weights, files: folderContents(faults.folder) };
});

describe('train: killed at any point, --resume gives the uninterrupted run bit for bit', () => {
  it('resumes exactly at every kill point', async () => {
    expect(killPoints.length).toBeGreaterThanOrEqual(20);
    // Kill point k copies the folder before operation k (1-based); the commit is the rename onto checkpoint.json.
    const firstCommit = operations.findIndex((op) => op.startsWith('rename ') && op.endsWith('checkpoint.json')) + 1;
    expect(firstCommit).toBeGreaterThan(0);
        const failures: string[] = [];
    for (const k of killPoints) {
      const what = `kill point ${k} (${operations[k - 1].replace(dir, '')})`;
      const out = faults.copies.get(k)!;
      // What the CLI does: --resume takes the options from run.json; a run killed before its first
      // checkpoint says so, and is started again with --force.
      let weights: Map<string, HostTensor>;
      try {
        weights = await train({ ...(await readRunOptions(out)), out, resume: true });
      } catch (e) {
        // Only a kill before the first commit of checkpoint.json may leave no checkpoint.
        expect(k, `${what}: resume refused after checkpoint.json was committed`).toBeLessThanOrEqual(firstCommit);
        expect((e as Error).message, what).toMatch(/holds no run to resume|has no checkpoint \(no checkpoint\.json\): the run stopped before its first one/);
        weights = await train({ ...options(out), force: true });
      }
      for (const [name, t] of reference.weights) if (bits(weights.get(name)!) !== bits(t)) failures.push(`${what}: weight ${name} differs`);
      const files = folderContents(out);
      const listing = (m: Map<string, string>) => [...m.keys()].join(', ');
      if (listing(files) !== listing(reference.files)) failures.push(`${what}: the folder holds ${listing(files)}`);
      else for (const [name, content] of reference.files) if (files.get(name) !== content) failures.push(`${what}: ${name} differs`);
      rmSync(out, { recursive: true, force: true });
    }
    console.log(`train-crash: ${killPoints.length} kill points among ${operations.length} file operations`);
    expect(failures).toEqual([]);
  });

  it('drops a torn metrics line and the lines after the checkpoint, with notes naming the file', async () => {
    const out = join(dir, 'torn');
    cpSync(join(dir, 'reference'), out, { recursive: true });
    const metrics = join(out, 'metrics.jsonl');
    const text = readFileSync(metrics, 'utf8');
    // A line logged after the last checkpoint, then one cut off by the kill.
    const torn = '{"kind":"train","step":6,"loss":0.1';
    writeFileSync(metrics, `${text}{"kind":"train","step":5,"loss":0.5,"lr":0,"gradNorm":1,"stepsPerSecond":1}\n${torn}`);
    const notes: string[] = [];
    await train({ ...(await readRunOptions(out)), out, resume: true }, (line) => notes.push(line));
    expect(notes.filter((n) => n.includes('metrics.jsonl'))).toEqual([
      `warning: ${metrics}: dropped a torn last line (${torn.length} characters cut off when the run stopped)`,
      `${metrics}: dropped 1 line(s) logged after the checkpoint at step 4`,
    ]);
    expect(readFileSync(metrics, 'utf8')).toBe(text);
  });
});
