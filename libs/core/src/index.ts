// The public names of @capi/core: the rules the tools and libraries share. A name not
// listed here is used only inside core.
export {
  type AtomicStream,
  createAtomicStream,
  DIR_MODE,
  FILE_MODE,
  writeFileAtomic,
  writeFileAtomicSync,
} from './atomic-write.js';
export { type AsideKind, asidePrefix, setAsideNote, setAsideNoteSync } from './batches-aside.js';
export { type BuiltinAction, beforeDashes, builtinAction } from './builtin-action.js';
export { cleanText, plainLine } from './clean-text.js';
export { type AnyCommand, checkArgv, intFlag, quietFlag, repeatedFlag, runTool, verboseFlag } from './cli.js';
export {
  type CodeCached,
  cacheFolderReady,
  codeCacheDir,
  codeCacheFile,
  noteAnswerJudged,
  readCodeCache,
  runCodeCached,
  STALE_CACHE_MS,
  VERIFY_CACHE_FLAG,
  worthKeepingCodeCache,
  writeCodeCache,
} from './code-cache.js';
export { isCredentialName } from './credential-name.js';
export { CsvReader, type CsvRow } from './csv-reader.js';
export { autoIdOf, csvRows } from './csv-rows.js';
export { editDistance } from './edit-distance.js';
export {
  describeEnvProblem,
  ENV_PREFIX,
  type EnvAllow,
  envAllowed,
  envNamesIn,
  envProblem,
  MIN_SECRET_LENGTH,
  parseAllowEnv,
} from './env-access.js';
export { CapiError, fsReason, InputError, isErrnoException, UsageError, writeError } from './errors.js';
export { exclusiveFileHeld, sayOnceWaited, withExclusiveFile } from './exclusive-file.js';
export {
  CONCURRENCY_MAX,
  CONCURRENCY_MIN,
  EXEC_FLAGS,
  type ExecFlag,
  type ExecFlagName,
  execFlagArgs,
} from './exec-flags.js';
export { ExitCode, type ExitCodeValue } from './exit-code.js';
export {
  type Capture,
  type CaptureSource,
  captureCellValue,
  captureNameProblem,
  capturesProblem,
  flowPhaseValue,
  flowValue,
  type JsonStep,
  PHASES,
  type Phase,
  parseCaptureSource,
  parseJsonPath,
  parseReauthOn,
  phaseValue,
} from './flow-fields.js';
export { idLines } from './id-lines.js';
export { type Journal, openJournal, readJournal } from './journal.js';
export {
  baseUrlChanged,
  type JournalMeta,
  journalBaseUrl,
  journalMetaPath,
  metaBaseUrl,
  readJournalMeta,
  writeJournalMeta,
} from './journal-meta.js';
export {
  createTeardownTally,
  isPhaseResult,
  type JournalResult,
  type LastResultsOptions,
  lastResults,
  type TeardownTally,
} from './last-results.js';
export { localClock, localTime, localZone } from './local-time.js';
export { makeDir } from './make-dir.js';
export { monotonicMs } from './monotonic-clock.js';
export {
  checkPending,
  eachLine,
  type LineCursor,
  lastLine,
  lineCursor,
  NdjsonWriter,
  oneChunk,
  readNdjson,
  readNdjsonChunks,
} from './ndjson.js';
export { expandOptionsFile } from './options-file.js';
export { checkRunOwner, checkRunsFolder } from './owner.js';
export { checkRate, isNoRate, parseRate, ratePerHour } from './parse-rate.js';
export { isDirectory, pathExists } from './path-exists.js';
export {
  type JournalLockInfo,
  journalLockPath,
  lockHolderAlive,
  pidAlive,
  processParents,
  processStartMs,
  readJournalLock,
} from './processes.js';
export { randomHex } from './random-tag.js';
export { readIfExists, readIfExistsSync } from './read-if-exists.js';
export { type ControlFile, parseRunControl, readRunControl, readRunControlSync } from './read-run-control.js';
export {
  type CheckFailure,
  type HeaderPair,
  type HeartbeatState,
  type HttpMethod,
  RESULT_STATUSES,
  type ResultError,
  type ResultRecord,
  type ResultStatus,
  RUN_STATES,
  type RunManifest,
  type StatusHeartbeat,
  type TestDebug,
  type TestRecord,
} from './records.js';
export { baseUrlProblem, isRelativeUrl, trimUrl } from './relative-url.js';
export { REPORT_NAMES } from './report-names.js';
export {
  type BeingMadeWait,
  LAUNCH_LOCK_LIFE,
  type RunBeingMade,
  runBeingMade,
  stillBeingMadeNote,
} from './run-being-made.js';
export {
  controlConcurrency,
  controlNotTaken,
  controlRate,
  controlWorkers,
  type RateInForce,
  type RunControl,
  rateInForce,
  sayOnChange,
  shownRate,
  type TakenLimits,
  takeLimits,
} from './run-control.js';
export {
  type BatchIndex,
  type BatchIndexEntry,
  batchCount,
  batchName,
  batchSizes,
  GROW_EVERY,
  hasRunLayout,
  isBatchName,
  isRunFolder,
  launchLockOf,
  newRunId,
  RUN_ID_PREFIX,
  runPaths,
  runsDir,
} from './run-folder.js';
export {
  launchUnderWay,
  mayBeNeverStarted,
  type RunLife,
  runIsDead,
  runSupervisorPid,
} from './run-liveness.js';
export {
  RUN_MANIFEST_MAX_BYTES,
  RUN_MANIFEST_REMEDY,
  RunManifestError,
  readRunManifest,
  runManifestProblem,
} from './run-manifest.js';
export { holdingRunManifest } from './run-manifest-lock.js';
export {
  formatPassRate,
  passRate,
  roundPassRate,
  runExitCode,
  testsVerdict,
  type VerdictCounts,
} from './run-verdict.js';
export { createRandom } from './seeded-random.js';
export { fnv1a, formatShard, inShard, parseShard, type Shard, shardFlag } from './shard.js';
export { shellLine, shellQuote } from './shell-quote.js';
export { EMPTY_SUITE, sniffSuite } from './sniff-suite.js';
export {
  cutText,
  DEBUG_BODY_BYTES,
  DEBUG_HEADER_CHARS,
  DEBUG_MAX_HEADERS,
  DEBUG_MESSAGE_CHARS,
  DEBUG_URL_CHARS,
  formatStory,
} from './story.js';
export { jsonLimitProblem, recordLineProblem } from './suite-limits.js';
export { type OrderedRow, suiteOrder } from './suite-order.js';
export {
  argvOf,
  isRunSupervisor,
  liveSupervisorOf,
  readPidFile,
  SUPERVISOR_PID_ENV,
  supervisorBy,
} from './supervisor.js';
export {
  missingRunVar,
  RUN_VAR_PREFIX,
  TEMPLATE_PATTERN,
  templateNames,
  unknownTemplateName,
} from './template-names.js';
export { formatDuration, isLive, liveLine, paint, plural, useColor } from './term.js';
export {
  addTestCounts,
  COUNT_OF_STATUS,
  countResult,
  emptyTestCounts,
  type TestCounts,
  testCountsOf,
} from './test-counts.js';
export { utf8Chunks } from './utf8-chunks.js';
export {
  bodyValue,
  enabledValue,
  jsonTextValue,
  methodValue,
  millisValue,
  normalizeTestRecord,
  statusValue,
  tagsCellValue,
  tagsValue,
  templatedJson,
  ValueError,
  validateResultRecord,
  validateTestRecord,
} from './validate.js';
