#!/usr/bin/env node
// `transseg train` killed for real: a tiny run is trained once without interruption, then again
// --kills times, each killed with SIGKILL at a seeded random moment and continued with --resume
// (or restarted with --force when it died before its first checkpoint). A kill strikes a random
// delay (up to one step's time) after the progress line of a random step, so kills land in steps,
// validations and checkpoints alike. Every final
// last.safetensors and best.safetensors must equal the uninterrupted run's byte for byte.
// The deterministic kill test, at chosen file operations, is test/train-crash.test.ts; this one
// kills the real process wherever it happens to be.
//
//   npm run build && node scripts/kill-train.mjs [--kills 5] [--seed 1]

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writePhantomDataset } from '../dist/src/synthetic/phantom-node.js';
import { rng } from '../dist/src/util/random.js';

const { values } = parseArgs({ options: { kills: { type: 'string', default: '5' }, seed: { type: 'string', default: '1' } } });
const kills = Number(values.kills);
const random = rng(Number(values.seed));
const CLI = new URL('../dist/src/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'transseg-kill-'));

await writePhantomDataset(join(dir, 'data'), { training: 4, validation: 0, test: 0, seed: 2, phantom: { dims: [16, 16, 4], spacing: [1, 1, 3] } });
writeFileSync(join(dir, 'vit.json'), JSON.stringify({ embedDim: 8, depth: 2, heads: 2, mlpHidden: 16, patchSize: 4, normalization: { mean: [0], std: [1] } }));
const flags = (out) => [
  '--dataset', join(dir, 'data', 'dataset.json'), '--out', out, '--no-pretrained', '--preset', 'vit_tiny_patch16_224',
  '--config', join(dir, 'vit.json'), '--image-size', '8', '--depth', '3', '--decoder', 'upernet', '--channels', '4',
  '--feature-blocks', '0,1,1,1', '--dropout', '0.1', '--val-fraction', '0.25', '--steps', String(STEPS), '--batch-size', '2',
  '--validate-every', '2', '--log-every', '1', '--seed', '5', '--lr', '1e-3', '--intensity', 'clip:-100,300',
];

const STEPS = 8;

/**
 * Runs `transseg train`; with `kill`, sends SIGKILL `kill.delay` ms after the progress line of
 * step `kill.step` (stderr is not a terminal, so every step prints one). Resolves with how it ended.
 */
function transseg(args, kill) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let timer = null;
    child.stderr.on('data', (d) => {
      stderr += d;
      if (kill && !timer && stderr.includes(`train ${kill.step}/${STEPS} `)) timer = setTimeout(() => child.kill('SIGKILL'), kill.delay);
    });
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stderr, ms: performance.now() - started });
    });
  });
}

const files = (out) => ['last.safetensors', 'best.safetensors'].map((name) => readFileSync(join(out, name)).toString('base64'));

const reference = await transseg(flags(join(dir, 'reference')));
if (reference.code !== 0) throw new Error(`the uninterrupted run failed:\n${reference.stderr}`);
const expected = files(join(dir, 'reference'));
// One step's time (with its share of validation and checkpoints), from the progress lines' pace.
const paces = [...reference.stderr.matchAll(/([\d.]+) steps\/s/g)].map((m) => Number(m[1]));
const stepMs = 1000 / paces.at(-1);
console.log(`uninterrupted run: ${(reference.ms / 1000).toFixed(1)} s, ${stepMs.toFixed(0)} ms a step`);

let failures = 0;
for (let i = 0; i < kills; i++) {
  const out = join(dir, `killed-${i}`);
  const kill = { step: 1 + Math.floor(random() * STEPS), delay: Math.round(random() * stepMs) };
  const killed = await transseg(flags(out), kill);
  let resumed = await transseg(['--out', out, '--resume']);
  let how = 'resumed';
  if (resumed.code !== 0 && /holds no run to resume|has no checkpoint/.test(resumed.stderr)) {
    resumed = await transseg([...flags(out), '--force']);
    how = 'restarted with --force (no checkpoint yet)';
  }
  const same = resumed.code === 0 && files(out).every((f, k) => f === expected[k]);
  if (!same) failures++;
  const at = killed.signal === 'SIGKILL' ? `killed ${kill.delay} ms after step ${kill.step}` : `finished before the kill (${kill.delay} ms after step ${kill.step})`;
  console.log(`${i + 1}/${kills}: ${at}; ${how}: ${same ? 'bit-identical' : `DIFFERENT\n${resumed.stderr}`}`);
}
rmSync(dir, { recursive: true, force: true });
console.log(failures === 0 ? `all ${kills} killed runs ended bit-identical to the uninterrupted one` : `${failures} of ${kills} differ`);
process.exitCode = failures === 0 ? 0 : 1;
