// The PyTorch CPU peer: bench/torch_peer.py in a subprocess (JSON in on stdin, JSON out on
// stdout), for the products and the whole model. It runs after all GPU work, so the two never
// compete for the CPU.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { model } from '../../src/index.js';
import type { BenchCase } from '../cases.js';
import { CLASSES, modelConfig } from '../models.js';
import type { TimingPolicy } from '../timing.js';

const { UPERNET_FEATURE_INDICES } = model;

export interface PeerSamples {
  firstMs: number;
  samplesMs: number[];
}

export interface TorchResults {
  version: string;
  threads: number;
  /** Per case name: its samples, or why it failed. */
  cases: Record<string, PeerSamples | { error: string }>;
}

/** The cases PyTorch runs: products and the model's forward and training step. */
export function torchRuns(c: BenchCase): boolean {
  return c.kind === 'matmul' || (c.kind === 'model' && c.mode !== 'memory');
}

function request(c: BenchCase): object {
  if (c.kind === 'matmul') return { name: c.name, kind: 'matmul', m: c.m, k: c.k, n: c.n };
  if (c.kind !== 'model') throw new Error(`torch peer: no counterpart for ${c.name}`);
  const v = modelConfig(c.model, c.image);
  const config = {
    embed: v.embedDim, depth: v.depth, heads: v.heads, mlp: v.mlpHidden, patch: v.patchSize, image: c.image,
    in_channels: v.inChannels, slices: v.depthSlices, eps: v.eps, features: UPERNET_FEATURE_INDICES, channels: v.embedDim,
    classes: CLASSES, beit: v.relativePositionBias,
  };
  return { name: c.name, kind: 'model', mode: c.mode, batch: c.batch, config };
}

/** bench/torch_peer.py, seen from bench/peers/ (sources) or dist/bench/peers/ (built). */
function script(): string | null {
  const candidates = ['../torch_peer.py', '../../../bench/torch_peer.py'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** Runs the script with one interpreter: its results, or why not (a string). */
function runWith(python: string, path: string, input: string, log: (line: string) => void): Promise<TorchResults | string> {
  return new Promise((resolve) => {
    const child = spawn(python, [path], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => {
      err += d;
      for (const line of String(d).split('\n').filter((l) => l.startsWith('torch '))) log(line);
    });
    child.on('error', (e) => resolve(`cannot run ${python} (${e.message})`));
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out) as TorchResults);
      else if (/No module named 'torch'/.test(err)) resolve(`${python} has no torch module`);
      else resolve(`${python} ${path} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`);
    });
    child.stdin.end(input);
  });
}

/**
 * Runs the cases with $TRANSSEG_BENCH_PYTHON, else the first of python3 on the PATH and Debian's
 * /usr/bin/python3 that has torch; a string says why PyTorch was skipped.
 */
export async function runTorch(cases: BenchCase[], policy: TimingPolicy, log: (line: string) => void): Promise<TorchResults | string> {
  const path = script();
  if (!path) return 'torch skipped: bench/torch_peer.py is not in this installation (run from a clone of the repository)';
  const input = JSON.stringify({ policy, cases: cases.map(request) });
  const env = process.env.TRANSSEG_BENCH_PYTHON;
  const reasons: string[] = [];
  for (const python of env ? [env] : ['python3', '/usr/bin/python3']) {
    const result = await runWith(python, path, input, log);
    if (typeof result !== 'string') return result;
    reasons.push(result);
    // Only a missing interpreter or module is worth another try; a failure of the peer is not.
    if (!/^cannot run|has no torch/.test(result)) break;
  }
  return `torch skipped: ${reasons.join('; ')}; set TRANSSEG_BENCH_PYTHON to a python with torch`;
}
