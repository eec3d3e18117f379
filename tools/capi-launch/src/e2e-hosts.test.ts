import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { binPath, runTool, tempDir } from '@capi/testkit';
import {
  demoFor,
  demoSuite,
  exactlyOnce,
  isAlive,
  type Manifest,
  readJson,
  runDirOf,
  sandboxes,
  until,
  workersOf,
} from './test-support/harness.js';
import { descendantsOf, type SshHosts, sshMissing, startSshHosts } from './test-support/sshd.js';

// capi-launch --hosts end to end: two real sshd on loopback ports are the two hosts (the
// "remote" side is this machine, so its capi-exec is this checkout's), GNU parallel
// drives them, the demo API answers. Skipped, saying why, without sshd, parallel or rsync.

const missing = sshMissing();
const demo = demoFor(5);
const box = sandboxes(false);
let hosts: SshHosts | undefined;
let keys: { path: string; cleanup: () => Promise<void> } | undefined;
const runIds: string[] = [];

before(async () => {
  if (missing) return;
  keys = await tempDir('capi-sshd-');
  hosts = await startSshHosts(keys.path, 2);
});
after(async () => {
  hosts?.stop();
  await keys?.cleanup();
  // the hosts' side of the runs (a stopped run keeps it; the others remove it themselves)
  for (const id of runIds) rmSync(join(homedir(), '.capi-remote', id), { recursive: true, force: true });
});

const skip = missing ? { skip: missing } : {};

function hostArgs(list: string): string[] {
  const h = hosts as SshHosts;
  return ['--hosts', list, '--ssh-config', h.config, '--remote-capi', binPath('capi-exec')];
}

interface Line {
  id: string;
  host?: string;
  batch: string;
}

function results(runDir: string): Line[] {
  const out: Line[] = [];
  for (const f of readdirSync(join(runDir, 'results')).filter((n) => n.endsWith('.ndjson')))
    for (const l of readFileSync(join(runDir, 'results', f), 'utf8').split('\n'))
      if (l.trim())
        try {
          out.push(JSON.parse(l) as Line);
        } catch {
          // a line being written, or torn by the supervisor's kill -9: not a result yet
        }
  return out;
}

const runEnded = (runDir: string) => readJson<Manifest>(join(runDir, 'run.json')).state !== 'running';

test(
  '3,000 tests over two hosts and one that refuses SSH: 3,000 unique results, each with its host; the refusing host named, its work on the others',
  skip,
  async () => {
    const b = await box();
    const [h1, h2] = (hosts as SshHosts).names as [string, string];
    const suite = demoSuite(b.dir, 3000);
    const r = await b.launch(
      [
        suite,
        '--base-url',
        demo.url,
        '--batch-size',
        '500',
        '--parallel',
        '2',
        '--concurrency',
        '8',
        '--wait',
        ...hostArgs(`${h1},${h2},1/refusing`),
      ],
      { timeoutMs: 150_000 },
    );
    const runDir = runDirOf(r.stdout);
    runIds.push(runDir.split('/').pop() as string);
    const log = readFileSync(join(runDir, 'logs/capi.log'), 'utf8');
    assert.equal(r.code, 0, `${r.stderr}\n${log}`);
    assert.equal(exactlyOnce(runDir, 3000), null);
    const lines = results(runDir);
    assert.equal(lines.length, 3000);
    const perHost = new Map<string, number>();
    for (const l of lines) perHost.set(String(l.host), (perHost.get(String(l.host)) ?? 0) + 1);
    assert.deepEqual([...perHost.keys()].sort(), [h1, h2].sort(), JSON.stringify([...perHost]));
    assert.match(log, /host refusing cannot be reached \(.*\); attempt 1 runs on the other hosts/);
    // capi's own record: every batch done in attempt 1, on a real host
    const attempts = readFileSync(join(runDir, 'attempts.ndjson'), 'utf8').trim().split('\n');
    assert.equal(attempts.length, 6);
    for (const a of attempts.map((t) => JSON.parse(t) as { outcome: string; host: string }))
      assert.ok(a.outcome === 'done' && [h1, h2].includes(a.host), JSON.stringify(a));
    assert.ok(existsSync(join(runDir, 'remote', 'attempt_1.joblog')));
    // the merged report records the host of every result: the JSON record field and the CSV column
    const report = readJson<{ tests: { id: string; host?: string }[] }>(
      join(runDir, 'report', 'aggregated_results_latest.json'),
    );
    assert.equal(report.tests.length, 3000);
    assert.ok(
      report.tests.every((t) => t.host === h1 || t.host === h2),
      'every merged test names its host',
    );
    const csv = readFileSync(join(runDir, 'report', 'aggregated_results_latest.csv'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(csv[0]?.split(',').at(-1), 'host');
    assert.equal(csv.slice(1).filter((row) => row.endsWith(`,${h1}`) || row.endsWith(`,${h2}`)).length, 3000);
    // the hosts' folders were removed at the end
    assert.equal(existsSync(join(homedir(), '.capi-remote', runIds.at(-1) as string)), false);
  },
);

test(
  'a --foreground run over a host ends with its run: nothing of the attempt holds it after the report',
  skip,
  async () => {
    const b = await box();
    const [h1] = (hosts as SshHosts).names as [string];
    const suite = demoSuite(b.dir, 200);
    const args = [suite, '--foreground', '--base-url', demo.url, '--batch-size', '100', '--parallel', '2'];
    const r = await b.launch([...args, '--concurrency', '4', ...hostArgs(h1)], { timeoutMs: 90_000 });
    const returned = Date.now();
    const [id] = readdirSync(b.runs).filter((n) => n.startsWith('capi_test_'));
    assert.ok(id, r.stderr);
    const runDir = join(b.runs, id);
    runIds.push(runDir.split('/').pop() as string);
    const log = readFileSync(join(runDir, 'logs/capi.log'), 'utf8');
    assert.equal(r.code, 0, `${r.stderr}\n${log}`);
    const end = /^(\S+) run \S+ completed, verdict passed, exit 0$/m.exec(log);
    assert.ok(end, log);
    // before, a pending 10-s bound on reading GNU parallel's output kept the process alive
    // for the rest of those 10 s after the run had ended
    const lingered = returned - Date.parse(end[1] as string);
    assert.ok(lingered < 4000, `capi-launch ended ${lingered} ms after its run`);
  },
);

/** Live capi-exec processes of the run on host `host` (its argv names it: `--host NAME`). */
function remoteWorkers(runId: string, host: string): number[] {
  return workersOf(runId).filter((pid) => {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const i = argv.indexOf('--host');
    return i >= 0 && argv[i + 1] === host && argv.some((a) => a.endsWith('capi-exec.js'));
  });
}

test(
  'a remote capi-exec killed mid-run: its batch runs again from its journal, each id exactly once',
  skip,
  async () => {
    const b = await box();
    const [h1, h2] = (hosts as SshHosts).names as [string, string];
    const suite = demoSuite(b.dir, 400, [], 40);
    // the base URL from the environment: it reaches the hosts in env.sh (0600), never a command line
    const r = await b.launch(
      [suite, '--batch-size', '100', '--parallel', '1', '--concurrency', '2', ...hostArgs(`${h1},${h2}`)],
      { env: { CAPI_BASE_URL: demo.url } },
    );
    assert.equal(r.code, 0, r.stderr);
    const runDir = runDirOf(r.stdout);
    const runId = runDir.split('/').pop() as string;
    runIds.push(runId);
    const victim = await until(
      'a capi-exec on the first host with results home',
      () => results(runDir).some((l) => l.host === h1) && remoteWorkers(runId, h1)[0],
      90_000,
    );
    process.kill(victim, 'SIGKILL');
    await until('run end', () => runEnded(runDir), 150_000);
    const m = readJson<Manifest>(join(runDir, 'run.json'));
    const log = readFileSync(join(runDir, 'logs/capi.log'), 'utf8');
    assert.deepEqual([m.state, m.verdict], ['completed', 'passed'], log);
    assert.equal(exactlyOnce(runDir, 400), null);
    assert.match(log, new RegExp(`attempt 1: batch_\\d+ retry on ${h1} \\(exit 137\\)`));
    assert.match(log, /attempt 2: 1 batch on /);
    const envFile = join(runDir, 'remote', 'attempt_1', 'env.sh');
    assert.equal(statSync(envFile).mode & 0o777, 0o600);
    assert.match(readFileSync(envFile, 'utf8'), new RegExp(`^export CAPI_BASE_URL=${demo.url}$`, 'm'));
    assert.equal(readFileSync(join(runDir, 'remote', 'attempt_1.joblog'), 'utf8').includes(demo.url), false);
  },
);

test(
  '--pause, --continue and --stop reach remote workers; kill -9 of the supervisor, then --resume runs only what has no result',
  skip,
  async () => {
    const b = await box();
    const [h1, h2] = (hosts as SshHosts).names as [string, string];
    // two batches, one a host, each long enough (300 tests one at a time, 60 ms each) to be controlled mid-run
    const suite = demoSuite(b.dir, 600, [], 60);
    const r = await b.launch([
      suite,
      '--base-url',
      demo.url,
      '--batch-size',
      '300',
      '--parallel',
      '1',
      '--concurrency',
      '1',
      '--rate',
      '1000/s',
      ...hostArgs(`${h1},${h2}`),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const runDir = runDirOf(r.stdout);
    const runId = runDir.split('/').pop() as string;
    runIds.push(runId);
    const remote = join(homedir(), '.capi-remote', runId, 'attempt_1');
    // the remote heartbeats sit on the hosts; here the hosts are this machine, so the test reads them
    const heartbeats = () =>
      existsSync(remote)
        ? readdirSync(remote)
            .filter((n) => n.startsWith('batch_'))
            .map((n) => join(remote, n, 'status.json'))
            .filter(existsSync)
            .map((f) => {
              try {
                return (JSON.parse(readFileSync(f, 'utf8')) as { state: string }).state;
              } catch {
                return 'torn';
              }
            })
        : [];
    await until('results home', () => results(runDir).length > 20, 90_000);
    // capi-watch shows the progress per host while the run goes on
    let watched = '';
    for (let tries = 0; tries < 30 && !(watched.includes(`  ${h1} `) && watched.includes(`  ${h2} `)); tries++)
      watched = (await runTool('capi-watch', ['--summary', runDir], { env: b.env })).stdout;
    assert.match(watched, new RegExp(`Hosts:\\n  ${h1} +\\d+ done`));
    assert.equal((await b.launch(['--pause', runDir])).code, 0);
    await until('both remote workers paused', () => heartbeats().filter((s) => s === 'paused').length >= 2, 30_000);
    // the hosts' control.json: the whole run's rate, shared by the 2 workers of both hosts
    const remoteControl = () => {
      try {
        return JSON.parse(readFileSync(join(remote, 'control.json'), 'utf8')) as Record<string, unknown>;
      } catch {
        return {};
      }
    };
    assert.deepEqual([remoteControl().paused, remoteControl().rate, remoteControl().workers], [true, '1000/s', 2]);
    assert.equal((await b.launch(['--set', 'rate=500/s', runDir])).code, 0);
    await until('the new rate on the hosts', () => remoteControl().rate === '500/s', 30_000);
    // a hand-edited rate capi-exec does not take: the hosts keep the last one taken, not no limit
    const control = join(runDir, 'control.json');
    writeFileSync(`${control}.edit`, JSON.stringify({ ...readJson<object>(control), rate: 'fast' }));
    renameSync(`${control}.edit`, control);
    const capiLog = () => readFileSync(join(runDir, 'logs/capi.log'), 'utf8');
    await until(
      'the supervisor says so',
      () => /"rate" "fast" is not taken .*: the hosts get 500\/s/.test(capiLog()),
      30_000,
    );
    assert.equal(remoteControl().rate, '500/s');
    assert.equal((await b.launch(['--continue', runDir])).code, 0);
    await until('remote workers running again', () => heartbeats().filter((s) => s === 'running').length >= 2, 30_000);
    const stop = await b.launch(['--stop', runDir], { timeoutMs: 90_000 });
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(readJson<Manifest>(join(runDir, 'run.json')).state, 'stopped');
    const said = readdirSync(join(runDir, 'logs'))
      .filter((n) => n.startsWith('batch_'))
      .map((n) => readFileSync(join(runDir, 'logs', n), 'utf8'))
      .join('');
    assert.match(said, /control\.json says stop/);
    const before = results(runDir).length;
    assert.ok(before < 600, `${before} results before the resume`);

    // resume, then kill -9 the supervisor once more results came home, then resume again
    const resumed = await b.launch(['--resume', runDir]);
    assert.equal(resumed.code, 0, resumed.stderr);
    await until('more results', () => results(runDir).length > before + 20, 90_000);
    const pid = Number(readFileSync(join(runDir, 'supervisor.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    const atKill = results(runDir).length;
    const last = await b.launch(['--resume', runDir, '--wait'], { timeoutMs: 150_000 });
    const log = readFileSync(join(runDir, 'logs/capi.log'), 'utf8');
    assert.equal(last.code, 0, `${last.stderr}\n${log}`);
    assert.equal(exactlyOnce(runDir, 600), null);
    // the last attempt ran only the tests without a result: its capi-exec processes' closing
    // lines ("N ran, …, M already done") say how many each ran and skipped
    assert.ok(atKill < 600, `${atKill} results at the kill`);
    let ran = 0;
    let skipped = 0;
    for (const n of readdirSync(join(runDir, 'logs')).filter((f) => f.startsWith('batch_'))) {
      const closing = readFileSync(join(runDir, 'logs', n), 'utf8')
        .trim()
        .split('\n')
        .pop() as string;
      ran += Number(/ (\d+) ran,/.exec(closing)?.[1] ?? Number.NaN);
      skipped += Number(/(\d+) already done/.exec(closing)?.[1] ?? 0);
    }
    assert.equal(ran, 600 - atKill, log);
    assert.equal(skipped, atKill, log);
    assert.match(log, /attempt 3: 2 batches on /);
  },
);

test(
  'a supervisor killed with SIGKILL mid-run: within 4 s no GNU parallel, ssh or remote capi-exec of the run is alive, and the API gets no request after',
  skip,
  async () => {
    const b = await box();
    const [h1, h2] = (hosts as SshHosts).names as [string, string];
    // batches of 4 tests of 5 s, one at a time per host: a remote capi-exec left alone runs on for 15 s
    const suite = demoSuite(b.dir, 16, [], 5000);
    const r = await b.launch([
      suite,
      '--base-url',
      demo.url,
      '--batch-size',
      '4',
      '--parallel',
      '1',
      '--concurrency',
      '1',
      ...hostArgs(`${h1},${h2}`),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const runDir = runDirOf(r.stdout);
    const runId = runDir.split('/').pop() as string;
    runIds.push(runId);
    await until(
      'a result home from each host',
      () => [h1, h2].every((h) => results(runDir).some((l) => l.host === h)),
      90_000,
    );
    // what the attempt runs here: the process in the claims (GNU parallel's keeper) and all under it
    const claim = readJson<{ pid: number }>(join(runDir, 'claims', 'batch_0001.json'));
    const local = [claim.pid, ...descendantsOf(claim.pid)];
    assert.ok(local.length >= 4, `GNU parallel and its ssh jobs: ${local.join(', ')}`);
    assert.equal(remoteWorkers(runId, h1).length + remoteWorkers(runId, h2).length, 2);
    const requests = async () =>
      ((await (await fetch(`${demo.url}/stats`)).json()) as { byRoute: Record<string, number> }).byRoute[
        'GET /items/:id'
      ] ?? 0;
    process.kill(Number(readFileSync(join(runDir, 'supervisor.pid'), 'utf8')), 'SIGKILL');
    // before, GNU parallel lived until its next write into the closed pipe, and its ssh jobs
    // (ssh ignores SIGPIPE) and the remote capi-exec ran their batches to the end
    await until(
      'no process of the run left',
      () => local.every((p) => !isAlive(p)) && workersOf(runId).length === 0,
      4_000,
    );
    const atEnd = await requests();
    await sleep(3000);
    assert.equal(await requests(), atEnd, 'no request after the processes ended');
  },
);

/** Pids whose parent is `ppid`, from /proc. */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // the field after the command (in parentheses, which may hold spaces) is the state, then the ppid
      const ppidOf = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppidOf === ppid) out.push(Number(name));
    } catch {}
  }
  return out;
}

test(
  'a host that dies mid-run: its unfinished batch runs again on the other host, each id exactly once',
  skip,
  async () => {
    // hosts of its own: this test kills one
    const own = await tempDir('capi-sshd-dying-');
    const pair = await startSshHosts(own.path, 2);
    try {
      const b = await box();
      const [h1, h2] = pair.names as [string, string];
      const suite = demoSuite(b.dir, 300, [], 40);
      const r = await b.launch([
        suite,
        '--base-url',
        demo.url,
        '--batch-size',
        '150',
        '--parallel',
        '1',
        '--concurrency',
        '1',
        '--hosts',
        `${h1},${h2}`,
        '--ssh-config',
        pair.config,
        '--remote-capi',
        binPath('capi-exec'),
      ]);
      assert.equal(r.code, 0, r.stderr);
      const runDir = runDirOf(r.stdout);
      const runId = runDir.split('/').pop() as string;
      runIds.push(runId);
      await until('results from the first host', () => results(runDir).some((l) => l.host === h1), 90_000);
      // the host dies: its sshd and every session of it at once (the remote wrapper then ends its capi-exec)
      const listener = pair.pids[0] as number;
      const sessions = childrenOf(listener);
      process.kill(listener, 'SIGKILL');
      for (const pid of sessions) process.kill(pid, 'SIGKILL');
      await until('run end', () => runEnded(runDir), 150_000);
      const m = readJson<Manifest>(join(runDir, 'run.json'));
      const log = readFileSync(join(runDir, 'logs/capi.log'), 'utf8');
      assert.deepEqual([m.state, m.verdict], ['completed', 'passed'], log);
      assert.equal(exactlyOnce(runDir, 300), null);
      assert.match(log, new RegExp(`host ${h1} no longer answers`));
      assert.match(log, new RegExp(`attempt 1: batch_\\d+ host-down on ${h1} \\(exit 255\\)`));
      assert.match(log, new RegExp(`attempt 2: 1 batch on ${h2} \\(1\\)`));
    } finally {
      pair.stop();
      await own.cleanup();
    }
  },
);
