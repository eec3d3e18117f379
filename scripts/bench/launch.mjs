// capi-launch (issue 16): the whole job against the bare pipeline, workers side by side at
// 50 ms latency, and one --rate shared by four workers. The demo API runs in a process of
// its own, as a real target would.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rateRow } from './exec.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = (tool) => join(root, `tools/${tool}/bin/${tool}.js`);
const MB = 1024 * 1024;

/** Runs capi-launch with `args` (killed past `limitMs`); resolves to its exit code and stderr's tail. */
export function run(args, env, limitMs, onStart = () => {}) {
  const child = spawn(process.execPath, [bin('capi-launch'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  onStart(child.pid);
  let stderr = '';
  child.stderr.on('data', (b) => {
    stderr = (stderr + b.toString()).slice(-4000);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  return new Promise((done) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stderr });
    });
  });
}

/** The demo API in a child process: its URL, and how to stop it. */
async function demoApi(args = []) {
  const child = spawn(process.execPath, [join(root, 'scripts/demo-api.mjs'), ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [chunk] = await once(child.stdout, 'data');
  const url = /http:\/\/\S+/.exec(String(chunk))?.[0];
  if (!url) throw new Error(`demo API said: ${chunk}`);
  return { url, stop: () => child.kill('SIGKILL') };
}

/** A suite of `n` GETs of the demo API's items, as CSV. */
async function suiteCsv(path, n) {
  const out = createWriteStream(path);
  out.write('id,url\n');
  for (let i = 1; i <= n; i++) if (!out.write(`T${i},/items/${(i % 1000) + 1}\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

/**
 * Peak RSS (VmHWM) of a process and every process under it, polled from /proc until
 * stopped. VmHWM is each process's own high-water mark, so a late look still sees it.
 */
function watchTree(rootPid) {
  const peaks = new Map();
  const seen = new Map();
  const look = async () => {
    let pids;
    try {
      pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
    } catch {
      return;
    }
    const parent = new Map();
    await Promise.all(
      pids.map(async (pid) => {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid) parent.set(pid, ppid);
      }),
    );
    const under = (pid) => {
      for (let p = pid, hops = 0; p && hops < 20; p = parent.get(p), hops++) if (p === rootPid) return true;
      return false;
    };
    for (const pid of pids.filter(under)) {
      const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
      if (!kb) continue;
      if (!seen.has(pid)) {
        const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
        const tool = argv.map((a) => /capi-(split|exec|merge|launch)\.js$/.exec(a)?.[1]).find(Boolean);
        seen.set(pid, pid === rootPid ? 'supervisor' : (tool ?? 'other'));
      }
      peaks.set(pid, Math.max(peaks.get(pid) ?? 0, kb * 1024));
    }
  };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    look().finally(() => {
      busy = false;
    });
  }, 150);
  return async () => {
    clearInterval(timer);
    while (busy) await new Promise((r) => setTimeout(r, 20));
    return [...peaks].map(([pid, bytes]) => ({ pid, role: seen.get(pid), bytes }));
  };
}

/** `capi-split SUITE | capi-exec --concurrency 64 > /dev/null`: seconds and each process's peak RSS. */
async function barePipeline(suite, url) {
  const started = process.hrtime.bigint();
  const split = spawn(process.execPath, [bin('capi-split'), suite], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exec = spawn(process.execPath, [bin('capi-exec'), '--concurrency', '64', '--base-url', url, '--quiet'], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  split.stdout.pipe(exec.stdin);
  const stops = [watchTree(split.pid), watchTree(exec.pid)];
  let stderr = '';
  exec.stderr.on('data', (b) => {
    stderr = (stderr + b).slice(-2000);
  });
  const [code] = await once(exec, 'close');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`the bare pipeline exited ${code}: ${stderr}`);
  const peaks = (await Promise.all(stops.map((s) => s()))).flat();
  return { seconds, peak: Math.max(...peaks.map((p) => p.bytes)) };
}

const sum = (peaks, role) => {
  const of = peaks.filter((p) => p.role === role).map((p) => Math.round(p.bytes / MB));
  return of.length === 0 ? `${role} -` : `${role} ${of.join('/')}`;
};

/** One launched run of `suite`, merge included: seconds and each process's peak RSS. */
async function launchedRun(suite, url, runs) {
  let stop;
  const started = process.hrtime.bigint();
  const r = await run(
    [suite, '--foreground', '--parallel', '2', '--base-url', url],
    { CAPI_RUNS_DIR: runs, NO_COLOR: '1' },
    60 * 60_000,
    (pid) => {
      stop = watchTree(pid);
    },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peaks = await stop();
  if (r.code !== 0) throw new Error(`capi-launch exited ${r.code}: ${r.stderr}`);
  await rm(runs, { recursive: true, force: true });
  return { seconds, peaks };
}

const medianOf = (xs) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];

/**
 * 1. The whole job: a launched run of N tests, merge included, against the bare pipeline.
 * One launched million varied by a third between runs of the same build (45.7-61.2 s, the
 * fourteenth round's A/B in docs/benchmarks.md), so three pairs are run, bare and launched in
 * turn, and the median of their ratios is the row's; peaks are the highest of every run.
 */
async function wholeJob({ quick, log, dir }) {
  const n = quick ? 20_000 : 1_000_000;
  const pairs = 3;
  const suite = join(dir, 'whole.csv');
  await suiteCsv(suite, n);
  const api = await demoApi();
  try {
    const done = [];
    for (let i = 1; i <= pairs; i++) {
      log(`whole job ${i}/${pairs}: bare capi-split | capi-exec --concurrency 64, ${n} tests`);
      const bare = await barePipeline(suite, api.url);
      log(`whole job ${i}/${pairs}: capi-launch --foreground --parallel 2, ${n} tests, merge included`);
      const launched = await launchedRun(suite, api.url, join(dir, `runs-whole-${i}`));
      done.push({ bare, launched, ratio: launched.seconds / bare.seconds });
    }
    const ratio = medianOf(done.map((d) => d.ratio));
    const middle = done.find((d) => d.ratio === ratio);
    const peaks = done.flatMap((d) => d.launched.peaks);
    const top = Math.max(...peaks.map((p) => p.bytes));
    const label = `${n.toLocaleString('en-US')} tests, no latency, --parallel 2, default batches, merge incl.`;
    const each = done.map(
      (d) => `${d.launched.seconds.toFixed(1)}/${d.bare.seconds.toFixed(1)} s ${d.ratio.toFixed(2)}`,
    );
    return [
      {
        group: 'capi-launch',
        case: label,
        metric: 'wall s',
        capi: middle.launched.seconds,
        baseline: middle.bare.seconds,
        baselineName: 'capi-split piped to capi-exec -c 64',
        ratio,
        target: quick ? null : '<= 1.5',
        ok: quick ? null : ratio <= 1.5,
        note: `median of ${pairs} pairs, launch/bare, in turn: ${each.join('; ')}`,
      },
      {
        group: 'capi-launch',
        case: label,
        metric: 'peak RSS MB',
        capi: top / MB,
        baseline: Math.max(...done.map((d) => d.bare.peak)) / MB,
        baselineName: 'capi-split piped to capi-exec -c 64',
        ratio: null,
        target: '< 150 (each process)',
        ok: top < 150 * MB,
        note: `MB: ${done.map((d) => ['supervisor', 'split', 'exec', 'merge'].map((role) => sum(d.launched.peaks, role)).join(', ')).join('; ')}`,
      },
    ];
  } finally {
    api.stop();
  }
}

/**
 * 2. 50 ms latency: the same suite by 1 worker and by 4, at the same per-worker concurrency.
 * A launch has fixed costs (node's start-ups, the split, the merge: about a second) that
 * more workers do not shorten, so the speed-up of a short suite says more about them than
 * about the workers: the target row is long enough (100 s for one worker) for them to
 * weigh about 1%, and the short row of the first round is kept beside it.
 */
async function sideBySide({ quick, log, dir }) {
  const concurrency = 4;
  const api = await demoApi(['--latency', '50']);
  try {
    const rows = [];
    for (const [tests, target] of quick
      ? [[240, false]]
      : [
          [2000, false],
          [8000, true],
        ]) {
      const suite = join(dir, `latency-${tests}.csv`);
      await suiteCsv(suite, tests);
      const seconds = {};
      for (const parallel of [1, 4]) {
        log(`side by side: ${tests} tests, 50 ms latency, --parallel ${parallel}, --concurrency ${concurrency}`);
        const env = { CAPI_RUNS_DIR: join(dir, `runs-${tests}-${parallel}`), NO_COLOR: '1' };
        const args = [suite, '--foreground', '--parallel', String(parallel), '--batch-size', '100'];
        args.push('--concurrency', String(concurrency), '--base-url', api.url);
        const started = process.hrtime.bigint();
        const r = await run(args, env, 15 * 60_000);
        seconds[parallel] = Number(process.hrtime.bigint() - started) / 1e9;
        if (r.code !== 0) throw new Error(`capi-launch --parallel ${parallel} exited ${r.code}: ${r.stderr}`);
      }
      const speedup = seconds[1] / seconds[4];
      rows.push({
        group: 'capi-launch',
        case: `${tests.toLocaleString('en-US')} tests, 50 ms latency, --parallel 4 vs 1`,
        metric: 'speed-up',
        capi: speedup,
        baseline: 4,
        baselineName: 'ideal: 4 workers, 4x',
        ratio: speedup / 4,
        target: target ? '>= 0.95' : null,
        ok: target ? speedup / 4 >= 0.95 : null,
        note: `1 worker ${seconds[1].toFixed(1)} s, 4 workers ${seconds[4].toFixed(1)} s (concurrency ${concurrency} each, batches of 100, merge incl.)`,
      });
    }
    return rows;
  } finally {
    api.stop();
  }
}

/** 3. `--rate 200/s` shared by 4 workers: the achieved rate and the busiest second, from the journals. */
async function sharedRate({ quick, log, dir }) {
  const tests = quick ? 800 : 4000;
  const api = await demoApi();
  try {
    const suite = join(dir, 'rate.csv');
    await suiteCsv(suite, tests);
    const runs = join(dir, 'runs-rate');
    log(`shared rate: ${tests} tests, --rate 200/s, --parallel 4`);
    const args = [suite, '--foreground', '--parallel', '4', '--rate', '200/s', '--base-url', api.url];
    const r = await run(args, { CAPI_RUNS_DIR: runs, NO_COLOR: '1' }, 10 * 60_000);
    if (r.code !== 0) throw new Error(`capi-launch --rate exited ${r.code}: ${r.stderr}`);
    const runDir = join(
      runs,
      (await readdir(runs)).find((d) => d.startsWith('capi_test_')),
    );
    const starts = [];
    for (const f of (await readdir(join(runDir, 'results'))).filter((f) => f.endsWith('.ndjson')))
      for (const line of (await readFile(join(runDir, 'results', f), 'utf8')).split('\n'))
        if (line) starts.push(Date.parse(JSON.parse(line).startedAt));
    starts.sort((a, b) => a - b);
    if (starts.length !== tests) throw new Error(`${tests} tests, ${starts.length} results`);
    return [
      rateRow(
        'capi-launch',
        `--rate 200/s shared by --parallel 4, ${tests.toLocaleString('en-US')} tests`,
        starts,
        quick,
      ),
    ];
  } finally {
    api.stop();
  }
}

export default async function bench({ quick, log }) {
  const dir = await mkdtemp(join(tmpdir(), 'capi-bench-launch-'));
  try {
    const rows = [];
    for (const part of [wholeJob, sideBySide, sharedRate]) rows.push(...(await part({ quick, log, dir })));
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
