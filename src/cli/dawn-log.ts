// Dawn (the WebGPU implementation of the `webgpu` package) writes its own warnings straight to the
// process's stderr from native code when it opens an adapter: on Mesa's lavapipe, two lines
// "maxDynamic…BuffersPerPipelineLayout artificially reduced …" on every run, and without a driver
// a few "Warning: vkCreateInstance …" lines with a C++ location under them. Neither create()'s
// options nor Dawn's toggles turn this logging off, and JavaScript cannot redirect a native write
// to file descriptor 2. So a command that opens a device runs in a child process whose stderr
// passes through DawnLogFilter; `--verbose` runs it in-process, warnings and all.

import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** Set in the child, so it does not start another. */
export const FILTERED_ENV = 'TRANSSEG_DAWN_LOG_FILTERED';
/** Set in the child when the parent's stderr is a terminal (the progress line redraws in place). */
export const STDERR_TTY_ENV = 'TRANSSEG_STDERR_TTY';

const WARNING = 'Warning: ';
/** Dawn's source location under a warning: `    at CheckVkSuccessImpl (…/VulkanError.cpp:106)`. */
const LOCATION = /^\s+at \S.*\)\s*$/;

/**
 * Removes Dawn's warning lines from a stream of text: a line starting `Warning: `, the location
 * lines under it and the blank line that ends the block. Everything else passes through as soon
 * as it arrives, partial lines included (a progress line redrawn with \r has no newline).
 */
export class DawnLogFilter {
  private pending = '';
  private inBlock = false;

  push(chunk: string): string {
    this.pending += chunk;
    let out = '';
    for (let nl = this.pending.indexOf('\n'); nl >= 0; nl = this.pending.indexOf('\n')) {
      out += this.line(this.pending.slice(0, nl + 1));
      this.pending = this.pending.slice(nl + 1);
    }
    if (this.pending && !this.mayBeDawn(this.pending)) {
      this.inBlock = false;
      out += this.pending;
      this.pending = '';
    }
    return out;
  }

  /** The rest, at the end of the stream. */
  end(): string {
    const rest = this.pending.startsWith(WARNING) ? '' : this.pending;
    this.pending = '';
    return rest;
  }

  private line(line: string): string {
    if (line.startsWith(WARNING)) {
      this.inBlock = true;
      return '';
    }
    if (this.inBlock && (LOCATION.test(line) || line.trim() === '')) return '';
    this.inBlock = false;
    return line;
  }

  /** A partial line that may still become one to drop: held back until its newline. */
  private mayBeDawn(partial: string): boolean {
    if (WARNING.startsWith(partial) || partial.startsWith(WARNING)) return true;
    return this.inBlock && /^\s*(a|at|at .*)?$/.test(partial);
  }
}

/**
 * Runs `node [execArgv] args` with stdin and stdout inherited and stderr through DawnLogFilter;
 * resolves to its exit status (128 + signal number when it was killed). SIGINT, SIGTERM and SIGHUP
 * sent to this process are passed on to the child (which removes its temporary files and dies of
 * it), and this process waits for it.
 */
export function runFilteringDawnLog(args: readonly string[], write: (text: string) => void = (t) => process.stderr.write(t)): Promise<number> {
  // The child gets this process's Node options, less an inspector (its port is this process's).
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--inspect'));
  const child = spawn(process.execPath, [...execArgv, ...args], {
    stdio: ['inherit', 'inherit', 'pipe'],
    env: { ...process.env, [FILTERED_ENV]: '1', ...(process.stderr.isTTY ? { [STDERR_TTY_ENV]: '1' } : {}) },
  });
  const filter = new DawnLogFilter();
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    const text = filter.push(chunk);
    if (text) write(text);
  });
  const forwarded = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((name) => {
    const forward = () => { child.kill(name); };
    process.on(name, forward);
    return () => process.off(name, forward);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const stop of forwarded) stop();
      const rest = filter.end();
      if (rest) write(rest);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
