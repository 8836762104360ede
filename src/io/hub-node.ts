// Files from the Hugging Face Hub (Node only): the resolve protocol of huggingface_hub's
// hf_hub_download and its cache layout, so files either tool downloaded are reused by the other.
//
//   {cache}/models--ORG--REPO/blobs/<etag>                    the file, named by its ETag (sha256 for LFS files)
//   {cache}/models--ORG--REPO/blobs/<etag>.incomplete         a download in progress (resumed with HTTP Range)
//   {cache}/models--ORG--REPO/snapshots/<commit>/<file>       a relative symlink to the blob
//   {cache}/models--ORG--REPO/refs/<revision>                 the commit a branch or tag pointed at
//   {cache}/models--ORG--REPO/.no_exist/<commit>/<file>       a file the hub said does not exist
//
// {cache} is HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub. A HEAD request on {endpoint}/ORG/REPO/resolve/<revision>/<file> gives
// the commit (X-Repo-Commit), the ETag and the size (X-Linked-Etag / X-Linked-Size when the hub
// redirects an LFS file to its CDN; ETag / Content-Length otherwise). A file is only ever moved to
// its blob name once its size and hash are verified.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';

export interface HubFile {
  /** ORG/REPO. */
  repo: string;
  /** A branch, a tag or a commit hash. */
  revision: string;
  /** The path inside the repository. */
  file: string;
}

export interface HubOptions {
  /** The hub's address (HF_ENDPOINT); https://huggingface.co by default. */
  endpoint: string;
  /** The cache folder (see the top of this file). */
  cacheDir: string;
  /** Sent as a bearer token to the endpoint (HF_TOKEN). */
  token?: string;
  /** Read the cache only (HF_HUB_OFFLINE=1 or --offline). */
  offline: boolean;
  /** Called as bytes arrive. */
  onProgress?: (done: number, total: number) => void;
}

/** The hub settings from the environment, as huggingface_hub reads them. */
export function hubOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): HubOptions {
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
  return {
    endpoint: (env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, ''),
    cacheDir: env.HF_HUB_CACHE ?? join(home, 'hub'),
    token: env.HF_TOKEN || undefined,
    offline: ['1', 'on', 'yes', 'true'].includes((env.HF_HUB_OFFLINE ?? '').toLowerCase()),
  };
}

const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** How a file is named in messages: hf:ORG/REPO@revision:file. */
export const hubName = (f: HubFile): string => `hf:${f.repo}@${f.revision}:${f.file}`;

function repoFolder(options: HubOptions, repo: string): string {
  return join(options.cacheDir, `models--${repo.split('/').join('--')}`);
}

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

/** The cached copy of `f` at its revision, or null. */
async function cached(options: HubOptions, f: HubFile): Promise<{ path: string } | { missing: true } | null> {
  const folder = repoFolder(options, f.repo);
  const commit = COMMIT_HASH.test(f.revision)
    ? f.revision
    : await readFile(join(folder, 'refs', f.revision), 'utf8').then((s) => s.trim(), () => null);
  if (commit === null) return null;
  const path = join(folder, 'snapshots', commit, f.file);
  if (await exists(path)) return { path };
  if (await exists(join(folder, '.no_exist', commit, f.file))) return { missing: true };
  return null;
}

/** Thrown for a file the hub says does not exist (HTTP 404 EntryNotFound). */
export class HubFileNotFound extends Error {
  /** The commit the hub answered for, when it said. */
  constructor(message: string, readonly commit?: string) {
    super(message);
  }
}

/** The hub could not be reached at all (no HTTP answer). */
class HubUnreachable extends Error {}

/** fetch, with a failure to connect turned into an error that names the file and the hub. */
async function request(url: string, init: RequestInit, f: HubFile): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new HubUnreachable(`${hubName(f)}: cannot reach ${new URL(url).origin} (${cause?.code ?? cause?.message ?? (e as Error).message}); ` +
      'with the file in the cache, --offline (or HF_HUB_OFFLINE=1) uses it without asking');
  }
}

/**
 * The local path of `f`, downloaded into the cache when it is not there. Offline, a file that is
 * not cached is an error. Online, a revision that is a commit hash with the file cached makes no
 * request; a branch or tag costs one HEAD request (to learn its current commit) and no download
 * when that commit's file is cached.
 */
export async function hubFile(f: HubFile, options: HubOptions): Promise<string> {
  const hit = await cached(options, f);
  if (hit && 'missing' in hit) throw new HubFileNotFound(`${hubName(f)}: the repository has no such file (cached answer of the hub)`);
  if (hit && (options.offline || COMMIT_HASH.test(f.revision))) return hit.path;
  if (options.offline) {
    throw new Error(`${hubName(f)}: not in the cache ${repoFolder(options, f.repo)} (offline mode: --offline or HF_HUB_OFFLINE); ` +
      'run once online to download it');
  }
  const url = `${options.endpoint}/${f.repo}/resolve/${encodeURIComponent(f.revision)}/${f.file.split('/').map(encodeURIComponent).join('/')}`;
  let meta: Metadata;
  try {
    meta = await fileMetadata(url, f, options);
  } catch (e) {
    if (e instanceof HubFileNotFound) await markMissing(options, f, e.commit);
    // Unreachable hub with the file cached: use the cache, as huggingface_hub does.
    if (hit && e instanceof HubUnreachable) return hit.path;
    throw e;
  }
  const folder = repoFolder(options, f.repo);
  const blob = join(folder, 'blobs', meta.etag);
  if (!(await exists(blob))) await download(meta, blob, f, options);
  const snapshot = join(folder, 'snapshots', meta.commit, f.file);
  await linkSnapshot(blob, snapshot);
  if (f.revision !== meta.commit) {
    await mkdir(dirname(join(folder, 'refs', f.revision)), { recursive: true });
    await writeFile(join(folder, 'refs', f.revision), meta.commit);
  }
  return snapshot;
}

/** Like hubFile, but null for a file the repository does not have. */
export async function optionalHubFile(f: HubFile, options: HubOptions): Promise<string | null> {
  try {
    return await hubFile(f, options);
  } catch (e) {
    if (e instanceof HubFileNotFound) return null;
    throw e;
  }
}

interface Metadata {
  commit: string;
  /** The ETag without quotes: a sha256 (LFS files) or a git blob sha1. */
  etag: string;
  size: number;
  /** Where the bytes are: the resolve URL, or the CDN it redirects to. */
  downloadUrl: string;
}

function authHeaders(url: string, options: HubOptions): Record<string, string> {
  // The token goes to the hub only, never to the CDN it redirects to.
  return options.token && new URL(url).origin === new URL(options.endpoint).origin ? { authorization: `Bearer ${options.token}` } : {};
}

async function fileMetadata(url: string, f: HubFile, options: HubOptions): Promise<Metadata> {
  let current = url;
  for (let hops = 0; hops < 5; hops++) {
    const response = await request(current, { method: 'HEAD', redirect: 'manual', headers: { 'accept-encoding': 'identity', ...authHeaders(current, options) } }, f);
    const h = response.headers;
    let downloadUrl = current;
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(h.get('location') ?? '', current).href;
      // A redirect inside the hub (a renamed repository) is followed; one to the CDN carries X-Linked-*.
      if (!h.has('x-linked-etag') && new URL(location).origin === new URL(current).origin) {
        current = location;
        continue;
      }
      downloadUrl = location;
    } else if (!response.ok) {
      throw httpError(response, f, options);
    }
    const commit = h.get('x-repo-commit');
    const etag = (h.get('x-linked-etag') ?? h.get('etag'))?.replace(/^W\//, '').replace(/"/g, '');
    const sizeText = h.get('x-linked-size') ?? h.get('content-length');
    const size = sizeText === null ? NaN : Number(sizeText);
    if (!commit || !etag || !Number.isInteger(size) || size < 0) {
      throw new Error(`${hubName(f)}: ${options.endpoint} answered without X-Repo-Commit, ETag or size; is it a Hugging Face hub (HF_ENDPOINT)?`);
    }
    return { commit, etag, size, downloadUrl };
  }
  throw new Error(`${hubName(f)}: too many redirects from ${url}`);
}

function httpError(response: Response, f: HubFile, options: HubOptions): Error {
  const code = response.headers.get('x-error-code');
  const status = `HTTP ${response.status}${code ? ` ${code}` : ''}`;
  if (response.status === 404 && code !== 'RepoNotFound' && code !== 'RevisionNotFound') {
    return new HubFileNotFound(`${hubName(f)}: the repository has no such file (${status})`, response.headers.get('x-repo-commit') ?? undefined);
  }
  if (response.status === 404 && code === 'RevisionNotFound') return new Error(`${hubName(f)}: no revision '${f.revision}' (${status})`);
  if (response.status === 401 || response.status === 403 || code === 'RepoNotFound') {
    return new Error(`${hubName(f)}: the repository does not exist, or it is private or gated (${status}); ` +
      (options.token ? 'HF_TOKEN was sent but does not give access' : 'set HF_TOKEN to a token with access'));
  }
  return new Error(`${hubName(f)}: ${options.endpoint} answered ${status} ${response.statusText}`);
}

/** Remembers a 404, as huggingface_hub does, so offline runs know the file does not exist. */
async function markMissing(options: HubOptions, f: HubFile, commit: string | undefined): Promise<void> {
  if (!commit) return;
  const path = join(repoFolder(options, f.repo), '.no_exist', commit, f.file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, '');
  if (f.revision !== commit) {
    const ref = join(repoFolder(options, f.repo), 'refs', f.revision);
    if (!(await exists(ref))) {
      await mkdir(dirname(ref), { recursive: true });
      await writeFile(ref, commit);
    }
  }
}

/** Downloads into `blob`.incomplete (resuming what is there), verifies it, then renames it to `blob`. */
async function download(meta: Metadata, blob: string, f: HubFile, options: HubOptions): Promise<void> {
  const partial = `${blob}.incomplete`;
  await mkdir(dirname(blob), { recursive: true });
  let start = await stat(partial).then((s) => s.size, () => 0);
  if (start > meta.size) {
    await rm(partial);
    start = 0;
  }
  if (start < meta.size) {
    const headers: Record<string, string> = { 'accept-encoding': 'identity', ...authHeaders(meta.downloadUrl, options) };
    if (start > 0) headers.range = `bytes=${start}-`;
    const response = await request(meta.downloadUrl, { headers }, f);
    if (!response.ok) throw httpError(response, f, options);
    if (start > 0 && response.status !== 206) start = 0; // the server ignored the range: start over
    const file = await open(partial, start > 0 ? 'a' : 'w');
    let done = start;
    let stopped: unknown = null;
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        await file.write(chunk);
        done += chunk.length;
        // More bytes than announced: stop; the verification below rejects the file.
        if (done > meta.size) break;
        options.onProgress?.(done, meta.size);
      }
    } catch (e) {
      stopped = e;
    } finally {
      await file.close();
    }
    if (done < meta.size) {
      // The partial file stays under its .incomplete name for the next run to resume.
      const why = stopped ? ` (${(stopped as Error).message})` : '';
      throw new Error(`${hubName(f)}: the download stopped after ${done} of ${meta.size} bytes${why}; run the command again to resume it`);
    }
  }
  const problem = await verify(partial, meta);
  if (problem) {
    await rm(partial, { force: true });
    throw new Error(`${hubName(f)}: ${problem}; the downloaded file was discarded`);
  }
  await rename(partial, blob);
}

/** Why the file at `path` is not the one `meta` describes, or null when it is. */
async function verify(path: string, meta: Metadata): Promise<string | null> {
  const { size } = await stat(path);
  if (size !== meta.size) return `the file has ${size} bytes, the hub announced ${meta.size}`;
  // An LFS file's ETag is its sha256; a plain git file's is the sha1 of its git blob.
  const kind = /^[0-9a-f]{64}$/.test(meta.etag) ? 'sha256' : /^[0-9a-f]{40}$/.test(meta.etag) ? 'git-sha1' : null;
  if (kind === null) return null;
  const hash = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  if (kind === 'git-sha1') hash.update(`blob ${size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const actual = hash.digest('hex');
  return actual === meta.etag ? null : `${kind} mismatch: expected ${meta.etag}, got ${actual}`;
}

async function linkSnapshot(blob: string, snapshot: string): Promise<void> {
  if (await exists(snapshot)) return; // a snapshot path names one blob for good (a commit's file)
  await mkdir(dirname(snapshot), { recursive: true });
  await rm(snapshot, { force: true }); // a dangling link
  try {
    await symlink(relative(dirname(snapshot), blob), snapshot);
  } catch {
    await copyFile(blob, snapshot); // where symlinks are not allowed (Windows without developer mode)
  }
}
