// A training run set up from files on disk (Node): dataset.json validated, the weights file read,
// the run folder, and — with `resume` — the state of the run that stopped. The set-up itself is
// src/train/setup.ts, shared with the browser page.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openDataset } from '../data/load-node.js';
import type { Gpu } from '../gpu/gpu.js';
import { readNiftiFile } from '../io/nifti-node.js';
import { readSafetensorsFile } from '../io/safetensors-node.js';
import { setUpRun, type PreparedRun, type RunOptions } from './setup.js';
import { RunFolder } from './store-node.js';

export type { RunOptions } from './setup.js';

export async function prepareRun(gpu: Gpu, o: RunOptions, log: (line: string) => void = () => {}): Promise<PreparedRun<RunFolder>> {
  const { dataset } = await openDataset(o.dataset, { remap: o.remap });
  const run = await setUpRun(gpu, o, {
    dataset,
    reader: readNiftiFile,
    weights: o.weights ? await readSafetensorsFile(o.weights) : undefined,
    store: async (header) => {
      await mkdir(o.out, { recursive: true });
      return new RunFolder(o.out, header);
    },
    resume: async (store) => {
      const last = join(o.out, 'last.safetensors');
      const state = await store.readState();
      await store.resumeLog(state.step);
      return { weights: (await readSafetensorsFile(last)).tensors, source: last, state };
    },
  }, log);
  try {
    await writeFile(join(o.out, 'run.json'), JSON.stringify({ options: o, header: run.header }, null, 2) + '\n');
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
    throw new Error(`--resume: cannot read ${path} (${(e as Error).message}); was a run started in ${out}?`);
  }
}
