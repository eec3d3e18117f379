// The public names of @capi/exec, for capi-exec and the tests that drive it.
export { DEFAULT_MAX_PAUSE_MS, MAX_PAUSE_LIMIT_MS, MAX_TIMER_MS } from './backoff.js';
export { type ExecuteOptions, type ExecuteSummary, execute } from './execute.js';
export { MAX_BODY_LIMIT } from './http-client.js';
export type { LiveState } from './live-state.js';
export { formatProgress, formatSummary } from './progress.js';
export { parseMaxErrors } from './rate.js';
export { addCredentialHeaders, createSecretSet } from './redact.js';
export { endLines, runExitCode, signalExitCode } from './run-end.js';
export { parseVarFlags, parseVarsText } from './run-vars.js';
export { type ServeBase, serveBatches } from './serve.js';
export { BadUrl, type BaseUrl, parseBaseUrl } from './target.js';
export { parseTrace } from './trace.js';
export { EXEC_V8_FLAGS } from './v8-flags.js';
