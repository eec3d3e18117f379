import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exactlyOnce, sandboxes } from './test-support/harness.js';

// --foreground starts the workers while capi-split runs (docs/capi-launch.md, "Supervision"):
// they must not send a request before the whole suite is checked, and unused ones must end.

const box = sandboxes(false);
let server: Server;
let requests = 0;
let url = '';
before(async () => {
  server = createServer((_req, res) => {
    requests++;
    res.end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

/** Live processes whose command line names `path` (a run's workers name their run folder). */
function processesUnder(path: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(path)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** A CSV suite of `rows` GETs, then `tail` (more rows, good or bad). */
function suite(dir: string, rows: number, tail = ''): string {
  const file = join(dir, 'early.csv');
  const lines = ['id,url,expect_status'];
  for (let i = 1; i <= rows; i++) lines.push(`T${i},/items/${i},200`);
  writeFileSync(file, `${lines.join('\n')}\n${tail}`);
  return file;
}

test('a bad last row with --foreground: exit 2, no run folder, no request sent, no early worker left', async () => {
  const b = await box();
  const before = requests;
  const file = suite(b.dir, 3000, 'T3001,/items/3001,abc\n');
  const r = await b.launch([file, '--foreground', '--parallel', '4', '--batch-size', '100', '--base-url', url]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /early\.csv:3002: field "expect_status"/);
  assert.equal(requests, before, 'a request was sent before the suite was checked');
  assert.deepEqual(
    readdirSync(b.runs).filter((n) => n.startsWith('capi_test_')),
    [],
  );
  assert.deepEqual(processesUnder(b.runs), [], 'an early worker outlived the refused launch');
});

test('other rows refused late (an unset {{env.X}}, a relative URL with no base URL): exit 2, no request, no early worker left', async () => {
  const b = await box({ CAPI_BASE_URL: '' });
  // 3,000 good rows make the suite big enough for 4 early workers; the last row is refused
  const absolute = join(b.dir, 'absolute.csv');
  const lines = ['id,url,expect_status'];
  for (let i = 1; i <= 3000; i++) lines.push(`T${i},${url}/items/${i},200`);
  writeFileSync(absolute, `${lines.join('\n')}\nT3001,/items/3001,200\n`);
  const cases = [
    {
      args: [suite(b.dir, 3000, 'T3001,/items/{{env.CAPI_EARLY_UNSET}},200\n'), '--base-url', url],
      message: /early\.csv:3002: field "url": \{\{env\.CAPI_EARLY_UNSET\}\} is not set in the environment/,
    },
    { args: [absolute], message: /absolute\.csv:3002: field "url": relative URL "\/items\/3001" needs --base-url/ },
  ];
  for (const { args, message } of cases) {
    const before = requests;
    const r = await b.launch([...args, '--foreground', '--parallel', '4', '--batch-size', '100']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(requests, before, `a request was sent before the suite was checked: ${args[0]}`);
    assert.deepEqual(
      readdirSync(b.runs).filter((n) => n.startsWith('capi_test_')),
      [],
    );
    assert.deepEqual(processesUnder(b.runs), [], `an early worker outlived the refused launch: ${args[0]}`);
  }
});

test('early workers run the batches, exactly once, and say so in capi.log', async () => {
  const b = await box();
  const file = suite(b.dir, 400);
  const r = await b.launch([file, '--foreground', '--parallel', '2', '--batch-size', '100', '--base-url', url]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /400 tests in 4 batches, 2 workers\n.*suite split and checked in \d+\.\d\d s, 2 workers started alongside\n/,
  );
  assert.match(r.stderr, /worker 1: capi-exec started during the split/);
  assert.match(r.stderr, /worker 2: capi-exec started during the split/);
  const runDir = join(b.runs, readdirSync(b.runs).find((n) => n.startsWith('capi_test_')) as string);
  assert.equal(exactlyOnce(runDir, 400), null);
});

test('more early workers than batches: the ones no slot needs end with the run', async () => {
  const b = await box();
  // two rows of long URLs: the file's size allows 4 workers, the split makes 2 batches
  const long = 'x'.repeat(300);
  const file = join(b.dir, 'long.csv');
  writeFileSync(file, `id,url\nT1,/items/1?q=${long}\nT2,/items/2?q=${long}\n`);
  const r = await b.launch([file, '--foreground', '--parallel', '4', '--batch-size', '1', '--base-url', url]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /split and checked in \d+\.\d\d s, 4 workers started alongside/);
  assert.deepEqual(processesUnder(b.runs), [], 'an unused early worker outlived the run');
  // slots 3 and 4 never ran: their early workers leave no empty logs behind
  const runDir = join(b.runs, readdirSync(b.runs).find((n) => n.startsWith('capi_test_')) as string);
  const logs = readdirSync(join(runDir, 'logs')).filter((n) => n.startsWith('worker_'));
  assert.deepEqual(
    logs.filter((n) => n === 'worker_3.log' || n === 'worker_4.log'),
    [],
    `logs: ${logs.join(', ')}`,
  );
});
