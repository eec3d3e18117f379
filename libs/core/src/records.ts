import type { Capture, Phase } from './flow-fields.js';
import type { TestCounts } from './test-counts.js';

/** The record formats of docs/formats.md. Plain data: every tool reads and writes these. */

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface TestRequest {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

export interface TestExpect {
  /** `200`, `2xx`, `200,201,204`, or a mix: `2xx,404`. */
  status: string;
  /** A substring, or `/regex/flags`. */
  body: string | null;
  /** JSON text the response JSON must contain (deep partial match); kept as text so templates survive. */
  json: string | null;
  maxMs: number | null;
}

export interface SourceRef {
  file: string;
  line: number;
}

export interface TestRecord {
  id: string;
  name: string;
  seq: number;
  request: TestRequest;
  expect: TestExpect;
  timeoutMs: number | null;
  tags: string[];
  enabled: boolean;
  vars: Record<string, string>;
  source: SourceRef | null;
  /** Flows (docs/formats.md): values taken from the answer for later rows; absent: none. */
  capture?: Capture[];
  /** The flow the row belongs to; absent: none. */
  flow?: string;
  /** Absent: a test. */
  phase?: Phase;
}

export const RESULT_STATUSES = ['passed', 'failed', 'error', 'skipped'] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];

export interface CheckFailure {
  check: string;
  expected: string;
  actual: string;
}

export interface ResultError {
  code: string;
  message: string;
}

export interface ResultRecord {
  id: string;
  name: string;
  status: ResultStatus;
  attempts: number;
  startedAt: string;
  durationMs: number;
  /** `bytes`: the body on the wire; `decodedBytes`: decoded, when it had a Content-Encoding a check read. */
  response: { status: number; bytes: number; decodedBytes?: number } | null;
  failures: CheckFailure[];
  error: ResultError | null;
  batch: string | null;
  worker: number | null;
  runId: string | null;
  tags?: string[];
  shard?: string | null;
  /** The machine the worker ran on (`capi-exec --host`, capi-launch `--hosts`), when known. */
  host?: string;
  /** The test's flow, when it has one. */
  flow?: string;
  /** When the row is not a test. */
  phase?: Phase;
  /** A flow run again from its first row on resume: 2, 3, … (absent on the first run). */
  flowRun?: number;
  /** Failed and error results only: the final attempt's request and response (docs/formats.md). */
  debug?: TestDebug;
}

/** A header as sent or received: name and value, in order (names may repeat). */
export type HeaderPair = [string, string];

/** What a person needs to see why one test failed, secrets already redacted. */
export interface TestDebug {
  request: {
    method: string;
    url: string;
    headers: HeaderPair[];
    body: string | null;
    bodyBytes: number;
    bodyCut: boolean;
  };
  /** Null when no answer came (refused, reset, timeout). */
  response: { status: number; headers: HeaderPair[]; body: string; bodyBytes: number; bodyCut: boolean } | null;
}

export const RUN_STATES = ['created', 'running', 'completed', 'failed', 'stopped'] as const;
export type RunState = (typeof RUN_STATES)[number];

export interface RunManifest {
  id: string;
  method: 'nohup' | 'screen' | 'tmux' | 'foreground' | 'exec';
  /**
   * `envMarks: false`: the suite's bytes held neither `env.` nor a `\u` escape when it was
   * split (envMarkScanner), so no batch names an env variable and `--resume`'s env check
   * need not read them. Absent (older runs, `--rerun-failed`'s batches) or true: it reads them.
   */
  suite: { file: string; sha256: string; envMarks?: boolean };
  total: number;
  batchSize: number;
  /** Batches grew from `batchSize` to this many tests (capi-split `--max-batch-size`); absent: all `batchSize`. */
  maxBatchSize?: number;
  batches: number;
  parallel: number;
  options: Record<string, unknown>;
  created: string;
  pid: number | null;
  session: string | null;
  state: RunState;
  verdict: 'passed' | 'failed' | null;
  finished: string | null;
  /** The signal that stopped the run (only when `stopped`): its exit code, 130 or 143. */
  stopSignal?: 'SIGINT' | 'SIGTERM' | 'SIGHUP' | null;
}

export const HEARTBEAT_STATES = [
  'starting',
  'running',
  'paused',
  'stopping',
  'completed',
  'stopped',
  'failed',
] as const;
export type HeartbeatState = (typeof HEARTBEAT_STATES)[number];

export interface StatusHeartbeat extends TestCounts {
  state: HeartbeatState;
  batch: string | null;
  total: number | null;
  inFlight: string[];
  /** Tests finished per second over the last few seconds. */
  rate: number;
  /**
   * When the API asked capi-exec to pause (Retry-After, a spent rate-limit window), the
   * time (ISO) the pause ends; absent or null when no such pause is in force.
   */
  pausedUntil?: string | null;
  /** Flows: teardown rows of this process that failed or errored (absent in older files: 0). */
  teardownFailed?: number;
  pid: number;
  startedAt: string;
  updatedAt: string;
}
