// capi-watch's cost while a run finishes 5,000 tests/s: a writer in this process appends
// result lines to 4 journals every 20 ms and replaces their heartbeats once a second (as
// capi-exec does); `capi-watch --json` watches the run folder in a child process, whose
// CPU time is read from /proc/<pid>/stat. Target: under 5% of one core.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const watchBin = join(root, 'tools', 'capi-watch', 'bin', 'capi-watch.js');
const RATE = 5000;
const BATCHES = 4;
const TICK_MS = 20;
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s.

/** utime + stime of a process in seconds, from /proc (Linux). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function peakRssMb(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : null;
}

function record(seq, batch) {
  const status = seq % 50 === 49 ? 'failed' : 'passed';
  return JSON.stringify({
    id: `T${seq}`,
    name: `get item ${seq}`,
    status,
    attempts: 1,
    startedAt: new Date().toISOString(),
    durationMs: 20.4,
    response: { status: status === 'passed' ? 200 : 500, bytes: 57 },
    failures: status === 'failed' ? [{ check: 'status', expected: '2xx', actual: '500' }] : [],
    error: null,
    batch,
    worker: 1,
    runId: 'capi_test_bench',
    tags: ['items'],
    shard: null,
  });
}

/**
 * A stand-in supervisor: capi-watch takes a pid for the run's supervisor only when its argv
 * holds `--supervise RUN` (core's identity check); this process's own does not.
 */
function standInSupervisor(run) {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', '--', '--supervise', run], { stdio: 'ignore' });
}

function makeRun(dir, total, pid) {
  for (const d of ['results', 'status', 'logs', 'batches']) mkdirSync(join(dir, d), { recursive: true, mode: 0o700 });
  const manifest = {
    id: 'capi_test_bench',
    method: 'nohup',
    suite: { file: 'bench.csv', sha256: '' },
    total,
    batchSize: Math.ceil(total / BATCHES),
    batches: BATCHES,
    parallel: BATCHES,
    options: {},
    created: new Date().toISOString(),
    pid,
    session: null,
    state: 'running',
    verdict: null,
    finished: null,
  };
  writeFileSync(join(dir, 'run.json'), JSON.stringify(manifest));
  writeFileSync(join(dir, 'supervisor.pid'), `${pid}\n`);
}

function heartbeat(dir, batch, counts, total) {
  const path = join(dir, 'status', `${batch}.json`);
  const now = new Date().toISOString();
  const hb = {
    state: 'running',
    batch,
    total,
    done: counts.done,
    passed: counts.done - counts.failed,
    failed: counts.failed,
    errors: 0,
    skipped: 0,
    inFlight: [],
    rate: RATE / BATCHES,
    pid: process.pid,
    startedAt: now,
    updatedAt: now,
  };
  writeFileSync(`${path}.tmp`, JSON.stringify(hb));
  renameSync(`${path}.tmp`, path);
}

export default async function bench({ quick, log }) {
  const seconds = quick ? 4 : 30;
  const total = RATE * seconds * 2;
  const dir = mkdtempSync(join(tmpdir(), 'capi-bench-watch-'));
  const run = join(dir, 'capi_test_bench');
  const supervisor = standInSupervisor(run);
  makeRun(run, total, supervisor.pid);
  const batches = Array.from({ length: BATCHES }, (_, i) => `batch_000${i + 1}`);
  const counts = batches.map(() => ({ done: 0, failed: 0 }));
  const child = spawn(process.execPath, [watchBin, '--json', '--interval', '1', run], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  child.stdout.on('data', (b) => {
    out = (out + b.toString()).slice(-20000);
  });
  try {
    await new Promise((r) => setTimeout(r, 1500)); // start-up (module loading) is not the steady cost
    let seq = 0;
    let carry = 0;
    let lastBeat = 0;
    const startWall = performance.now();
    const startCpu = cpuSeconds(child.pid);
    const end = startWall + seconds * 1000;
    log(`writing ${RATE} results/s into ${BATCHES} journals for ${seconds} s`);
    while (performance.now() < end) {
      carry += (RATE * TICK_MS) / 1000;
      const n = Math.floor(carry);
      carry -= n;
      for (let b = 0; b < BATCHES; b++) {
        const lines = [];
        for (let i = 0; i < n / BATCHES; i++, seq++) {
          lines.push(record(seq, batches[b]));
          counts[b].done++;
          if (seq % 50 === 49) counts[b].failed++;
        }
        appendFileSync(join(run, 'results', `${batches[b]}.ndjson`), `${lines.join('\n')}\n`);
      }
      if (performance.now() - lastBeat >= 1000) {
        lastBeat = performance.now();
        for (const [i, b] of batches.entries()) heartbeat(run, b, counts[i], total / BATCHES);
        appendFileSync(join(run, 'logs', 'batch_0001.log'), `done ${seq}\n`);
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
    const wall = (performance.now() - startWall) / 1000;
    await new Promise((r) => setTimeout(r, 1200)); // let the last snapshot catch up
    const cpu = cpuSeconds(child.pid) - startCpu;
    const rss = peakRssMb(child.pid);
    const last = JSON.parse(out.trim().split('\n').at(-1) ?? '{}');
    const share = (cpu / wall) * 100;
    const rate = seq / wall;
    log(`watcher CPU ${cpu.toFixed(2)} s over ${wall.toFixed(1)} s; last snapshot done ${last.done} of ${seq} written`);
    return [
      {
        group: 'capi-watch',
        case: `--json on a run finishing ${Math.round(rate).toLocaleString('en-US')} tests/s (${BATCHES} journals)`,
        metric: '% of one core',
        capi: share,
        baseline: null,
        baselineName: null,
        ratio: null,
        target: '< 5',
        ok: share < 5 && last.done === seq,
        note: `peak RSS ${rss === null ? '?' : rss.toFixed(0)} MB; caught up: ${last.done === seq ? 'yes' : `no (${last.done} of ${seq})`}`,
      },
    ];
  } finally {
    supervisor.kill('SIGKILL');
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
