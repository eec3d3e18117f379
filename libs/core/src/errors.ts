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

export function isErrnoException(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}
