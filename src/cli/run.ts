// What `transseg ARGS` does, apart from the process it runs in (src/cli/main.ts): `help`,
// `--version`, `<command> --help`, and running a command with every error reduced to one line
// (the stack only with --verbose).

import { COMMANDS, type CliCommand } from './commands.js';
import { cliErrorMessage } from './errors.js';
import { closest, formatHelp } from './flag-table.js';
import { packageVersion } from './version.js';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /**
   * Runs a GPU command in a child process with Dawn's warnings filtered from its stderr
   * (src/cli/dawn-log.ts) and returns its exit status; null: run it here.
   */
  runFiltered?(command: CliCommand): Promise<number> | null;
  /** Called in the process that runs the command, just before it runs (e.g. signal handlers). */
  beforeRun?(): void;
}

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length)) + 2;
  return [
    'usage: transseg <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`),
    '',
    '`transseg <command> --help` (or `transseg help <command>`) lists its options; `transseg --version` the version.',
    'Every command takes --verbose: the WebGPU driver\'s own warnings, and stack traces of errors. See docs/cli.md.',
  ].join('\n');
}

function findCommand(name: string): CliCommand | undefined {
  return COMMANDS.find((c) => c.spec.name === name);
}

function unknownCommand(name: string): string {
  const guess = closest(name, COMMANDS.map((c) => c.spec.name));
  return `transseg: unknown command '${name}'${guess ? `; did you mean '${guess}'?` : ''}\n\n${usage()}`;
}

/** Runs the command line `argv` (without `transseg`); returns the exit status. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(usage());
    return 2;
  }
  if (name === '--help' || name === '-h') {
    io.stdout(usage());
    return 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout(packageVersion());
    return 0;
  }
  if (name === 'help') {
    if (rest.length === 0) {
      io.stdout(usage());
      return 0;
    }
    const command = findCommand(rest[0]);
    if (!command) {
      io.stderr(unknownCommand(rest[0]));
      return 2;
    }
    io.stdout(formatHelp(command.spec));
    return 0;
  }
  const command = findCommand(name);
  if (!command) {
    io.stderr(unknownCommand(name));
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(formatHelp(command.spec));
    return 0;
  }
  const verbose = rest.includes('--verbose');
  if (command.usesGpu && !verbose) {
    const filtered = io.runFiltered?.(command);
    if (filtered) return filtered;
  }
  io.beforeRun?.();
  try {
    const { text, exitCode } = await command.run(rest.filter((a) => a !== '--verbose'));
    io.stdout(text);
    return exitCode;
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    io.stderr(verbose && error.stack ? `transseg: ${error.stack}` : `transseg: ${cliErrorMessage(error)}`);
    return 1;
  }
}
