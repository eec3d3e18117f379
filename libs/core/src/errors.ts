import { ExitCode, type ExitCodeValue } from './exit-code.js';

/** An expected failure: printed as one line `tool: message`, no stack. */
export class CapiError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(message: string, exitCode: ExitCodeValue = ExitCode.cannotRun) {
    super(message);
    this.name = 'CapiError';
    this.exitCode = exitCode;
  }
}

/** Bad usage (a flag, an argument): exit 2 and a hint to read --help. */
export class UsageError extends CapiError {
  constructor(message: string) {
    super(message, ExitCode.badInput);
    this.name = 'UsageError';
  }
}

/** Bad input data: the message starts with `file:line:` (and the field when there is one). */
export class InputError extends CapiError {
  readonly source: string;
  readonly line: number | undefined;
  constructor(source: string, line: number | undefined, message: string) {
    super(`${line === undefined ? source : `${source}:${line}`}: ${message}`, ExitCode.badInput);
    this.name = 'InputError';
    this.source = source;
    this.line = line;
  }
}

const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'a file of that name is in the way',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files',
};

/** A file-system error code in words, for one-line messages. */
export function fsReason(code: string | undefined): string {
  return (code && FS_REASONS[code]) ?? code ?? 'failed';
}

/** A failed write to `what` (a path, or stdout) as the one-line error every tool prints, exit 3. */
export function writeError(what: string, err: unknown): CapiError {
  if (err instanceof CapiError) return err;
  const reason = isErrnoException(err) ? fsReason(err.code) : err instanceof Error ? err.message : String(err);
  return new CapiError(`cannot write ${what}: ${reason}`, ExitCode.cannotRun);
}

export function isErrnoException(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}
