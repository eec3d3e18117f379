import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Builders for hand-made run folders and result files (tests only). */

export interface ResultOpts {
  name?: string;
  attempts?: number;
  startedAt?: string;
  durationMs?: number;
  http?: number | null;
  failures?: Array<{ check: string; expected: string; actual: string }>;
  error?: { code: string; message: string } | null;
  batch?: string | null;
  tags?: string[];
  shard?: string | null;
}

const T0 = Date.parse('2026-01-01T10:30:00.000Z');

/** A result record; `at` is seconds after the fixed start of the fixture run. */
export function result(id: string, status: string, at: number, o: ResultOpts = {}) {
  const failed = status === 'failed';
  const error = status === 'error';
  return {
    id,
    name: o.name ?? `name of ${id}`,
    status,
    attempts: o.attempts ?? 1,
    startedAt: o.startedAt ?? new Date(T0 + at * 1000).toISOString(),
    durationMs: o.durationMs ?? 100,
    response: error || o.http === null ? null : { status: o.http ?? (failed ? 500 : 200), bytes: 10 },
    failures: o.failures ?? (failed ? [{ check: 'status', expected: '2xx', actual: '500' }] : []),
    error: o.error ?? (error ? { code: 'ECONNRESET', message: 'socket hang up' } : null),
    batch: o.batch === undefined ? 'batch_0001' : o.batch,
    worker: 1,
    runId: 'capi_test_20260101_103000',
    tags: o.tags ?? [],
    shard: o.shard ?? null,
  };
}

export function testRecord(id: string, name = `name of ${id}`, tags: string[] = [], enabled = true) {
  return {
    id,
    name,
    seq: 0,
    request: { method: 'GET', url: `/items/${id}`, headers: {}, body: null },
    expect: { status: '2xx', body: null, json: null, maxMs: null },
    timeoutMs: null,
    tags,
    enabled,
    vars: {},
    source: null,
  };
}

export const lines = (values: unknown[]) => values.map((v) => `${JSON.stringify(v)}\n`).join('');

export interface RunSpec {
  /** batch name → test records */
  batches: Record<string, unknown[]>;
  /** file name under results/ → raw text (use `lines`) */
  results: Record<string, string>;
  extra?: Record<string, string>;
}

export async function writeRun(dir: string, spec: RunSpec): Promise<string> {
  await mkdir(join(dir, 'batches'), { recursive: true });
  await mkdir(join(dir, 'results'), { recursive: true });
  const total = Object.values(spec.batches).reduce((n, b) => n + b.length, 0);
  const manifest = {
    id: 'capi_test_20260101_103000',
    method: 'exec',
    suite: { file: 'suite.csv', sha256: '0' },
    total,
    batchSize: 10,
    batches: Object.keys(spec.batches).length,
    parallel: 2,
    options: {},
    created: '2026-01-01T10:30:00.000Z',
    pid: null,
    session: null,
    state: 'completed',
    verdict: null,
    finished: null,
  };
  await writeFile(join(dir, 'run.json'), JSON.stringify(manifest));
  for (const [name, tests] of Object.entries(spec.batches))
    await writeFile(join(dir, 'batches', `${name}.ndjson`), lines(tests));
  for (const [name, text] of Object.entries(spec.results)) await writeFile(join(dir, 'results', name), text);
  for (const [name, text] of Object.entries(spec.extra ?? {})) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}
