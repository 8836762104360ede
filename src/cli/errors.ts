// The last line of defence for the CLI's error messages: a file-system error that no command
// wrapped (Node's text may name no path, or a temporary one) is put in words with its path.

import { fileSystemReason, isFileSystemError } from '../io/file-errors.js';

const ACTIONS: Record<string, string> = {
  open: 'open', read: 'read', write: 'write', close: 'close', fsync: 'flush', stat: 'look at', lstat: 'look at',
  mkdir: 'create the folder', rmdir: 'remove the folder', scandir: 'list the folder', unlink: 'remove',
  rename: 'rename', link: 'link', copyfile: 'copy', access: 'access', ftruncate: 'truncate',
};

/** The text `transseg` prints for an error that ends a command. */
export function cliErrorMessage(error: unknown): string {
  if (!isFileSystemError(error)) return (error as Error)?.message ?? String(error);
  const action = ACTIONS[error.syscall!] ?? error.syscall!;
  const dest = (error as { dest?: string }).dest;
  const target = error.path ? ` ${error.path}${dest ? ` to ${dest}` : ''}` : ' a file (its path unknown)';
  return `cannot ${action}${target}: ${fileSystemReason(error)}`;
}
