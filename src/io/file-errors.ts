// File-system errors in words: Node's own texts ("EISDIR: illegal operation on a directory, read")
// often name no path, or an internal temporary one. These name the file the user gave, what was
// being done to it and why it failed, keeping the code for searching.

const REASONS: Record<string, string> = {
  ENOENT: 'it does not exist (or its folder does not)',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted',
  EEXIST: 'it already exists',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EBUSY: 'it is busy',
};

/** A Node error from the file system (it has a string `code` such as 'ENOENT'). */
export function isFileSystemError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}

/** Why a file-system operation failed, in words, with its code: "it is a folder, not a file (EISDIR)". */
export function fileSystemReason(error: NodeJS.ErrnoException & { code: string }): string {
  const reason = REASONS[error.code] ?? error.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
  return `${reason} (${error.code})`;
}

/**
 * `error` as "cannot `action` `path`: reason (CODE)" when it is a file-system error, else `error`
 * itself (an error of ours already names what it is about).
 */
export function fileSystemError(error: unknown, path: string, action: string): unknown {
  if (!isFileSystemError(error)) return error;
  return new Error(`cannot ${action} ${path}: ${fileSystemReason(error)}`, { cause: error });
}
