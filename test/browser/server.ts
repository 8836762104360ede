// Starts `node scripts/web.mjs --port 0` (the page's own server, as `npm run web` runs it) and
// returns the URL it prints.
import { spawn, type ChildProcess } from 'node:child_process';

export interface PageServer {
  url: string;
  stop: () => void;
}

export function startPageServer(): Promise<PageServer> {
  const child: ChildProcess = spawn(process.execPath, ['scripts/web.mjs', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /http:\/\/\S+\//.exec(output)?.[0];
      if (url) resolve({ url, stop: () => child.kill() });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.on('exit', (code) => reject(new Error(`scripts/web.mjs exited (${code}) before printing its URL:\n${output}`)));
  });
}
