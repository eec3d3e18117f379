import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Demo, runDirOf, sandboxes, startDemo } from './test-support/harness.js';

// Issue 13 "Done when": a launched run of at least 60 seconds with 4 workers against tokens
// that live 3 s ends with no 401 left in the results, re-logins counted; with expires_in in
// the login's captures (a re-login before the token runs out) and without (a 401, a re-login
// once for all lanes, the test sent once more).

const box = sandboxes(false);
const credentials = { CAPI_CLIENT_ID: 'demo-client', CAPI_CLIENT_SECRET: 'demo-client-secret' };
let demo: Demo | undefined;
before(async () => {
  demo = await startDemo(0, ['--token-ttl', '3']);
});
after(() => demo?.stop());

const TESTS = 1220;
const RATE = 20;

/** A suite of one login and `TESTS` Bearer requests, written as a user writes it. */
function tokenSuite(expiresIn: boolean): string {
  const capture = expiresIn
    ? 'access_token=json:$.access_token;expires_in=json:$.expires_in'
    : 'access_token=json:$.access_token';
  const lines = [
    'id,phase,method,url,headers,body,expect_status,capture',
    `login,setup,POST,/auth/token,Content-Type: application/x-www-form-urlencoded,grant_type=client_credentials&client_id={{env.CAPI_CLIENT_ID}}&client_secret={{env.CAPI_CLIENT_SECRET}},200,${capture}`,
  ];
  for (let i = 0; i < TESTS; i++)
    lines.push(`t${i},,GET,/secure/items?limit=1,Authorization: Bearer {{access_token}},,200,`);
  return `${lines.join('\n')}\n`;
}

interface Result {
  id: string;
  status: string;
  phase?: string;
  attempts?: number;
  worker?: number;
  response?: { status?: number };
}

function records(runDir: string): Result[] {
  const out: Result[] = [];
  for (const f of readdirSync(join(runDir, 'results')).filter((n) => n.endsWith('.ndjson')))
    for (const line of readFileSync(join(runDir, 'results', f), 'utf8').split('\n'))
      if (line.trim()) out.push(JSON.parse(line) as Result);
  return out;
}

async function stats(): Promise<{ auth: { tokensIssued: number; unauthorized: { expired: number } } }> {
  const r = await fetch(`${demo?.url}/stats`);
  return (await r.json()) as { auth: { tokensIssued: number; unauthorized: { expired: number } } };
}

async function tokenRun(expiresIn: boolean) {
  const b = await box(credentials);
  const suite = join(b.dir, `tokens-${expiresIn ? 'expires' : 'told'}.csv`);
  writeFileSync(suite, tokenSuite(expiresIn));
  const began = performance.now();
  const args = [suite, '--parallel', '4', '--batch-size', String(TESTS / 4), '--concurrency', '2'];
  const r = await b.launch([...args, '--rate', `${RATE}/s`, '--base-url', demo?.url as string, '--wait'], {
    timeoutMs: 240_000,
  });
  return { r, seconds: (performance.now() - began) / 1000, runDir: runDirOf(r.stdout) };
}

test('4 workers, a minute of 3-second tokens: no 401 left in the results, with expires_in and without', async () => {
  const before = await stats();
  const [timed, told] = await Promise.all([tokenRun(true), tokenRun(false)]);
  for (const { r, seconds, runDir } of [timed, told]) {
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.ok(seconds >= 60, `the run lasted ${seconds.toFixed(1)} s`);
    const rs = records(runDir);
    assert.deepEqual(
      rs.filter((x) => x.response?.status === 401).map((x) => x.id),
      [],
      'a 401 is left in the results',
    );
    const tests = rs.filter((x) => x.phase === undefined);
    assert.equal(tests.length, TESTS, 'each test once');
    assert.equal(new Set(tests.map((x) => x.id)).size, TESTS);
    assert.ok(
      tests.every((x) => x.status === 'passed'),
      'every test passed',
    );
    // 4 workers, each with its own logins: a minute of 3 s tokens is many logins per worker
    const logins = rs.filter((x) => x.phase === 'setup');
    assert.equal(new Set(tests.map((x) => x.worker)).size, 4, 'four workers ran tests');
    assert.ok(logins.length >= 4 * 10, `${logins.length} logins in a minute of 3-second tokens on 4 workers`);
  }
  const after = await stats();
  const logins = [timed, told].reduce(
    (n, { runDir }) => n + records(runDir).filter((x) => x.phase === 'setup').length,
    0,
  );
  assert.equal(after.auth.tokensIssued - before.auth.tokensIssued, logins, 'one setup result per token issued');
  // without expires_in, lanes met 401s and sent their tests once more after the re-login
  const retried = records(told.runDir).filter((x) => x.phase === undefined && x.attempts === 2).length;
  assert.ok(retried > 0, 'without expires_in, tests were retried after a re-login');
});
