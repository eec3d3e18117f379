import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runPaths } from '@capi/core';
import { tempDir } from '@capi/testkit';
import {
  dashboardCommand,
  exited,
  hasTmux,
  isAlive,
  journalCounts,
  killChildren,
  sgrColors,
  startFakeRun,
  tmuxServer,
  waitFor,
} from './test-support/watch-helpers.js';

/** The dashboard in a real tmux pane, read back with `tmux capture-pane`. */

const skip = !(await hasTmux()) && 'tmux is not installed';
const tmp = await tempDir('capi-watch-tmux-');
const tmux = tmuxServer(`capiw${process.pid}`);
after(async () => {
  await tmux.kill();
  killChildren();
  await tmp.cleanup();
});

const num = (n: number) => n.toLocaleString('en-US');

/** The number after `label` in the Status box (`passed   3,624`). */
function statusValue(screen: string, label: string): number | null {
  const m = screen.match(new RegExp(`│${label}\\s+([\\d,]+)`));
  return m ? Number((m[1] as string).replaceAll(',', '')) : null;
}

test('the dashboard follows a run live, and its numbers match the journals', { skip }, async () => {
  const runs = join(tmp.path, 'live');
  const dir = join(runs, 'capi_test_dash');
  const fake = startFakeRun(dir, [
    '--total',
    '3000',
    '--batches',
    '3',
    '--rate',
    '400',
    '--fail-every',
    '7',
    '--error-every',
    '50',
  ]);
  await waitFor('the run folder', () => journalCounts(runPaths(dir).results).then((c) => c.done > 0 || undefined));
  const session = await tmux.start(dashboardCommand([], { CAPI_RUNS_DIR: runs }));
  const running = await waitFor('a RUNNING screen with progress', async () => {
    const screen = await tmux.capture(session);
    return /State RUNNING/.test(screen) && (statusValue(screen, 'passed') ?? 0) > 0 ? screen : undefined;
  });
  const live = await journalCounts(runPaths(dir).results);
  assert.match(running, /Run capi_test_dash\s+method nohup\s+suite \/suites\/suite\.csv/);
  assert.ok((statusValue(running, 'passed') ?? 0) <= live.passed, 'the screen never runs ahead of the journals');
  assert.match(running, /batch_0001 +\d+ +running/);
  assert.match(running, /Latest failures: all/);
  await exited(fake);
  const done = await waitFor('a COMPLETED screen', async () => {
    const screen = await tmux.capture(session);
    return /State COMPLETED/.test(screen) ? screen : undefined;
  });
  const c = await journalCounts(runPaths(dir).results);
  assert.equal(c.done, 3000);
  assert.match(done, new RegExp(`${num(c.done)} / 3,000 \\(100\\.0%\\)`));
  assert.equal(statusValue(done, 'passed'), c.passed);
  assert.equal(statusValue(done, 'failed'), c.failed);
  assert.equal(statusValue(done, 'error'), c.error);
  assert.match(done, new RegExp(`Latest failures: all \\(${num(c.failed + c.error)} in all`));
  assert.match(done, /verdict FAILED/);
  await tmux.keys(session, 'f');
  await waitFor(
    'the failed filter',
    async () => /Latest failures: failed/.test(await tmux.capture(session)) || undefined,
  );
  await tmux.keys(session, '?');
  await waitFor(
    'the help',
    async () => /q +quit the dashboard \(the run goes on\)/.test(await tmux.capture(session)) || undefined,
  );
  // Any key closes the help (not Escape: followed quickly by q, blessed reads Alt-q).
  await tmux.keys(session, 'x');
  await waitFor('the help closed', async () => !/q +quit the dashboard/.test(await tmux.capture(session)) || undefined);
  await tmux.keys(session, 'q');
  const exit = await waitFor('the exit code', async () => (await tmux.capture(session)).match(/EXIT=(\d+)/)?.[1]);
  assert.equal(exit, '1', 'the verdict of the run');
});

test('q leaves the run running; s then y stops it through its supervisor', { skip }, async () => {
  const runs = join(tmp.path, 'keys');
  const dir = join(runs, 'capi_test_keys');
  const fake = startFakeRun(dir, ['--total', '1000000', '--batches', '2', '--rate', '100']);
  await waitFor('the run folder', () => journalCounts(runPaths(dir).results).then((c) => c.done > 0 || undefined));
  const first = await tmux.start(dashboardCommand(['capi_test_keys'], { CAPI_RUNS_DIR: runs }));
  await waitFor('a RUNNING screen', async () => /State RUNNING/.test(await tmux.capture(first)) || undefined);
  await tmux.keys(first, 'q');
  assert.equal(await waitFor('the exit code', async () => (await tmux.capture(first)).match(/EXIT=(\d+)/)?.[1]), '0');
  assert.ok(isAlive(fake.pid as number), 'the run goes on after q');
  const before = (await journalCounts(runPaths(dir).results)).done;
  await waitFor('more results', async () => (await journalCounts(runPaths(dir).results)).done > before || undefined);

  const second = await tmux.start(dashboardCommand(['capi_test_keys'], { CAPI_RUNS_DIR: runs }));
  await waitFor('a RUNNING screen', async () => /State RUNNING/.test(await tmux.capture(second)) || undefined);
  await tmux.keys(second, 's');
  await waitFor('the question', async () => /Stop run capi_test_keys\?/.test(await tmux.capture(second)) || undefined);
  await tmux.keys(second, 'n');
  await waitFor('stop cancelled', async () => /stop cancelled/.test(await tmux.capture(second)) || undefined);
  assert.ok(isAlive(fake.pid as number), 'any key but y cancels');
  await tmux.keys(second, 's');
  await waitFor('the question', async () => /Stop run capi_test_keys\?/.test(await tmux.capture(second)) || undefined);
  await tmux.keys(second, 'y');
  assert.equal(await exited(fake), 143, 'the supervisor got SIGTERM');
  const manifest = JSON.parse(await readFile(runPaths(dir).manifest, 'utf8'));
  assert.equal(manifest.state, 'stopped');
  const screen = await waitFor('a STOPPED screen', async () => {
    const s = await tmux.capture(second);
    return /State STOPPED/.test(s) ? s : undefined;
  });
  assert.match(screen, /resume: capi-launch --resume capi_test_keys/);
});

test('a resized pane is redrawn to its new size; STALLED shows in the header with the resume command', {
  skip,
}, async () => {
  const runs = join(tmp.path, 'resize');
  const dir = join(runs, 'capi_test_small');
  startFakeRun(dir, ['--total', '200', '--batches', '2', '--rate', '400', '--end', 'hang']);
  await waitFor('the run folder', () => journalCounts(runPaths(dir).results).then((c) => c.done >= 200 || undefined));
  const session = await tmux.start(dashboardCommand(['--stall-after', '1'], { CAPI_RUNS_DIR: runs }), 160, 50);
  await waitFor('a STALLED screen', async () => /State STALLED/.test(await tmux.capture(session)) || undefined);
  await tmux.resize(session, 100, 40);
  // Redrawn when a full box border is exactly the new width (a stale screen is only clipped).
  const small = await waitFor('a screen redrawn 100 wide', async () => {
    const rows = (await tmux.capture(session)).split('\n');
    return rows.some((r) => /^└─+┘$/.test(r.trimEnd()) && r.trimEnd().length === 100) ? rows : undefined;
  });
  const text = small.join('\n');
  assert.ok(
    small.every((r) => r.trimEnd().length <= 100),
    text,
  );
  assert.match(text, /State STALLED \(no heartbeat [\d.]+s\)/);
  assert.match(
    text.replace(/[│\s]+/g, ' '),
    /resume: capi-launch --stop capi_test_small && capi-launch --resume capi_test_small/,
  );
  assert.match(text, /┌─ capi-watch ─+┐/);
  await tmux.keys(session, 'q');
  await waitFor('the exit', async () => /EXIT=0/.test(await tmux.capture(session)) || undefined);
});

test('80x24: the state line with elapsed, ETA and rate, the progress and the counts all show; smaller, the state line stays', {
  skip,
}, async () => {
  const runs = join(tmp.path, 'small');
  const dir = join(runs, 'capi_test_20260101_103000');
  startFakeRun(dir, ['--total', '1000000', '--batches', '3', '--rate', '100', '--fail-every', '7']);
  await waitFor('the run folder', () => journalCounts(runPaths(dir).results).then((c) => c.done > 0 || undefined));
  const session = await tmux.start(dashboardCommand([], { CAPI_RUNS_DIR: runs }), 80, 24);
  // A capture can catch a frame half written to the terminal: wait for the last parts drawn
  // (the batch table, the failures box) as well as the first, then check the layout.
  const screen = await waitFor('a RUNNING screen with an ETA, its batch table and its failures', async () => {
    const s = await tmux.capture(session);
    const drawn = [/ETA [\d.]+[smh]/, /│passed +[1-9]/, /batch_000\d +\d+ +running/, /┌─ Latest failures/];
    return drawn.every((re) => re.test(s)) ? s : undefined;
  });
  const rows = screen.split('\n');
  assert.ok(
    rows.every((r) => r.length <= 80),
    screen,
  );
  // the fake run's run.json gives no rate, and it writes no control.json: no limit in force
  assert.match(
    rows[1] as string,
    /│State RUNNING {2}elapsed [\d.]+s {2}ETA [\dhm.]+ {2}rate [\d.]+ tests\/s {2}no limit +│/,
  );
  assert.match(rows[2] as string, /│\[[#-]+\] [\d,]+ \/ 1,000,000 \([\d.]+%\) {2}success [\d.]+% *│/);
  for (const label of ['passed', 'failed', 'error', 'remaining', 'success'])
    assert.match(screen, new RegExp(`│${label} `));
  assert.match(screen, /batch_000\d +\d+ +running/);
  assert.match(screen, /┌─ Latest failures: all \([\d,]+ in all; f/, 'the label is cut, not wrapped into the box');
  // Smaller: boxes go, the header's later lines go; the state line is the last to go.
  await tmux.resize(session, 50, 8);
  const small = await waitFor('a screen redrawn 50 wide', async () => {
    const r = (await tmux.capture(session)).split('\n');
    return /^└─+┘$/.test((r[7] ?? '').trimEnd()) && (r[7] ?? '').trimEnd().length === 50 ? r : undefined;
  });
  assert.match(small[1] as string, /│State RUNNING {2}elapsed [\d.]+s {2}ETA [\dhm.]+ +│/);
  await tmux.resize(session, 24, 3);
  await waitFor('only the state', async () => {
    const r = (await tmux.capture(session)).split('\n');
    return /^│State RUNNING +│$/.test((r[1] ?? '').trimEnd()) || undefined;
  });
  await tmux.keys(session, 'q');
  await waitFor('the exit', async () => /EXIT=0/.test(await tmux.capture(session)) || undefined);
});

test('NO_COLOR, or a terminal without colours: no colour escape anywhere on the dashboard', { skip }, async () => {
  const runs = join(tmp.path, 'color');
  const dir = join(runs, 'capi_test_color');
  // Failures and a STALLED state: the parts that are red, green, cyan or yellow in colour.
  startFakeRun(dir, ['--total', '300', '--batches', '2', '--rate', '600', '--fail-every', '5', '--end', 'hang']);
  await waitFor('the run folder', () => journalCounts(runPaths(dir).results).then((c) => c.done >= 300 || undefined));
  const screenOf = async (env: Record<string, string>) => {
    const session = await tmux.start(
      dashboardCommand(['--stall-after', '1'], { CAPI_RUNS_DIR: runs, ...env }),
      120,
      40,
    );
    const screen = await waitFor('a STALLED screen with failures and a chart', async () => {
      const s = await tmux.captureEscapes(session);
      return /STALLED/.test(s) && /Latest failures/.test(s) && /tests\/s/.test(s) ? s : undefined;
    });
    await tmux.keys(session, 'q');
    await waitFor('the exit', async () => /EXIT=0/.test(await tmux.capture(session)) || undefined);
    return screen;
  };
  const colored = await screenOf({});
  assert.ok(sgrColors(colored).length > 0, 'in colour, the capture shows colour escapes (the check can fail)');
  const plain = await screenOf({ NO_COLOR: '1' });
  assert.deepEqual(sgrColors(plain), [], plain);
  const mono = await screenOf({ TERM: 'xterm-mono' });
  assert.deepEqual(sgrColors(mono), [], mono);
});
