import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runPaths } from '@capi/core';
import { tempDir } from '@capi/testkit';
import { appendResults, createRun, result } from './test-support/fixture.js';
import { dashboardCommand, hasTmux, tmuxServer, waitFor } from './test-support/watch-helpers.js';

/** 80x24 in tmux: the failure box and the log box wrap whole words instead of cutting them. */

const skip = !(await hasTmux()) && 'tmux is not installed';
const tmp = await tempDir('capi-watch-wrap-');
const tmux = tmuxServer(`capiwrap${process.pid}`);
after(async () => {
  await tmux.kill();
  await tmp.cleanup();
});

const REASON = '$.items[3].name = "the quick brown fox jumps over the lazy dog", wanted widget';
const LOG = 'worker 2 exited with code 1 after batch_0001; starting a new one in its place';
const ERROR = 'connect ECONNREFUSED 127.0.0.1:8080 while sending the request';

/** The text inside the box whose left border is at column `left`, rows joined, indents collapsed. */
function boxText(screen: string, label: RegExp): string {
  const rows = screen.split('\n');
  const top = rows.findIndex((r) => label.test(r));
  assert.ok(top >= 0, `no box ${label} on\n${screen}`);
  const m = label.exec(rows[top] as string) as RegExpExecArray;
  const left = (rows[top] as string).lastIndexOf('┌', m.index);
  const right = (rows[top] as string).indexOf('┐', m.index);
  const inner: string[] = [];
  for (const r of rows.slice(top + 1)) {
    if (r[left] !== '│') break;
    inner.push(r.slice(left + 1, right).trim());
  }
  return inner.join(' ').replace(/\s+/g, ' ').trim();
}

test('80x24: a long failure reason and a log message wrap at word breaks and show whole', { skip }, async () => {
  const runs = join(tmp.path, 'runs');
  const id = 'capi_test_wrap';
  const dir = await createRun(runs, { id, total: 3, batches: 1, pid: null, state: 'completed' });
  const errored = result(1, 'error', 'batch_0001', id);
  errored.error = { code: 'ECONNREFUSED', message: ERROR };
  const failed = result(2, 'failed', 'batch_0001', id);
  failed.failures = [{ check: 'json', expected: 'widget', actual: REASON }];
  await appendResults(join(runPaths(dir).results, 'batch_0001.ndjson'), [
    result(0, 'passed', 'batch_0001', id),
    errored,
    failed,
  ]);
  await writeFile(runPaths(dir).mainLog, `2026-01-01T10:30:05.000Z ${LOG}\n`);
  const session = await tmux.start(dashboardCommand([], { CAPI_RUNS_DIR: runs }), 80, 24);
  const screen = await waitFor('a screen with the failures and the log', async () => {
    const s = await tmux.capture(session);
    return /State COMPLETED/.test(s) && /Latest failures/.test(s) && /exited/.test(s) ? s : undefined;
  });
  assert.ok(
    screen.split('\n').every((r) => r.length <= 80),
    screen,
  );
  const failures = boxText(screen, /Latest failures/);
  // The newest shows whole; an older one that no longer fits is left out, never shown by its tail.
  assert.equal(failures, `#2 T00003 test 3 [failed] json: expected widget, got ${REASON}`, screen);
  await tmux.keys(session, 'f');
  await tmux.keys(session, 'f');
  const errors = await waitFor('the errors filter', async () => {
    const s = await tmux.capture(session);
    return /Latest failures: errors/.test(s) ? s : undefined;
  });
  assert.equal(boxText(errors, /Latest failures/), `#1 T00002 test 2 [error] ECONNREFUSED: ${ERROR}`, errors);
  // The log box shows the message (TZ=UTC in the pane: the local clock is the UTC one), and the zone in its label.
  assert.match(screen, /┌─ Log \(\+00:00\) /);
  const log = boxText(screen, /Log \(/);
  assert.ok(log.includes(`10:30:05 capi.log: ${LOG}`), `the whole log message:\n${screen}`);
  // No word cut in two at a line end: every word of the texts is on one row.
  const whole = (text: string, page: string) => {
    for (const word of text.split(' ').filter((w) => w.length > 3))
      assert.ok(
        page.split('\n').some((r) => r.includes(word)),
        `"${word}" is split across rows:\n${page}`,
      );
  };
  whole(REASON, screen);
  whole(LOG, screen);
  whole(ERROR, errors);
  await tmux.keys(session, 'q');
  await waitFor('the exit', async () => /EXIT=\d/.test(await tmux.capture(session)) || undefined);
});
