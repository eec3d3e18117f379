import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type DemoApi, startDemoApi } from '@capi/demo-api';
import { binPath, collect, repoRoot, testEnv } from '@capi/testkit';
import { fileScope, get, ndjson, waitFor } from './fixtures.js';
import { CLIENT_ENV, crudFlow, execRun, filesUnder, lastPerId, loginRow, type Result, results } from './flow-suites.js';

// Flows over time (issue 13 "Done when"): tokens that expire every 3 s through a run of a
// minute, and a kill -9 in the middle of flows followed by a resume.
const scope = fileScope();
const apis: DemoApi[] = [];
after(async () => {
  for (const a of apis) await a.close();
});

async function demo(tokens: string[], opts: { tokenTtlS?: number; latencyMs?: number } = {}): Promise<DemoApi> {
  const api = await startDemoApi({ ...opts, onTokenIssued: (t) => tokens.push(t) });
  apis.push(api);
  return api;
}

/** A minute of Bearer requests at 20/s on 4 lanes against tokens that live 3 s. */
async function tokenRun(expiresIn: boolean) {
  const tokens: string[] = [];
  const api = await demo(tokens, { tokenTtlS: 3 });
  const dir = await scope.scratch();
  const rows = Array.from({ length: 1220 }, (_, i) =>
    get(`t${i}`, '/secure/items?limit=1', { request: { headers: { Authorization: 'Bearer {{access_token}}' } } }),
  );
  const input = join(dir, 'in.ndjson');
  await writeFile(input, ndjson([loginRow(expiresIn), ...rows]));
  const began = performance.now();
  const args = ['--in', input, '--base-url', api.url, '--concurrency', '4', '--rate', '20/s'];
  const r = await execRun([...args, '--journal', join(dir, 'j.ndjson')], { timeoutMs: 150_000 });
  await writeFile(join(dir, 'stderr.txt'), r.stderr);
  return { r, api, tokens, dir, seconds: (performance.now() - began) / 1000 };
}

test('a minute against tokens of 3 s at concurrency 4 ends with no 401 left, with expires_in and without', async () => {
  const [timed, told] = await Promise.all([tokenRun(true), tokenRun(false)]);
  for (const { r, seconds, tokens, dir } of [timed, told]) {
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.ok(seconds >= 60, `the run lasted ${seconds.toFixed(1)} s`);
    const rs = results(await readFile(join(dir, 'j.ndjson'), 'utf8'));
    assert.equal(rs.filter((x) => x.response?.status === 401).length, 0, 'a 401 is left in the results');
    assert.equal(rs.filter((x) => x.phase === undefined && x.status === 'passed').length, 1220);
    // Every re-login's setup result is written: re-logins are counted.
    const logins = rs.filter((x) => x.phase === 'setup').length;
    assert.ok(logins >= 15, `${logins} logins in a minute of 3-second tokens`);
    assert.equal(logins, tokens.length, 'one setup result per token issued');
    assert.match(r.stderr, new RegExp(`${logins - 1} re-logins`));
    for (const f of await filesUnder(dir))
      for (const t of tokens) assert.equal(f.text.includes(t), false, `${f.path} holds a token`);
  }
  // expires_in: the setup ran again before the token ran out, so lanes rarely met a 401;
  // without it, lanes met 401s, logged in again once for all and sent the test once more.
  const retried = (rs: Result[]) => rs.filter((x) => x.attempts === 2).length;
  const toldResults = results(await readFile(join(told.dir, 'j.ndjson'), 'utf8'));
  assert.ok(retried(toldResults) > 0, 'without expires_in, tests were retried after a re-login');
  assert.ok(told.api.stats().auth.unauthorized.expired > 0);
  const timedExpired = timed.api.stats().auth.unauthorized.expired;
  assert.ok(
    timedExpired < told.api.stats().auth.unauthorized.expired,
    `${timedExpired} expired tokens met with expires_in`,
  );
});

test('kill -9 in the middle of flows, then a resume: every flow complete exactly once by the last result per id', async () => {
  const tokens: string[] = [];
  const api = await demo(tokens, { latencyMs: 25 });
  const dir = await scope.scratch();
  const input = join(dir, 'in.ndjson');
  const flows = Array.from({ length: 30 }, (_, i) => crudFlow(`f${i}`));
  await writeFile(input, ndjson([loginRow(), ...flows.flat()]));
  const journal = join(dir, 'j.ndjson');
  const args = [binPath('capi-exec'), '--in', input, '--base-url', api.url, '--concurrency', '4', '--journal', journal];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: testEnv(CLIENT_ENV),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const first = collect(child, { timeoutMs: 60_000 });
  const lines = async () => (await readFile(journal, 'utf8').catch(() => '')).split('\n').length - 1;
  let count = 0;
  await waitFor(() => {
    void lines().then((n) => {
      count = n;
    });
    return count >= 40;
  }, 30_000);
  child.kill('SIGKILL');
  assert.equal((await first).signal, 'SIGKILL');
  const cutRun = results(await readFile(journal, 'utf8'));
  const rowsDone = (flow: string) => cutRun.filter((x) => x.flow === flow).length;
  const cut = flows.map((_, i) => `f${i}`).filter((f) => rowsDone(f) > 0 && rowsDone(f) < 4);
  assert.ok(cut.length > 0, 'the kill cut a flow part-way');

  const r = await execRun(args.slice(1), { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const all = results(await readFile(journal, 'utf8'));
  const last = lastPerId(all);
  for (let i = 0; i < 30; i++) {
    const rows = ['create', 'read', 'patch', 'delete'].map((s) => last.get(`f${i}-${s}`));
    for (const row of rows) assert.equal(row?.status, 'passed', `f${i}: ${JSON.stringify(row)}`);
    // One run of the flow holds every last result: none mixes values of a process that is gone.
    assert.equal(new Set(rows.map((x) => x?.flowRun ?? 1)).size, 1, `f${i} mixes runs`);
    const ranTwice = all.filter((x) => x.flow === `f${i}`).length > 4;
    assert.equal(ranTwice, cut.includes(`f${i}`), `f${i} ran again: ${ranTwice}`);
  }
  for (const f of cut) assert.equal(last.get(`${f}-create`)?.flowRun, 2);
  assert.match(r.stderr, /resuming: \d+ tests/);
  assert.equal((await stat(journal)).size > 0, true);
  for (const f of await filesUnder(dir))
    for (const t of tokens) assert.equal(f.text.includes(t), false, `${f.path} holds a token`);
});
