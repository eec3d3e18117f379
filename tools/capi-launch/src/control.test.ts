import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runTool } from '@capi/testkit';
import { exactlyOnce, journalIds, readJson, runDirOf, sandboxes, until } from './test-support/harness.js';

const box = sandboxes(true);

const runIds = (runs: string) =>
  readdirSync(runs)
    .filter((n) => n.startsWith('capi_test_'))
    .sort();
const doneCount = (runDir: string) => [...journalIds(runDir).values()].length;
interface Beat {
  state: string;
}

test('--pause stops new tests until --continue; --set changes rate and concurrency of a live run', async () => {
  // 400 tests at 40/s: some 10 s, so that the --pause below lands while the run is live even
  // when each capi-launch command takes seconds to start on a loaded machine
  const b = await box({ FAKE_EXEC_DELAY_MS: '40' });
  const r = await b.launch([b.suite(400), '--parallel', '2', '--batch-size', '200', '--rate', '40/s']);
  const runDir = runDirOf(r.stdout);
  await until('first results', () => existsSync(join(runDir, 'results/batch_0001.ndjson')));
  const p = await b.launch(['--pause', runDir]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(readJson<{ paused: boolean }>(join(runDir, 'control.json')).paused, true);
  // A worker says `paused` only once the test it had in flight is in its journal (one that
  // starts meanwhile, before its first test): a fixed 400 ms here raced that last test on a
  // loaded machine. Both batches (200 tests each) are far from done.
  await until('both workers paused', () => {
    const beats = readdirSync(join(runDir, 'status')).filter((n) => n.endsWith('.json'));
    return beats.length === 2 && beats.every((n) => readJson<Beat>(join(runDir, 'status', n)).state === 'paused');
  });
  const held = doneCount(runDir);
  await sleep(600);
  assert.equal(doneCount(runDir), held, 'no new results while paused');
  const s = await b.launch(['--status', runDir]);
  assert.match(s.stdout, /running \(paused\)/);
  const set = await b.launch(['--set', 'rate=50/s', runDir]);
  assert.equal(set.code, 0, set.stderr);
  const set2 = await b.launch(['--set', 'concurrency=3', runDir]);
  assert.equal(set2.code, 0, set2.stderr);
  assert.deepEqual(readJson(join(runDir, 'control.json')), { paused: true, rate: '50/s', concurrency: 3, workers: 2 });
  const unlimited = await b.launch(['--set', 'rate=none', runDir]);
  assert.equal(unlimited.code, 0, unlimited.stderr);
  assert.equal(readJson<{ rate: string | null }>(join(runDir, 'control.json')).rate, null);
  assert.equal((await b.launch(['--set', 'rate=0', runDir])).code, 0);
  await b.launch(['--set', 'rate=50/s', runDir]);
  const bad = await b.launch(['--set', 'speed=9', runDir]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--set takes rate=N\/s, rate=N\/m, rate=none or concurrency=N \(got "speed=9"\)/);
  await b.launch(['--continue', runDir]);
  await until('run end', () => readJson<{ state: string }>(join(runDir, 'run.json')).state === 'completed', 60_000);
  assert.equal(doneCount(runDir), 400);
  assert.equal(readJson<{ options: { rate: string } }>(join(runDir, 'run.json')).options.rate, '50/s');
  await until('supervisor gone', () => !existsSync(join(runDir, 'supervisor.pid')));
  const control = readFileSync(join(runDir, 'control.json'), 'utf8');
  const late = await b.launch(['--set', 'rate=400/s', runDir]);
  assert.equal(late.code, 2);
  assert.match(late.stderr, /--set: run capi_test_\S+ is not running \(completed\): --set changes a live run/);
  assert.equal(readFileSync(join(runDir, 'control.json'), 'utf8'), control, 'nothing written');
  for (const action of ['--pause', '--continue']) {
    const ended = await b.launch([action, runDir]);
    assert.equal(ended.code, 2, `${action} on a completed run`);
    assert.match(
      ended.stderr,
      new RegExp(`${action}: run capi_test_\\S+ has ended \\(completed\\): there is nothing to`),
    );
  }
  assert.equal(readFileSync(join(runDir, 'control.json'), 'utf8'), control, 'nothing written');
});

test('--pause and --continue on a stopped run: its resume starts paused, or not; said so', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '100' });
  const r = await b.launch([b.suite(300), '--parallel', '1', '--batch-size', '10']);
  const runDir = runDirOf(r.stdout);
  assert.equal((await b.launch(['--stop', runDir])).code, 0);
  await until('stopped', () => readJson<{ state: string }>(join(runDir, 'run.json')).state === 'stopped');
  const p = await b.launch(['--pause', runDir]);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /is not running \(stopped\): capi-launch --resume \S+ starts it paused/);
  assert.equal(readJson<{ paused: boolean }>(join(runDir, 'control.json')).paused, true);
  const c = await b.launch(['--continue', runDir]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr, /starts it not paused/);
  assert.equal(readJson<{ paused: boolean }>(join(runDir, 'control.json')).paused, false);
});

test('--rerun-failed: a new run of only the failed and errored tests', async () => {
  const b = await box();
  const r = await b.launch([b.suite(30), '--foreground', '--batch-size', '10'], {
    env: { FAKE_EXEC_FAIL: 'T0003,T0025' },
  });
  assert.equal(r.code, 1, r.stderr);
  const first = join(b.runs, runIds(b.runs)[0] as string);
  const again = await b.launch(['--rerun-failed', first, '--foreground']);
  assert.equal(again.code, 0, again.stderr);
  const second = join(b.runs, runIds(b.runs)[1] as string);
  assert.deepEqual([...journalIds(second).keys()].sort(), ['T0003', 'T0025']);
  assert.equal(readJson<{ total: number }>(join(second, 'run.json')).total, 2);
  const none = await b.launch(['--rerun-failed', second]);
  assert.equal(none.code, 0);
  assert.match(none.stderr, /no failed or errored tests to run again/);
  assert.equal(runIds(b.runs).length, 2, 'no run made for nothing');
});

test('--on-finish gets the run folder and verdict; --prune --keep N removes the oldest finished runs', async () => {
  const b = await box();
  const suite = b.suite(10);
  const marker = join(b.dir, 'finished.txt');
  const cmd = `echo "$CAPI_RUN_ID $CAPI_RUN_STATE $CAPI_VERDICT $CAPI_EXIT_CODE $CAPI_RUN_DIR" > ${marker}`;
  const r = await b.launch([suite, '--foreground', '--on-finish', cmd]);
  assert.equal(r.code, 0, r.stderr);
  const id = runIds(b.runs)[0] as string;
  assert.equal(readFileSync(marker, 'utf8'), `${id} completed passed 0 ${join(b.runs, id)}\n`);
  for (let i = 0; i < 2; i++) assert.equal((await b.launch([suite, '--foreground'])).code, 0);
  const ids = runIds(b.runs);
  assert.equal(ids.length, 3);
  const pruned = await b.launch(['--prune', '--keep', '1']);
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.equal(pruned.stdout, `removed ${ids[0]}\nremoved ${ids[1]}\n`);
  assert.deepEqual(runIds(b.runs), [ids[2]]);
});

test('bad suite input: the splitter message, exit 2, no run folder left behind', async () => {
  const b = await box();
  const suite = join(b.dir, 'bad.csv');
  writeFileSync(suite, 'id,url\nT1,/a\nBAD,/b\n');
  const r = await b.launch([suite, '--foreground']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^capi-launch: splitting bad.csv: .*bad.csv:3: field "id"/);
  assert.deepEqual(runIds(b.runs), []);
  const missing = await b.launch([join(b.dir, 'nope.csv')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope.csv: no such file/);
  const typo = await b.launch([b.suite(3), '--timeout', '5s']);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /--timeout takes a whole number >= 0 \(got "5s"\)/);
  const usage = await b.launch(['--stop', '--resume']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /choose one of --stop, --resume/);
});

test('a stale pid file is cleared with a message and does not block a new launch', async () => {
  const b = await box();
  const suite = b.suite(10);
  assert.equal((await b.launch([suite, '--foreground'])).code, 0);
  const runDir = join(b.runs, runIds(b.runs)[0] as string);
  // a supervisor that died without cleaning up: pid of a process that is gone
  writeFileSync(join(runDir, 'supervisor.pid'), '999999\n');
  const m = readJson<Record<string, unknown>>(join(runDir, 'run.json'));
  writeFileSync(join(runDir, 'run.json'), JSON.stringify({ ...m, state: 'running', pid: 999999 }));
  const r = await b.launch([suite, '--foreground']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /stale pid file cleared \(supervisor 999999 is gone\); the run is stopped and can be resumed/);
  assert.equal(existsSync(join(runDir, 'supervisor.pid')), false);
  assert.equal(readJson<{ state: string }>(join(runDir, 'run.json')).state, 'stopped');
});

test('--monitor follows the run here (capi-watch, then the end) and exits with its verdict', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '30', FAKE_EXEC_FAIL: 'T0002' });
  const r = await b.launch([b.suite(30), '--monitor', '--batch-size', '10', '--parallel', '2']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^run capi_test_\S+ started \(nohup/);
  assert.match(r.stderr, /completed 30\/30 done.* verdict failed/);
  assert.match(r.stderr, /run ended: exit 1\n$/);
});

test("--status and --wait count the journals, not the heartbeats: a restarted worker's earlier results count", async () => {
  // batch_0002's first worker records T0011 (failed) and T0012, then dies; its replacement's
  // heartbeat counts only what it ran itself
  const b = await box({ FAKE_EXEC_QUIT_BATCH: 'batch_0002', FAKE_EXEC_FAIL: 'T0011' });
  const r = await b.launch([b.suite(30), '--batch-size', '10', '--wait']);
  assert.equal(r.code, 1, r.stderr);
  const runDir = runDirOf(r.stdout);
  const beat = readJson<{ failed: number }>(join(runDir, 'status/batch_0002.json'));
  assert.equal(beat.failed, 0, 'the replacement heartbeat does not know T0011');
  assert.match(r.stderr, /completed 30\/30 done, pass 96\.7% failed 1 errors 0 verdict failed/);
  const s = await b.launch(['--status', runDir, '--json']);
  assert.equal(s.code, 0, s.stderr);
  const row = JSON.parse(s.stdout) as Record<string, unknown>;
  assert.deepEqual(
    [row.done, row.passed, row.failed, row.errors, row.missing, row.passRate, row.countsFrom],
    [30, 29, 1, 0, 0, 96.7, 'journals'],
  );
});

test('--rate takes the grammar of capi-exec (3600/h, a bare number); a bad one names --rate, exit 2 with the Try line', async () => {
  const b = await box();
  const suite = b.suite(4);
  for (const rate of ['3600/h', '20']) {
    const r = await b.launch([suite, '--foreground', '--rate', rate, '--force']);
    assert.equal(r.code, 0, `${rate}: ${r.stderr}`);
  }
  const bad = await b.launch([suite, '--foreground', '--rate', 'fast']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^capi-launch: --rate takes a rate like 20\/s, 600\/m, 3600\/h/);
  assert.match(bad.stderr, /Try 'capi-launch --help'/);
  const set = await b.launch(['--set', 'rate=often', join(b.runs, 'latest')]);
  assert.equal(set.code, 2);
  assert.match(set.stderr, /Try 'capi-launch --help'/);
});

test('small things: the real prune count, --keep without --prune, --json without --status, singular words, a run cleaned by capi-merge --clean', async () => {
  const b = await box();
  const one = await b.launch([b.suite(1, 'one.csv'), '--foreground', '--parallel', '1']);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stderr, /: 1 test in 1 batch, 1 worker\n/);
  const r = await b.launch([b.suite(6), '--foreground', '--batch-size', '3'], { env: { FAKE_EXEC_FAIL: 'T0002' } });
  assert.equal(r.code, 1, r.stderr);
  const pruned = await b.launch(['--prune']);
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.match(pruned.stderr, /0 run\(s\) removed, 2 finished kept/);
  const keep = await b.launch(['--keep', '3']);
  assert.equal(keep.code, 2);
  assert.match(keep.stderr, /--keep goes with --prune/);
  assert.match(keep.stderr, /Try 'capi-launch --help'/);
  // --json is --status's: a launch, a dry run or another action would print text all the same
  for (const args of [
    [b.suite(2, 'two.csv'), '--json', '--dry-run'],
    ['--stop', '--json'],
    ['--prune', '--json'],
  ]) {
    const json = await b.launch(args);
    assert.equal(json.code, 2, `${args.join(' ')}: ${json.stderr}`);
    assert.match(json.stderr, /--json goes with --status/);
    assert.equal(json.stdout, '');
  }
  const runDir = join(b.runs, 'latest');
  const clean = await runTool('capi-merge', [runDir, '--clean']);
  assert.equal(clean.code, 1, clean.stderr);
  assert.equal(existsSync(join(runDir, 'batches')), false, 'capi-merge --clean removed the batches');
  const s = await b.launch(['--status', runDir, '--json']);
  const row = JSON.parse(s.stdout) as Record<string, unknown>;
  assert.deepEqual([row.done, row.total, row.failed, row.countsFrom], [6, 6, 1, 'report']);
  for (const action of ['--resume', '--rerun-failed']) {
    const again = await b.launch([action, runDir]);
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /was cleaned by capi-merge --clean/);
  }
});

test('--stop: hung workers are killed after the grace (said on stderr and in capi.log), the run ends stopped; again: already stopped', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '100' });
  const r = await b.launch([b.suite(200), '--parallel', '2', '--batch-size', '50', '--grace', '0']);
  const runDir = runDirOf(r.stdout);
  const workers = await until('two workers with results', () => {
    const pids = claimPids(runDir);
    const both = ['batch_0001', 'batch_0002'].every((x) => existsSync(join(runDir, 'results', `${x}.ndjson`)));
    return both && pids.length === 2 ? pids : null;
  });
  for (const pid of workers) process.kill(pid, 'SIGSTOP'); // hung: they will never answer SIGTERM
  const stop = await b.launch(['--stop', runDir], { timeoutMs: 40_000 });
  assert.equal(stop.code, 0, stop.stderr);
  const killed =
    /did not stop within 10 s: killed the supervisor \(pid \d+\), worker pid \d+, worker pid \d+ with SIGKILL/;
  assert.match(stop.stderr, killed);
  assert.match(readFileSync(join(runDir, 'logs/capi.log'), 'utf8'), killed);
  const m = readJson<{ state: string; pid: number | null; finished: string | null }>(join(runDir, 'run.json'));
  assert.deepEqual([m.state, m.pid, typeof m.finished], ['stopped', null, 'string']);
  assert.equal(existsSync(join(runDir, 'supervisor.pid')), false);
  assert.deepEqual(claimPids(runDir), [], 'no claim left running');
  const again = await b.launch(['--stop', runDir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /is not running \(already stopped\)/);
});

/** Pids of the claims that say `running`. */
function claimPids(runDir: string): number[] {
  return readdirSync(join(runDir, 'claims')).flatMap((f) => {
    try {
      const c = readJson<{ state: string; pid: number | null }>(join(runDir, 'claims', f));
      return c.state === 'running' && c.pid ? [c.pid] : [];
    } catch {
      return [];
    }
  });
}

test('--rate is the whole run rate also when fewer batches than --parallel are left: control.json workers follows', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '1' });
  // 2 batches for 4 slots: each of the 2 workers takes 20/s / 2 = 10/s (not 20/s / 4 = 5/s)
  const running = b.launch([b.suite(40), '--foreground', '--parallel', '4', '--batch-size', '20', '--rate', '20/s']);
  const control = join(b.runs, 'latest', 'control.json');
  // what the supervisor wrote to control.json `workers`, in order (polled: each value lasts about a second)
  const seen: number[] = [];
  let over = false;
  const watching = (async () => {
    while (!over) {
      try {
        const w = readJson<{ workers: number }>(control).workers;
        if (seen.at(-1) !== w) seen.push(w);
      } catch {}
      await sleep(20);
    }
  })();
  const r = await running;
  over = true;
  await watching;
  assert.equal(r.code, 0, r.stderr);
  const runDir = join(b.runs, 'latest');
  // the gaps between starts within each worker's journal, not a combined rate across two
  // processes started separately on a busy machine: one start per 100 ms (10/s) each
  for (const f of ['batch_0001.ndjson', 'batch_0002.ndjson']) {
    const starts = readFileSync(join(runDir, 'results', f), 'utf8')
      .trim()
      .split('\n')
      .map((l) => Date.parse((JSON.parse(l) as { startedAt: string }).startedAt));
    const gaps = starts.slice(1).map((t, i) => t - (starts[i] as number));
    const median = [...gaps].sort((x, y) => x - y)[Math.floor(gaps.length / 2)] as number;
    // 10/s is 100 ms apart; the last worker alone takes the whole 20/s (50 ms); 5/s would be 200 ms
    assert.ok(
      gaps.every((g) => g >= 45),
      `${f}: starts closer than the rate allows: ${gaps.join(' ')}`,
    );
    assert.ok(median >= 90 && median < 180, `${f}: median gap ${median} ms, expected about 100: ${gaps.join(' ')}`);
  }
  // the tail: when the first worker ran out of batches, the last one took the whole rate
  assert.deepEqual(seen.slice(seen.indexOf(2)), [2, 1], `control.json workers went ${seen.join(' → ')}`);
});

test('a resumed run is merged again and its report/ holds one set of reports, not the earlier ones too', async () => {
  const b = await box();
  const r = await b.launch([b.suite(20), '--foreground', '--batch-size', '10']);
  assert.equal(r.code, 0, r.stderr);
  const report = join(b.runs, 'latest', 'report');
  // what an earlier merge of this run left (a run that stopped, failed or was resumed before)
  for (const name of ['aggregated_results_20200101_000000.json', 'aggregated_results_20200101_000000.csv'])
    writeFileSync(join(report, name), '{}\n');
  writeFileSync(join(report, 'test_summary_report_20200101_000000.txt'), 'missing: 20\n');
  writeFileSync(join(report, 'notes.txt'), 'mine\n');
  const again = await b.launch(['--resume', join(b.runs, 'latest'), '--foreground']);
  assert.equal(again.code, 0, again.stderr);
  const names = readdirSync(report).sort();
  for (const pattern of [
    /^aggregated_results_\d{8}_\d{6}\.json$/,
    /^aggregated_results_\d{8}_\d{6}\.csv$/,
    /^test_summary_report_\d{8}_\d{6}\.txt$/,
  ])
    assert.equal(names.filter((n) => pattern.test(n)).length, 1, `${pattern}: ${names.join(' ')}`);
  assert.ok(!names.some((n) => n.includes('20200101')), names.join(' '));
  assert.ok(names.includes('notes.txt'), 'other files stay');
  // capi-merge replaced the earlier set and points the stable names at the new one
  assert.ok(names.includes('test_summary_report_latest.txt'), names.join(' '));
  assert.match(readFileSync(join(b.runs, 'latest', 'logs', 'capi.log'), 'utf8'), /replaced the earlier report set/);
});

test('two --resume of one stopped run at once: one starts its supervisor, the other is refused (exit 2)', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '100' });
  const r = await b.launch([b.suite(300), '--parallel', '2', '--batch-size', '10']);
  const runDir = runDirOf(r.stdout);
  assert.equal((await b.launch(['--stop', runDir])).code, 0);
  await until('stopped', () => readJson<{ state: string }>(join(runDir, 'run.json')).state === 'stopped');
  const both = await Promise.all([b.launch(['--resume', runDir]), b.launch(['--resume', runDir])]);
  const codes = both.map((x) => x.code).sort();
  assert.deepEqual(codes, [0, 2], both.map((x) => x.stderr).join('\n'));
  const refused = both.find((x) => x.code === 2);
  assert.match(refused?.stderr ?? '', /is still running \(pid \d+\): nothing to resume/);
  const log = () => readFileSync(join(runDir, 'logs', 'capi.log'), 'utf8');
  const starts = () =>
    log()
      .split('\n')
      .filter((l) => /: 300 tests in \d+ batches/.test(l)).length;
  // the resume returns once its supervisor has taken the run, a moment before that writes its first line
  await until('the resumed run to log its start', () => starts() >= 2, 5000).catch(() => {});
  assert.equal(starts(), 2, `one start at launch, one at the resume:\n${log()}`);
  assert.equal((await b.launch(['--stop', runDir])).code, 0);
});

test('a --foreground --resume and a background --resume of one run at once: one supervises, the other is refused', async () => {
  const b = await box({ FAKE_EXEC_DELAY_MS: '20' });
  const r = await b.launch([b.suite(200), '--parallel', '2', '--batch-size', '10']);
  const runDir = runDirOf(r.stdout);
  assert.equal((await b.launch(['--stop', runDir])).code, 0);
  await until('stopped', () => readJson<{ state: string }>(join(runDir, 'run.json')).state === 'stopped');
  const [fg, bg] = await Promise.all([b.launch(['--resume', runDir, '--foreground']), b.launch(['--resume', runDir])]);
  const refused = fg.code === 2 ? fg : bg;
  assert.equal(refused.code, 2, `${fg.stderr}\n${bg.stderr}`);
  assert.match(refused.stderr, /is still running \(pid \d+\): nothing to resume/);
  if (refused === bg) assert.equal(fg.code, 0, fg.stderr);
  else {
    assert.equal(bg.code, 0, bg.stderr);
    await until('completed', () => readJson<{ state: string }>(join(runDir, 'run.json')).state === 'completed', 30_000);
  }
  const log = readFileSync(join(runDir, 'logs', 'capi.log'), 'utf8');
  const starts = log.split('\n').filter((l) => /: 200 tests in \d+ batches/.test(l));
  assert.equal(starts.length, 2, `one start at launch, one at the resume:\n${log}`);
  assert.equal(exactlyOnce(runDir, 200), null);
});
