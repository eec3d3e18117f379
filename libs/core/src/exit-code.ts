/** Exit codes shared by every capi tool (docs/formats.md, "Exit codes"). */
export const ExitCode = {
  ok: 0,
  testsFailed: 1,
  badInput: 2,
  cannotRun: 3,
  /** 128 + 1: the terminal went away (docs/formats.md, "Exit codes"). */
  sighup: 129,
  sigint: 130,
  sigterm: 143,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
