// `npm run web`: the browser page (web/). Bundles web/app.ts and its worker web/worker.ts, with the
// library's TypeScript sources they import, in memory with esbuild, and serves it with index.html and style.css from
// this machine: nothing else is served and the page fetches from no other origin.
//
//   node scripts/web.mjs [--port 8080] [--host 127.0.0.1]
//
// --port 0 takes any free port. Prints the page's URL. The bundle is built once at start: restart
// after editing web/, src/ or shaders/.

import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import './embed-shaders.mjs'; // shaders/*.wgsl → src/gpu/shaders.generated.ts, which the bundle holds

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'web');

/** The same policy as index.html's meta tag, plus frame-ancestors, which only a header can carry. */
const CSP = "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function usage(problem) {
  console.error(`web: ${problem}\nusage: node scripts/web.mjs [--port 8080] [--host 127.0.0.1]`);
  process.exit(2);
}

/** URL path → [body, content type]: the page, its style sheet, and the bundles with their source maps. */
async function buildSite() {
  const result = await esbuild.build({
    entryPoints: [join(web, 'app.ts'), join(web, 'worker.ts')], // the page, and its worker (web/worker.ts)
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'linked',
    outdir: web, // nothing is written (write: false): this names the outputs web/app.js, web/worker.js and their maps
    write: false,
    logLevel: 'warning',
  });
  const site = new Map([
    ['/', [await readFile(join(web, 'index.html')), 'text/html; charset=utf-8']],
    ['/style.css', [await readFile(join(web, 'style.css')), 'text/css; charset=utf-8']],
  ]);
  for (const file of result.outputFiles) {
    site.set(`/${relative(web, file.path)}`, [file.contents, file.path.endsWith('.map') ? 'application/json' : 'text/javascript; charset=utf-8']);
  }
  site.set('/index.html', site.get('/'));
  return site;
}

const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' } } });
const port = Number(values.port);
if (!/^\d+$/.test(values.port) || port > 65535) usage(`--port must be a number from 0 to 65535, got '${values.port}'`);

const site = await buildSite();
const server = createServer((request, response) => {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const page = site.get(path);
  const status = request.method !== 'GET' && request.method !== 'HEAD' ? 405 : page ? 200 : 404;
  response.writeHead(status, {
    'Content-Type': page && status === 200 ? page[1] : 'text/plain; charset=utf-8',
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  });
  response.end(request.method === 'HEAD' ? undefined : status === 200 ? page[0] : `${status} ${path}\n`);
});
server.on('error', (error) => {
  console.error(error.code === 'EADDRINUSE' ? `web: port ${port} on ${values.host} is in use; pass --port N (0: any free port)` : `web: ${error.message}`);
  process.exit(1);
});
server.listen(port, values.host, () => {
  const { address, port: actual } = server.address();
  const host = address.includes(':') ? `[${address}]` : address;
  console.log(`transseg web page: http://${host}:${actual}/`);
  if (!['127.0.0.1', '::1', 'localhost'].includes(values.host)) {
    console.log('  (browsers offer WebGPU only in a secure context: from another machine the page needs HTTPS or an SSH tunnel to localhost)');
  }
});
