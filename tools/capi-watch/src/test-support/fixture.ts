import { appendFile, mkdir, readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  batchName,
  type ResultRecord,
  type RunManifest,
  runPaths,
  type StatusHeartbeat,
  writeFileAtomic,
} from '@capi/core';

/**
 * Writes a run folder the way capi-launch and capi-exec do (docs/run-folder.md): run.json
 * and heartbeats replaced atomically, journals appended line by line. Tests and the fake
 * run use it to produce runs in every state.
 */

export interface FixtureRun {
  id: string;
  total: number;
  batches: number;
  pid: number | null;
  state?: RunManifest['state'];
  created?: Date;
}

export async function createRun(runsDir: string, run: FixtureRun): Promise<string> {
  const dir = join(runsDir, run.id);
  const paths = runPaths(dir);
  await mkdir(paths.results, { recursive: true, mode: 0o700 });
  await mkdir(paths.status, { recursive: true, mode: 0o700 });
  await mkdir(paths.logs, { recursive: true, mode: 0o700 });
  const size = Math.ceil(run.total / run.batches);
  const batches = Array.from({ length: run.batches }, (_, i) => {
    const count = Math.max(0, Math.min(size, run.total - i * size));
    return {
      batch: batchName(i + 1),
      file: `${batchName(i + 1)}.ndjson`,
      firstSeq: i * size,
      lastSeq: i * size + count - 1,
      count,
      firstId: testId(i * size),
      lastId: testId(i * size + count - 1),
    };
  });
  await writeFileAtomic(paths.batchIndex, JSON.stringify({ total: run.total, batchSize: size, batches }));
  await writeManifest(dir, {
    id: run.id,
    method: 'nohup',
    suite: { file: '/suites/suite.csv', sha256: '0'.repeat(64) },
    total: run.total,
    batchSize: size,
    batches: run.batches,
    parallel: run.batches,
    options: {},
    created: (run.created ?? new Date()).toISOString(),
    pid: run.pid,
    session: null,
    state: run.state ?? 'running',
    verdict: null,
    finished: null,
  });
  if (run.pid !== null) await writeFileAtomic(paths.pidFile, `${run.pid}\n`);
  await rm(join(runsDir, 'latest'), { force: true });
  await symlink(run.id, join(runsDir, 'latest'));
  return dir;
}

export function testId(seq: number): string {
  return `T${String(seq + 1).padStart(5, '0')}`;
}

export async function writeManifest(dir: string, manifest: RunManifest): Promise<void> {
  await writeFileAtomic(runPaths(dir).manifest, JSON.stringify(manifest));
}

export async function patchManifest(dir: string, patch: Partial<RunManifest>): Promise<void> {
  const m = JSON.parse(await readFile(runPaths(dir).manifest, 'utf8')) as RunManifest;
  await writeManifest(dir, { ...m, ...patch });
}

/** The status of test `seq`: a failure every `failEvery`, an error every `errorEvery`. */
export function statusOf(seq: number, failEvery: number, errorEvery: number): ResultRecord['status'] {
  if (errorEvery > 0 && seq % errorEvery === errorEvery - 1) return 'error';
  if (failEvery > 0 && seq % failEvery === failEvery - 1) return 'failed';
  return 'passed';
}

export function result(seq: number, status: ResultRecord['status'], batch: string, runId: string): ResultRecord {
  return {
    id: testId(seq),
    name: `test ${seq + 1}`,
    status,
    attempts: 1,
    startedAt: new Date().toISOString(),
    durationMs: 12.5,
    response: status === 'error' ? null : { status: status === 'failed' ? 500 : 200, bytes: 42 },
    failures: status === 'failed' ? [{ check: 'status', expected: '2xx', actual: '500' }] : [],
    error: status === 'error' ? { code: 'ECONNRESET', message: 'socket hang up' } : null,
    batch,
    worker: 1,
    runId,
  };
}

export async function appendResults(path: string, records: ResultRecord[]): Promise<void> {
  await appendFile(path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

export async function writeHeartbeat(path: string, hb: StatusHeartbeat): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(hb));
}

export function heartbeat(batch: string, records: ResultRecord[], extra: Partial<StatusHeartbeat>): StatusHeartbeat {
  const count = (s: string) => records.filter((r) => r.status === s).length;
  const now = new Date().toISOString();
  return {
    state: 'running',
    batch,
    total: records.length,
    done: records.length,
    passed: count('passed'),
    failed: count('failed'),
    errors: count('error'),
    skipped: count('skipped'),
    inFlight: [],
    rate: 0,
    pid: process.pid,
    startedAt: now,
    updatedAt: now,
    ...extra,
  };
}
