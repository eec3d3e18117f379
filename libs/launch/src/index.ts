// @capi/launch's public names: what tools/capi-launch uses, and the types of their options
// and results, sorted by module. Everything else is the library's own (one module per
// concept, ARCHITECTURE.md).

export { changeControl, parseSetting, pauseNote, refuseNotRunning } from './change-control.js';
export { type Claim, readClaims } from './claims.js';
export { fileSha256, type Method } from './create-run.js';
export { type DryRunOptions, planRun } from './dry-run.js';
export { type EmitK8sOptions, emitK8s } from './emit-k8s.js';
export {
  EXEC_BOOLEAN_FLAGS,
  EXEC_REPEATED_FLAGS,
  EXEC_VALUE_FLAGS,
  overrideExecArgs,
} from './exec-flag-list.js';
export { hostJobs, type RemoteOptions, readHosts } from './hosts.js';
export { checkK8sName, jobNameFor, podRate } from './k8s-manifests.js';
export { type Launched, type LaunchRunOptions, launchRun } from './launch.js';
export { lookAtUnmade, noManifestNote, notLeftByLaunch, type UnmadeLook } from './launch-lock.js';
export { batchReason, lastLogLine, withoutTime } from './log-tail.js';
export { type LaunchOptions, type Manifest, readManifest, resolveRun } from './manifest.js';
export { type PrunedRun, pruneRuns } from './prune-runs.js';
export { failedBatches, type RerunFromSuite } from './rerun.js';
export { type ResumeChanges, type ResumeOptions, resumeRun } from './resume-run.js';
export {
  countFinished,
  damagedNote,
  listRuns,
  neverStartedNote,
  type RunEntry,
  refuseCleaned,
  runFoldersWithoutManifest,
} from './runs.js';
export { splitFlags } from './split-flags.js';
export { checkMethod } from './start.js';
export { type StopOptions, type StopResult, stopLaunchedRun } from './stop-launched-run.js';
export { currentRecords } from './suite-records.js';
export { type RunSummary, summarizeRun } from './summarize-run.js';
export { type SuperviseOptions, superviseRun } from './supervise.js';
export { findOnPath, toolBin } from './tools.js';
export { runOver, type WaitOptions, waitRun } from './wait-run.js';
