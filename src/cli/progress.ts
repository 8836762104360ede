// A one-line progress display on stderr: redrawn in place on a terminal, a line every few
// percent otherwise (logs, CI), so long runs always show that they are alive.

import { STDERR_TTY_ENV } from './dawn-log.js';

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export class ProgressLine {
  /** A terminal, here or (for a command run under src/cli/dawn-log.ts) in the parent process. */
  private readonly tty = Boolean(process.stderr.isTTY) || process.env[STDERR_TTY_ENV] === '1';
  private lastPercent = -1;

  constructor(private readonly label: string) {}

  update(done: number, total: number, detail = '', etaSeconds?: number): void {
    const percent = Math.floor((100 * done) / total);
    const width = 24;
    const filled = Math.round((width * done) / total);
    const bar = `[${'='.repeat(filled)}${filled < width ? '>' : ''}${' '.repeat(Math.max(0, width - filled - 1))}]`;
    const eta = etaSeconds === undefined ? '' : `  eta ${duration(etaSeconds)}`;
    const line = `${this.label} ${done}/${total} ${bar} ${detail}${eta}`;
    if (this.tty) process.stderr.write(`\r${line}\x1b[K${done === total ? '\n' : ''}`);
    else if (percent >= this.lastPercent + 5 || done === total) {
      process.stderr.write(`${line}\n`);
      this.lastPercent = percent;
    }
  }
}

/** A progress callback for a download (bytes), drawn as a ProgressLine with MB figures. */
export function downloadProgress(label: string): (done: number, total: number) => void {
  const line = new ProgressLine(label);
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  return (done, total) => line.update(done, total, `${mb(done)}/${mb(total)} MB`);
}
