import { appendFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { batchName, type ResultRecord, runPaths, type StatusHeartbeat } from '@capi/core';
import { appendResults, createRun, patchManifest, result, statusOf, writeHeartbeat } from './fixture.js';

/**
 * A stand-in for capi-launch + capi-exec for tests and the benchmark: it writes a run
 * folder live (journals appended, heartbeats replaced atomically, logs), and behaves like
 * a supervisor: SIGTERM stops the run gracefully. `--end` chooses how it ends: complete
 * (marks the run completed), hang (stays alive, heartbeats stop: STALLED), exit (dies
 * without a word: DEAD). `--exec` writes only a bare capi-exec's status.json and
 * journal.ndjson into the folder.
 */

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    total: { type: 'string', default: '1000' },
    batches: { type: 'string', default: '2' },
    rate: { type: 'string', default: '200' },
    'fail-every': { type: 'string', default: '0' },
    'error-every': { type: 'string', default: '0' },
    end: { type: 'string', default: 'complete' },
    exec: { type: 'boolean', default: false },
    // started as a supervisor is (`--supervise RUN`), so that core's identity check knows it
    supervise: { type: 'string' },
  },
});

const dir = positionals[0] as string;
const total = Number(values.total);
const nBatches = values.exec ? 1 : Number(values.batches);
const rate = Number(values.rate);
const failEvery = Number(values['fail-every']);
const errorEvery = Number(values['error-every']);
const id = basename(dir);
const paths = runPaths(dir);
const started = new Date().toISOString();
const TICK_MS = 20;

interface Lane {
  batch: string;
  journal: string;
  status: string;
  log: string;
  start: number;
  next: number;
  end: number;
  counts: { passed: number; failed: number; errors: number };
}

const size = Math.ceil(total / nBatches);
const lanes: Lane[] = Array.from({ length: nBatches }, (_, i) => {
  const batch = values.exec ? 'exec' : batchName(i + 1);
  return {
    batch,
    journal: values.exec ? join(dir, 'journal.ndjson') : paths.resultFile(batch),
    status: values.exec ? join(dir, 'status.json') : paths.statusFile(batch),
    log: values.exec ? join(dir, 'exec.log') : paths.logFile(batch),
    start: i * size,
    next: i * size,
    end: Math.min(total, (i + 1) * size),
    counts: { passed: 0, failed: 0, errors: 0 },
  };
});

function beat(lane: Lane, state: StatusHeartbeat['state']): Promise<void> {
  const c = lane.counts;
  const finished = c.passed + c.failed + c.errors;
  return writeHeartbeat(lane.status, {
    state,
    batch: lane.batch,
    total: lane.end - lane.start,
    done: finished,
    ...c,
    skipped: 0,
    inFlight: lane.next < lane.end ? [`T${String(lane.next + 1).padStart(5, '0')}`] : [],
    rate: state === 'running' ? rate / nBatches : 0,
    pid: process.pid,
    startedAt: started,
    updatedAt: new Date().toISOString(),
  });
}

async function step(lane: Lane, count: number): Promise<void> {
  const records: ResultRecord[] = [];
  for (let i = 0; i < count && lane.next < lane.end; i++, lane.next++) {
    const status = statusOf(lane.next, failEvery, errorEvery);
    if (status === 'passed') lane.counts.passed++;
    else if (status === 'failed') lane.counts.failed++;
    else lane.counts.errors++;
    records.push(result(lane.next, status, lane.batch, id));
  }
  if (records.length > 0) await appendResults(lane.journal, records);
}

async function finish(state: 'completed' | 'stopped', code: number): Promise<never> {
  for (const lane of lanes) await beat(lane, lane.next >= lane.end ? 'completed' : state);
  if (!values.exec) {
    const failed = lanes.some((l) => l.counts.failed + l.counts.errors > 0);
    await patchManifest(dir, {
      state,
      verdict: state === 'completed' ? (failed ? 'failed' : 'passed') : null,
      finished: new Date().toISOString(),
    });
    await appendFile(paths.mainLog, `run ${state}\n`);
    await rm(paths.pidFile, { force: true });
  }
  process.exit(code);
}

async function main(): Promise<void> {
  if (!values.exec) await createRun(dirname(dir), { id, total, batches: nBatches, pid: process.pid });
  if (!values.exec) await appendFile(paths.mainLog, `run ${id} started: ${total} tests in ${nBatches} batches\n`);
  process.on('SIGTERM', () => void finish('stopped', 143));
  let carry = 0;
  let lastBeat = 0;
  for (;;) {
    carry += (rate * TICK_MS) / 1000;
    const n = Math.floor(carry);
    carry -= n;
    const live = lanes.filter((l) => l.next < l.end);
    if (live.length === 0) break;
    for (const lane of live) await step(lane, Math.ceil(n / live.length));
    if (Date.now() - lastBeat >= 500) {
      lastBeat = Date.now();
      for (const lane of lanes) {
        await beat(lane, lane.next < lane.end ? 'running' : 'completed');
        await appendFile(lane.log, `${lane.batch}: ${lane.next} of ${lane.end}\n`);
      }
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  if (values.end === 'complete') await finish('completed', 0);
  if (values.end === 'exit') process.exit(0);
  // hang: alive, silent, heartbeats frozen at 'running'.
  for (const lane of lanes) await beat(lane, 'running');
  setInterval(() => {}, 1 << 30);
}

await main();
