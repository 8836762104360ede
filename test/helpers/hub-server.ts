// A local stand-in for the Hugging Face Hub's resolve endpoint (127.0.0.1 only), as
// huggingface_hub sees it: HEAD /ORG/REPO/resolve/<rev>/<file> answers X-Repo-Commit, and either
// 200 with ETag (a git blob sha1) and Content-Length for small git files, or a 302 to a "CDN" URL
// with X-Linked-Etag (the sha256) and X-Linked-Size for LFS files. GET honours `Range: bytes=N-`.
// Per-file faults simulate what the client must survive.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedFile {
  bytes: Uint8Array;
  /** Served as an LFS file (redirect, sha256 ETag); plain git file otherwise. */
  lfs: boolean;
  /** The next GET sends only this many bytes, then cuts the connection (once). */
  cutAfter?: number;
  /** Announce this size instead of the real one. */
  announcedSize?: number;
  /** Announce this ETag instead of the real one. */
  announcedEtag?: string;
}

export interface RecordedRequest {
  method: string;
  url: string;
  range?: string;
  authorization?: string;
}

export const COMMIT = 'a'.repeat(40);

export class FakeHub {
  readonly requests: RecordedRequest[] = [];
  /** `ORG/REPO/file` → file. */
  readonly files = new Map<string, ServedFile>();
  /** Repositories that answer 401 (private, gated or absent). */
  readonly locked = new Set<string>();
  private server!: Server;
  endpoint = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  count(method: string): number {
    return this.requests.filter((r) => r.method === method).length;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push({ method: req.method!, url: req.url!, range: req.headers.range, authorization: req.headers.authorization });
    const cdn = /^\/cdn\/(.+)$/.exec(req.url!);
    if (cdn) return this.send(req, res, this.files.get(decodeURIComponent(cdn[1])));
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url!);
    if (!m) return void res.writeHead(400).end();
    const [, repo, revision, path] = m.map(decodeURIComponent);
    if (this.locked.has(repo)) return void res.writeHead(401, { 'x-error-code': 'RepoNotFound' }).end();
    if (revision !== 'main' && revision !== COMMIT) return void res.writeHead(404, { 'x-error-code': 'RevisionNotFound' }).end();
    const key = `${repo}/${path}`;
    const file = this.files.get(key);
    if (!file) return void res.writeHead(404, { 'x-error-code': 'EntryNotFound', 'x-repo-commit': COMMIT }).end();
    const size = String(file.announcedSize ?? file.bytes.length);
    if (file.lfs) {
      const etag = file.announcedEtag ?? createHash('sha256').update(file.bytes).digest('hex');
      res.writeHead(302, {
        location: `${this.endpoint}/cdn/${encodeURIComponent(key)}`, 'x-repo-commit': COMMIT, 'x-linked-etag': `"${etag}"`, 'x-linked-size': size,
      });
      return void res.end();
    }
    if (req.method === 'HEAD') {
      const etag = file.announcedEtag ?? createHash('sha1').update(`blob ${file.bytes.length}\0`).update(file.bytes).digest('hex');
      return void res.writeHead(200, { 'x-repo-commit': COMMIT, etag: `"${etag}"`, 'content-length': size }).end();
    }
    this.send(req, res, file);
  }

  private send(req: IncomingMessage, res: ServerResponse, file: ServedFile | undefined): void {
    if (!file) return void res.writeHead(404).end();
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const body = file.bytes.subarray(start);
    res.writeHead(range ? 206 : 200, {
      'content-length': String(body.length),
      ...(range ? { 'content-range': `bytes ${start}-${file.bytes.length - 1}/${file.bytes.length}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    if (file.cutAfter !== undefined) {
      const cut = file.cutAfter;
      file.cutAfter = undefined;
      // Part of the body, then the connection closed mid-body. The pause lets the client read what
      // came: a fetch body stream that errors drops the chunks still queued in it.
      return void res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.end(), 300));
    }
    res.end(body);
  }
}
