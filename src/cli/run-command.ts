// A `transseg` command run from code, in this process: `runCommand('train', ['--dataset', …])` does
// what `transseg train --dataset …` does and returns what it prints. Errors are thrown as they are
// (the command line reduces them to one line, src/cli/run.ts). For scripts such as examples/brats.ts
// that drive the recipe the CLI already encodes; exported from src/node.ts.

import { COMMANDS } from './commands.js';

export async function runCommand(name: string, argv: readonly string[]): Promise<string> {
  const command = COMMANDS.find((c) => c.spec.name === name);
  if (!command) throw new Error(`runCommand: unknown command '${name}'; the commands are ${COMMANDS.map((c) => c.spec.name).join(', ')}`);
  const { text, exitCode } = await command.run([...argv]);
  if (exitCode !== 0) throw new Error(`transseg ${name} exited with status ${exitCode}:\n${text}`);
  return text;
}
