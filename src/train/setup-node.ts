// Everything a training run needs before its first step, from files on disk (Node): dataset.json
// validated, the weights resolved (a path or hf:ORG/REPO[@revision][:file]) and read, the run
// folder (src/train/store-node.ts), and — with `resume` — the committed checkpoint of the run that
// stopped. The set-up itself is src/train/setup.ts, shared with the browser page.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveWeights } from '../checkpoint/hub-node.js';
import { openDataset } from '../data/load-node.js';
import type { Gpu } from '../gpu/gpu.js';
import { writeFileAtomically } from '../io/atomic-write.js';
import { fileSystemError, fileSystemReason, isFileSystemError } from '../io/file-errors.js';
import { readNiftiFile } from '../io/nifti-node.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { setUpRun, type PreparedRun, type RunOptions } from './setup.js';
import { RunFolder } from './store-node.js';

export type { RunOptions } from './setup.js';

/** Bytes of a weights download so far, and the total. */
export type DownloadProgress = (done: number, total: number) => void;

export async function prepareRun(gpu: Gpu, o: RunOptions, log: (line: string) => void = () => {}, onDownload?: DownloadProgress): Promise<PreparedRun<RunFolder>> {
  const { dataset } = await openDataset(o.dataset, { remap: o.remap });
  const resolved = o.weights ? await resolveWeights(o.weights, { offline: o.offline, onProgress: onDownload }) : undefined;
  const weights = resolved
    ? await readSafetensorsFile(resolved.path).catch((e) => { throw fileSystemError(e, resolved.path, 'read --weights'); })
    : undefined;
  const run = await setUpRun(gpu, o, {
    dataset,
    reader: readNiftiFile,
    weights,
    weightsRepository: resolved,
    store: (header) => new RunFolder(o.out, header, log),
    resume: async (store) => ({ ...(await store.resume()), source: join(o.out, 'checkpoint.json') }),
    begin: (store) => store.start(o.force ?? false),
  }, log);
  try {
    const runJson = JSON.stringify({ options: o, header: run.header }, null, 2) + '\n';
    await writeFileAtomically(join(o.out, 'run.json'), (file) => file.writeFile(runJson));
  } catch (e) {
    run.trainer.dispose();
    run.model.dispose();
    throw e;
  }
  return run;
}

/** The options a run was started with (run.json), for --resume. */
export async function readRunOptions(out: string): Promise<RunOptions> {
  const path = join(out, 'run.json');
  try {
    return (JSON.parse(await readFile(path, 'utf8')) as { options: RunOptions }).options;
  } catch (e) {
    if (isFileSystemError(e) && e.code === 'ENOENT') throw new Error(`--resume: ${out} holds no run to resume (${path} does not exist); start one without --resume`);
    throw new Error(`--resume: cannot read ${path}: ${isFileSystemError(e) ? fileSystemReason(e) : (e as Error).message}`);
  }
}
