// Bad input on the command line, as an adversarial user gives it (issue 12's CLI cases): each gets
// a message naming the flag or the file and what was expected, and leaves nothing behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliErrorMessage } from '../src/cli/errors.js';
import { inflate } from '../src/cli/inflate.js';
import { inspect } from '../src/cli/inspect.js';
import { train } from '../src/cli/train.js';
import { writePhantomDataset } from '../src/synthetic/phantom-node.js';
import { removeTemporaryFiles, writeFileAtomically } from '../src/io/atomic-write.js';

const dir = mkdtempSync(join(tmpdir(), 'transseg-bad-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const path = (...parts: string[]) => join(dir, ...parts);
const dataset = path('data', 'dataset.json');

beforeAll(async () => {
  await writePhantomDataset(path('data'), { training: 3, validation: 1, test: 0, seed: 2, phantom: { dims: [16, 16, 4], spacing: [1, 1, 3] } });
  await writePhantomDataset(path('no-validation'), { training: 3, validation: 0, test: 0, seed: 2, phantom: { dims: [16, 16, 4], spacing: [1, 1, 3] } });
  writeFileSync(path('vit.json'), JSON.stringify({ embedDim: 8, depth: 2, heads: 2, mlpHidden: 16, patchSize: 4, normalization: { mean: [0], std: [1] } }));
});

/** A run that would train in seconds, were its flags right. */
const flags = (out: string, data = dataset) => [
  '--dataset', data, '--out', out, '--no-pretrained', '--preset', 'vit_tiny_patch16_224', '--config', path('vit.json'),
  '--image-size', '8', '--depth', '3', '--decoder', 'convtrans', '--channels', '4', '--batch-size', '2', '--steps', '1',
];

describe('train: bad input fails before anything is written', () => {
  it('a folder as --dataset', async () => {
    const out = path('out-folder-dataset');
    await expect(train(flags(out, path('data')))).rejects.toThrow(`cannot read the dataset file ${path('data')}: it is a folder, not a file (EISDIR)`);
    expect(existsSync(out)).toBe(false);
  });

  it('a dataset with "training": []', async () => {
    const empty = path('data', 'empty.json');
    writeFileSync(empty, JSON.stringify({ name: 'empty', labels: { 0: 'background', 1: 'x' }, modality: { 0: 'CT' }, training: [], validation: [] }));
    const out = path('out-empty');
    await expect(train(flags(out, empty))).rejects.toThrow(`train: ${empty} lists no "training" cases; training needs at least one`);
    expect(existsSync(out)).toBe(false);
  });

  it('invalid JSON in --config', async () => {
    const bad = path('bad.json');
    writeFileSync(bad, '{"embedDim": 8,');
    const args = flags(path('out-config'));
    args[args.indexOf('--config') + 1] = bad;
    await expect(train(args)).rejects.toThrow(new RegExp(`^--config ${bad}: not a JSON object \\(.+\\)$`));
    expect(existsSync(path('out-config'))).toBe(false);
  });

  it('--feature-blocks beyond the encoder', async () => {
    const out = path('out-blocks');
    await expect(train([...flags(out), '--feature-blocks', '0,1,2,99'])).rejects.toThrow('train: --feature-blocks 0,1,2,99: the encoder has 2 blocks, numbered 0..1');
    expect(existsSync(out)).toBe(false);
  });

  it('--val-fraction outside [0, 1), or given for a dataset with a validation list', async () => {
    const out = path('out-fraction');
    await expect(train([...flags(out, path('no-validation', 'dataset.json')), '--val-fraction', '2'])).rejects.toThrow('train: --val-fraction must be in [0, 1) (0: no validation), got 2');
    await expect(train([...flags(out), '--val-fraction', '0.3'])).rejects.toThrow(`train: --val-fraction 0.3: ${dataset} has its own "validation" list, which is used as it is; leave --val-fraction out`);
    expect(existsSync(out)).toBe(false);
  });

  it('--out that is a file, or holds an earlier run', async () => {
    writeFileSync(path('a-file'), 'x');
    await expect(train(flags(path('a-file')))).rejects.toThrow(`train: --out ${path('a-file')} is a file; give a folder`);
    const used = path('used');
    mkdirSync(used);
    writeFileSync(join(used, 'metrics.jsonl'), '{"kind":"train","step":1}\n');
    writeFileSync(join(used, 'notes.txt'), 'mine');
    await expect(train(flags(used))).rejects.toThrow(`train: --out ${used} already holds a run (metrics.jsonl); continue it with --resume, or give --force to delete those files and start over`);
    expect(readdirSync(used).sort()).toEqual(['metrics.jsonl', 'notes.txt']);
  });

  it('--resume where there is nothing to resume', async () => {
    await expect(train(['--out', path('nothing'), '--resume'])).rejects.toThrow(`--resume: ${path('nothing')} holds no run to resume (${path('nothing', 'run.json')} does not exist); start one without --resume`);
    await expect(train(['--out', path('nothing'), '--resume', '--force'])).rejects.toThrow('train: --force starts afresh and --resume continues; give one of them');
    // Killed before its first checkpoint: run.json exists, checkpoint.json does not.
    const early = path('early');
    mkdirSync(early);
    const modelJson = { embedDim: 8, depth: 2, heads: 2, mlpHidden: 16, patchSize: 4 };
    const options = { dataset, out: early, pretrained: false, preset: 'vit_tiny_patch16_224', modelJson, imageSize: 8, depth: 3, decoder: 'convtrans', channels: 4, settings: { steps: 1, intensity: { kind: 'none' } } };
    writeFileSync(join(early, 'run.json'), JSON.stringify({ options }));
    await expect(train(['--out', early, '--resume'])).rejects.toThrow(`--resume: ${early} has no checkpoint (no checkpoint.json): the run stopped before its first one (written every --validate-every steps); start it again with --force`);
    expect(readdirSync(early)).toEqual(['run.json']);
  });
});

describe('inspect and inflate', () => {
  it('inspect of a folder names it', async () => {
    await expect(inspect([path('data')])).rejects.toThrow(`cannot read the checkpoint ${path('data')}: it is a folder, not a file (EISDIR)`);
  });

  it('a folder as --weights', async () => {
    await expect(inflate(['--weights', path('data'), '--out', path('encoder.safetensors')])).rejects.toThrow(`cannot read the checkpoint ${path('data')}: it is a folder, not a file (EISDIR)`);
  });

  it('inflate --out into a missing folder names the folder, not a temporary file', async () => {
    const weights = new URL('./fixtures/checkpoints/timm-vit.safetensors', import.meta.url).pathname;
    const out = path('missing', 'encoder.safetensors');
    await expect(inflate(['--weights', weights, '--out', out])).rejects.toThrow(`inflate: --out ${out}: the folder ${path('missing')} does not exist`);
    expect(existsSync(path('missing'))).toBe(false);
  });
});

describe('file-system errors in words', () => {
  const errno = (code: string, syscall: string, extra: object = {}) => Object.assign(new Error(`${code}: raw text`), { code, syscall, ...extra });

  it('names the path and the operation, or says the path is unknown', () => {
    expect(cliErrorMessage(errno('EISDIR', 'read'))).toBe('cannot read a file (its path unknown): it is a folder, not a file (EISDIR)');
    expect(cliErrorMessage(errno('ENOENT', 'open', { path: '/x/y.nii' }))).toBe('cannot open /x/y.nii: it does not exist (or its folder does not) (ENOENT)');
    expect(cliErrorMessage(errno('EEXIST', 'mkdir', { path: '/x/out' }))).toBe('cannot create the folder /x/out: it already exists (EEXIST)');
    expect(cliErrorMessage(errno('EPERM', 'rename', { path: '/x/a', dest: '/x/b' }))).toBe('cannot rename /x/a to /x/b: the operation is not permitted (EPERM)');
    expect(cliErrorMessage(new Error('predict: --model m.safetensors is an encoder'))).toBe('predict: --model m.safetensors is an encoder');
  });

  it('an atomic write into a missing folder names the file, not its temporary name', async () => {
    const target = path('absent', 'labels.nii.gz');
    await expect(writeFileAtomically(target, async () => {})).rejects.toThrow(`cannot create ${target}: it does not exist (or its folder does not) (ENOENT)`);
  });
});

describe('temporary files on every exit path', () => {
  it('removeTemporaryFiles removes the files of writes still running', async () => {
    const folder = path('writes');
    mkdirSync(folder);
    let started!: () => void;
    const writing = new Promise<void>((resolve) => { started = resolve; });
    const never = new Promise<void>(() => {});
    void writeFileAtomically(join(folder, 'out.nii.gz'), async (file) => {
      await file.writeFile('half');
      started();
      await never;
    });
    await writing;
    expect(readdirSync(folder)).toEqual([expect.stringMatching(/^out\.nii\.gz\.[0-9a-f-]{36}\.tmp$/)]);
    removeTemporaryFiles();
    expect(readdirSync(folder)).toEqual([]);
  });

  it('a process killed by SIGTERM or SIGINT mid-write leaves no temporary file and dies of the signal', async () => {
    const child = path('hold.mjs');
    buildSync({ entryPoints: [new URL('./helpers/hold-temporary-file.ts', import.meta.url).pathname], bundle: true, platform: 'node', format: 'esm', outfile: child, logLevel: 'error' });
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const folder = path(`killed-${signal}`);
      mkdirSync(folder);
      const process_ = spawn(process.execPath, [child, join(folder, 'labels.nii.gz')], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => process_.stdout.on('data', (d: Buffer) => d.toString().includes('writing') && resolve()));
      expect(readdirSync(folder)).toHaveLength(1); // the temporary file
      const exit = new Promise<NodeJS.Signals | null>((resolve) => process_.on('exit', (_code, s) => resolve(s)));
      process_.kill(signal);
      expect(await exit).toBe(signal);
      expect(readdirSync(folder)).toEqual([]);
    }
  });
});
