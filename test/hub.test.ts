// Hub weights (src/io/hub-node.ts, src/checkpoint/hub-node.ts) against a local stand-in for the
// Hugging Face Hub (test/helpers/hub-server.ts): download into huggingface_hub's cache layout,
// reuse, resume, offline mode, and every failure leaving no file under its final name.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHubReference } from '../src/checkpoint/hub-config.js';
import { resolveWeights } from '../src/checkpoint/hub-node.js';
import { loadCheckpointFile } from '../src/checkpoint/load.js';
import { inspect } from '../src/cli/inspect.js';
import { writePhantomDataset } from '../src/synthetic/phantom-node.js';
import { prepareRun } from '../src/train/setup-node.js';
import { testGpu } from './helpers/gpu.js';
import { hubFile, hubOptionsFromEnv, optionalHubFile, type HubOptions } from '../src/io/hub-node.js';
import { COMMIT, FakeHub } from './helpers/hub-server.js';

const CHECKPOINT = readFileSync(new URL('./fixtures/checkpoints/timm-vit.safetensors', import.meta.url));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const REPO = 'org/vit-test';
// timm's config.json for the fixture (embed 32, depth 2, 4 heads, patch 4, 16×16, 5 classes).
const TIMM_CONFIG = {
  architecture: 'vit_test_patch4_16', num_classes: 5, global_pool: 'token',
  model_args: { embed_dim: 32, depth: 2, num_heads: 4, patch_size: 4, img_size: 16 },
  pretrained_cfg: { input_size: [3, 16, 16], mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
};

const hub = new FakeHub();
let cacheCount = 0;

/** Options for a fresh, empty cache. */
function fresh(extra: Partial<HubOptions> = {}): HubOptions {
  return { endpoint: hub.endpoint, cacheDir: mkdtempSync(join(tmpdir(), `transseg-hub-${cacheCount++}-`)), offline: false, ...extra };
}

function serve(name: string, bytes: Uint8Array, extra: Partial<Parameters<FakeHub['files']['set']>[1]> = {}, lfs = true): void {
  hub.files.set(`${REPO}/${name}`, { bytes, lfs, ...extra });
}

/** Every file under `dir` (relative paths), to show what a failure left behind. */
function listing(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

beforeAll(() => hub.start());
afterAll(() => hub.stop());

describe('hf: references', () => {
  it('parse into repo, revision and file with defaults', () => {
    expect(parseHubReference('hf:timm/vit_base_patch16_224.augreg2_in21k_ft_in1k'))
      .toEqual({ repo: 'timm/vit_base_patch16_224.augreg2_in21k_ft_in1k', revision: 'main', file: 'model.safetensors' });
    expect(parseHubReference('hf:org/repo@v1.0:sub/w.safetensors')).toEqual({ repo: 'org/repo', revision: 'v1.0', file: 'sub/w.safetensors' });
    expect(() => parseHubReference('hf:noslash')).toThrow(/expected hf:ORG\/REPO\[@revision\]\[:file\]/);
    expect(() => parseHubReference('hf:org/repo:pytorch_model.bin')).toThrow(/only \.safetensors files/);
  });

  it('read HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_TOKEN and HF_HUB_OFFLINE as huggingface_hub does', () => {
    expect(hubOptionsFromEnv({ HF_HOME: '/h', HF_ENDPOINT: 'http://x/', HF_TOKEN: 't', HF_HUB_OFFLINE: '1' }))
      .toEqual({ endpoint: 'http://x', cacheDir: join('/h', 'hub'), token: 't', offline: true });
    expect(hubOptionsFromEnv({ HF_HUB_CACHE: '/c', XDG_CACHE_HOME: '/x' }).cacheDir).toBe('/c');
    expect(hubOptionsFromEnv({ XDG_CACHE_HOME: '/x' })).toMatchObject({ cacheDir: join('/x', 'huggingface', 'hub'), offline: false, endpoint: 'https://huggingface.co' });
  });
});

describe('hub downloads', () => {
  it('download into the huggingface_hub cache layout, verified, with progress', async () => {
    serve('model.safetensors', CHECKPOINT);
    const options = fresh({ token: 'secret' });
    const progress: number[] = [];
    const path = await hubFile({ repo: REPO, revision: 'main', file: 'model.safetensors' }, { ...options, onProgress: (d) => progress.push(d) });
    const folder = join(options.cacheDir, 'models--org--vit-test');
    expect(path).toBe(join(folder, 'snapshots', COMMIT, 'model.safetensors'));
    expect(readFileSync(path).equals(CHECKPOINT)).toBe(true);
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path)).toBe(join('..', '..', 'blobs', sha256(CHECKPOINT)));
    expect(readFileSync(join(folder, 'refs', 'main'), 'utf8')).toBe(COMMIT);
    expect(progress.at(-1)).toBe(CHECKPOINT.length);
    // The token goes to the hub's resolve endpoint; the test's CDN shares its origin, so it gets it too.
    expect(hub.requests.filter((r) => r.url.includes('/resolve/')).every((r) => r.authorization === 'Bearer secret')).toBe(true);
  });

  it('reuse the cache: one HEAD and no download for a branch, no request at all for a commit or offline', async () => {
    serve('model.safetensors', CHECKPOINT);
    const options = fresh();
    const file = { repo: REPO, revision: 'main', file: 'model.safetensors' };
    await hubFile(file, options);
    const [heads, gets] = [hub.count('HEAD'), hub.count('GET')];
    await hubFile(file, options);
    expect([hub.count('HEAD') - heads, hub.count('GET') - gets]).toEqual([1, 0]);
    const total = hub.requests.length;
    await hubFile({ ...file, revision: COMMIT }, options);
    await hubFile(file, { ...options, offline: true });
    expect(hub.requests.length).toBe(total);
  });

  it('use a file another tool put in the cache, offline', async () => {
    const options = fresh({ offline: true });
    const folder = join(options.cacheDir, 'models--org--other');
    mkdirSync(join(folder, 'blobs'), { recursive: true });
    mkdirSync(join(folder, 'snapshots', COMMIT), { recursive: true });
    mkdirSync(join(folder, 'refs'));
    writeFileSync(join(folder, 'blobs', sha256(CHECKPOINT)), CHECKPOINT);
    symlinkSync(join('..', '..', 'blobs', sha256(CHECKPOINT)), join(folder, 'snapshots', COMMIT, 'model.safetensors'));
    writeFileSync(join(folder, 'refs', 'main'), COMMIT);
    const path = await hubFile({ repo: 'org/other', revision: 'main', file: 'model.safetensors' }, options);
    expect(readFileSync(path).equals(CHECKPOINT)).toBe(true);
  });

  it('offline without the file in the cache fails clearly and asks nothing', async () => {
    const before = hub.requests.length;
    await expect(hubFile({ repo: REPO, revision: 'main', file: 'model.safetensors' }, fresh({ offline: true })))
      .rejects.toThrow(/hf:org\/vit-test@main:model.safetensors: not in the cache .*models--org--vit-test \(offline mode/);
    expect(hub.requests.length).toBe(before);
  });

  it('an unreachable hub is a clear error, unless the file is cached', async () => {
    serve('model.safetensors', CHECKPOINT);
    const options = fresh();
    const file = { repo: REPO, revision: 'main', file: 'model.safetensors' };
    // A port nothing listens on: one a server just gave back.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const down = { ...options, endpoint: `http://127.0.0.1:${port}` };
    await expect(hubFile(file, down)).rejects.toThrow(`hf:org/vit-test@main:model.safetensors: cannot reach http://127.0.0.1:${port} (ECONNREFUSED)`);
    const path = await hubFile(file, options);
    expect(await hubFile(file, down)).toBe(path);
  });

  it('resume an interrupted download with a Range request', async () => {
    const cut = 40_000;
    serve('model.safetensors', CHECKPOINT, { cutAfter: cut });
    const options = fresh();
    const file = { repo: REPO, revision: 'main', file: 'model.safetensors' };
    await expect(hubFile(file, options)).rejects.toThrow(new RegExp(`stopped after ${cut} of ${CHECKPOINT.length} bytes.*run the command again to resume`));
    const blobs = join(options.cacheDir, 'models--org--vit-test', 'blobs');
    // Only the partial file, under its .incomplete name; no snapshot.
    expect(listing(options.cacheDir)).toEqual([join('models--org--vit-test', 'blobs', `${sha256(CHECKPOINT)}.incomplete`)]);
    expect(readFileSync(join(blobs, `${sha256(CHECKPOINT)}.incomplete`)).length).toBe(cut);
    const path = await hubFile(file, options);
    expect(hub.requests.at(-1)).toMatchObject({ method: 'GET', range: `bytes=${cut}-` });
    expect(readFileSync(path).equals(CHECKPOINT)).toBe(true);
    expect(readdirSync(blobs)).toEqual([sha256(CHECKPOINT)]);
  });

  it('reject a wrong size or a bad sha256 and keep nothing', async () => {
    const file = { repo: REPO, revision: 'main', file: 'model.safetensors' };
    serve('model.safetensors', CHECKPOINT, { announcedSize: CHECKPOINT.length - 10 });
    const a = fresh();
    await expect(hubFile(file, a)).rejects.toThrow(new RegExp(`the file has ${CHECKPOINT.length} bytes, the hub announced ${CHECKPOINT.length - 10}; the downloaded file was discarded`));
    expect(listing(a.cacheDir)).toEqual([]);

    const wrong = sha256(new Uint8Array([1, 2, 3]));
    serve('model.safetensors', CHECKPOINT, { announcedEtag: wrong });
    const b = fresh();
    await expect(hubFile(file, b)).rejects.toThrow(new RegExp(`sha256 mismatch: expected ${wrong}, got ${sha256(CHECKPOINT)}; the downloaded file was discarded`));
    expect(listing(b.cacheDir)).toEqual([]);

    // A plain git file (config.json) is checked against its git blob sha1.
    serve('config.json', new TextEncoder().encode('{}'), { announcedEtag: 'b'.repeat(40) }, false);
    await expect(hubFile({ ...file, file: 'config.json' }, fresh())).rejects.toThrow(/git-sha1 mismatch: expected b{40}/);
  });

  it('report 404 and 401 clearly', async () => {
    hub.files.delete(`${REPO}/absent.safetensors`);
    const options = fresh();
    const missing = { repo: REPO, revision: 'main', file: 'absent.safetensors' };
    await expect(hubFile(missing, options)).rejects.toThrow(/hf:org\/vit-test@main:absent.safetensors: the repository has no such file \(HTTP 404 EntryNotFound\)/);
    // The 404 is remembered, as huggingface_hub does: offline knows the file does not exist.
    expect(await optionalHubFile(missing, { ...options, offline: true })).toBeNull();
    await expect(hubFile({ ...missing, revision: 'nope' }, options)).rejects.toThrow(/no revision 'nope' \(HTTP 404 RevisionNotFound\)/);
    hub.locked.add('org/private');
    const locked = { repo: 'org/private', revision: 'main', file: 'model.safetensors' };
    await expect(hubFile(locked, options)).rejects.toThrow(/does not exist, or it is private or gated \(HTTP 401 RepoNotFound\); set HF_TOKEN/);
    await expect(hubFile(locked, { ...options, token: 't' })).rejects.toThrow(/HF_TOKEN was sent but does not give access/);
    expect(listing(options.cacheDir).filter((p) => !p.includes('.no_exist') && !p.includes('refs'))).toEqual([]);
  });

  it('resolve hf: weights with their config.json into a checkpoint the adapter describes fully', async () => {
    serve('model.safetensors', CHECKPOINT);
    serve('config.json', new TextEncoder().encode(JSON.stringify(TIMM_CONFIG)), {}, false);
    const options = fresh();
    const resolved = await resolveWeights(`hf:${REPO}`, { hub: options });
    expect(resolved.repository?.source).toBe(`hf:${REPO}@main:config.json`);
    const checkpoint = await loadCheckpointFile(resolved.path, { preset: resolved.preset, repository: resolved.repository });
    expect(checkpoint.config).toMatchObject({ heads: 4, embedDim: 32, imageSize: [16, 16], head: { kind: 'linear', classes: 5, pool: 'token' } });
    expect(checkpoint.config.normalization).toEqual({ mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
    // Without config.json the heads are unknown: the repository's config is what told them.
    await expect(loadCheckpointFile(resolved.path)).rejects.toThrow(/heads: the weights do not tell it/);
    // Offline, from the cache alone, the same.
    const offline = await resolveWeights(`hf:${REPO}`, { hub: { ...options, offline: true } });
    expect(offline).toEqual(resolved);
  });

  it('work from the command line: inspect hf:ORG/REPO with HF_ENDPOINT and HF_HOME, then --offline', async () => {
    serve('model.safetensors', CHECKPOINT);
    serve('config.json', new TextEncoder().encode(JSON.stringify(TIMM_CONFIG)), {}, false);
    const saved = { endpoint: process.env.HF_ENDPOINT, home: process.env.HF_HOME };
    process.env.HF_ENDPOINT = hub.endpoint;
    process.env.HF_HOME = mkdtempSync(join(tmpdir(), 'transseg-hf-home-'));
    try {
      const report = JSON.parse(await inspect([`hf:${REPO}`, '--json']));
      expect(report).toMatchObject({ format: 'timm-vit', config: { heads: 4, embedDim: 32 } });
      const before = hub.requests.length;
      expect(JSON.parse(await inspect([`hf:${REPO}`, '--offline', '--json'])).config).toEqual(report.config);
      expect(hub.requests.length).toBe(before);
      expect(existsSync(join(process.env.HF_HOME, 'hub', 'models--org--vit-test', 'snapshots', COMMIT, 'config.json'))).toBe(true);
    } finally {
      for (const [key, value] of [['HF_ENDPOINT', saved.endpoint], ['HF_HOME', saved.home]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('train takes hf: weights: the encoder is inflated from the downloaded checkpoint with its config.json', async () => {
    serve('model.safetensors', CHECKPOINT);
    serve('config.json', new TextEncoder().encode(JSON.stringify(TIMM_CONFIG)), {}, false);
    const options = fresh();
    await resolveWeights(`hf:${REPO}`, { hub: options }); // into the cache; prepareRun then reads it offline
    const data = mkdtempSync(join(tmpdir(), 'transseg-hub-train-'));
    await writePhantomDataset(data, { training: 3, validation: 0, test: 0, seed: 5, phantom: { dims: [16, 16, 5], spacing: [1, 1, 2] } });
    const saved = { home: process.env.HF_HUB_CACHE };
    process.env.HF_HUB_CACHE = options.cacheDir;
    try {
      const run = await prepareRun(await testGpu(), {
        dataset: join(data, 'dataset.json'), out: join(data, 'run'), weights: `hf:${REPO}`, offline: true, depth: 3,
        decoder: 'convtrans', channels: 4, settings: { steps: 1, intensity: { kind: 'none' } },
      });
      expect(run.header.encoder).toMatchObject({ heads: 4, embedDim: 32, inChannels: 1, depthSlices: 3, imageSize: [16, 16] });
      expect(run.header.provenance).toMatchObject({ source: `hf:${REPO}`, sourceFormat: 'timm-vit', pretrained: true });
      run.trainer.dispose();
      run.model.dispose();
    } finally {
      if (saved.home === undefined) delete process.env.HF_HUB_CACHE;
      else process.env.HF_HUB_CACHE = saved.home;
    }
  });
});
