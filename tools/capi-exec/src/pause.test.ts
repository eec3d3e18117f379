import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseLines, runTool } from '@capi/testkit';
import { fileScope, get, ndjson, spawnExec, waitFor } from './test-support/fixtures.js';

/**
 * Every pause a hostile or careless API asks for obeys --max-pause: rate-limit headers in
 * each form and unit, Retry-After, huge and tiny values, 0, negative, words, past times.
 */
const scope = fileScope();

type Result = { id: string; status: string; attempts: number; error: { code: string; message: string } | null };

const nowS = () => Math.floor(Date.now() / 1000);

/** Two tests on one lane: the first answer carries `headers` (and `status`), the second must wait for it. */
async function run(given: Record<string, string> | (() => Record<string, string>), status = 200, extra: string[] = []) {
  const headers = typeof given === 'function' ? given() : given;
  const s = await scope.server((_req, res, n) => {
    if (n === 1) res.writeHead(status, headers).end('ok');
    else res.end('ok');
  });
  const began = performance.now();
  const r = await runTool(
    'capi-exec',
    ['--base-url', s.url, '--concurrency', '1', '--retries', '1', '--max-pause', '5', ...extra],
    { input: ndjson([get('first', '/a'), get('second', '/b')]) },
  );
  const results = new Map((parseLines(r.stdout) as Result[]).map((x) => [x.id, x]));
  return { r, s, results, ms: performance.now() - began };
}

test('a pause over --max-pause, in every header form and unit, ends the waiting test as an error at once', async () => {
  const members: Array<[string, Record<string, string>]> = [
    [
      'X-RateLimit-Reset epoch ms, an hour on',
      { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(Date.now() + 3_600_000) },
    ],
    [
      'X-RateLimit-Reset 999999999 (31 years as a delta)',
      { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '999999999' },
    ],
    [
      'X-Rate-Limit-Reset epoch s, a day on',
      { 'X-Rate-Limit-Remaining': '0', 'X-Rate-Limit-Reset': String(nowS() + 86_400) },
    ],
    ['RateLimit draft, t a day', { RateLimit: '"default";r=0;t=86400' }],
    ['RateLimit old draft, reset in epoch ms', { RateLimit: 'limit=10, remaining=0, reset=4000000000000' }],
    ['RateLimit with RateLimit-Policy window', { RateLimit: '"day";r=0', 'RateLimit-Policy': '"day";q=1000;w=86400' }],
    ['RateLimit-Reset beyond any number', { 'RateLimit-Remaining': '0', 'RateLimit-Reset': '9'.repeat(400) }],
  ];
  for (const [name, headers] of members) {
    const { r, s, results, ms } = await run(headers);
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /TimeoutOverflowWarning/, name);
    assert.equal(results.get('first')?.status, 'passed', name);
    const second = results.get('second');
    assert.equal(second?.status, 'error', name);
    assert.equal(second?.error?.code, 'PAUSE_TOO_LONG', name);
    assert.match(second?.error?.message ?? '', /the API asked for a pause of .*longer than --max-pause 5 s/, name);
    assert.equal(second?.attempts, 0, `${name}: never sent`);
    assert.equal(s.hits.length, 1, `${name}: the API saw one request`);
    assert.ok(ms < 15_000, `${name}: ended in ${ms} ms`);
  }
});

test('Retry-After over the cap (seconds, Unix times, dates) is an error, not retried, not waited', async () => {
  const far = new Date(Date.now() + 86_400_000 * 400).toUTCString();
  const members: Array<[number, string]> = [
    [429, '999999999'],
    [503, String(nowS() + 7200)],
    [429, String(Date.now() + 7_200_000)],
    [503, far],
  ];
  for (const [status, value] of members) {
    const { r, s, results, ms } = await run({ 'Retry-After': value }, status);
    assert.equal(r.code, 1, r.stderr);
    const first = results.get('first');
    assert.equal(first?.status, 'error', value);
    assert.equal(first?.error?.code, `HTTP_${status}`, value);
    assert.match(first?.error?.message ?? '', /longer than --max-pause 5 s/, value);
    assert.equal(first?.attempts, 1, `${value}: not retried`);
    assert.equal(results.get('second')?.error?.code, 'PAUSE_TOO_LONG', value);
    assert.equal(s.hits.length, 1, value);
    assert.ok(ms < 15_000, `${value}: ${ms} ms`);
  }
});

test('a pause within the cap is waited for, whatever the unit; past, zero and unreadable resets do not pause', async () => {
  const waits: Array<[string, Record<string, string> | (() => Record<string, string>)]> = [
    ['delta 1 s', { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '1' }],
    ['epoch ms', () => ({ 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(Date.now() + 4000) })],
    ['epoch s', () => ({ 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(nowS() + 4) })],
    ['draft', { RateLimit: '"default";r=0;t=1' }],
  ];
  for (const [name, headers] of waits) {
    const { r, s, ms } = await run(headers);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    const gap = (s.hits[1]?.at ?? 0) - (s.hits[0]?.at ?? 0);
    assert.ok(gap >= 500, `${name}: the second request waited (${gap} ms)`);
    assert.ok(ms < 15_000, `${name}: ${ms} ms`);
  }
  const none: Array<[string, Record<string, string>]> = [
    ['0', { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '0' }],
    ['negative', { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '-5' }],
    ['words', { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': 'soon' }],
    ['past epoch s', { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '1600000000' }],
    ['past epoch ms', { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '1600000000000' }],
    ['negative remaining', { 'X-RateLimit-Remaining': '-1', 'X-RateLimit-Reset': '999999999' }],
    ['Retry-After 0 on 503', { 'Retry-After': '0' }],
  ];
  for (const [name, headers] of none) {
    const { r, s } = await run(headers, name.includes('503') ? 503 : 200);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    const gap = (s.hits.at(-1)?.at ?? 0) - (s.hits[0]?.at ?? 0);
    assert.ok(gap < 700, `${name}: no pause (${gap} ms)`);
  }
});

test('--max-pause is checked: a whole number of seconds up to a day', async () => {
  for (const bad of ['-1', 'x', '86401', '1.5']) {
    const r = await runTool('capi-exec', ['--max-pause', bad], { input: '' });
    assert.equal(r.code, 2, bad);
    assert.match(r.stderr, /--max-pause takes a whole number from 0 to 86400/, bad);
  }
});

test('while paused the heartbeat says until when, and SIGTERM does not wait out --grace for waiting lanes', async () => {
  const dir = await scope.scratch();
  const status = join(dir, 'status.json');
  const s = await scope.server((_req, res, n) => {
    if (n === 1) res.writeHead(200, { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '60' }).end('ok');
    else res.end('ok');
  });
  const input = ndjson(Array.from({ length: 4 }, (_, i) => get(`t${i}`, '/x')));
  const began = Date.now();
  const p = spawnExec(
    ['--base-url', s.url, '--concurrency', '2', '--status', status, '--grace', '60000', '--max-pause', '120'],
    { input },
  );
  let beat: { pausedUntil?: string | null; state?: string } = {};
  await waitFor(() => {
    void readFile(status, 'utf8')
      .then((t) => {
        beat = JSON.parse(t);
      })
      .catch(() => {});
    return typeof beat.pausedUntil === 'string';
  }, 20_000);
  const until = Date.parse(beat.pausedUntil as string);
  assert.ok(until > began + 50_000 && until < Date.now() + 61_000, `pausedUntil ${beat.pausedUntil}`);
  const signalled = performance.now();
  p.child.kill('SIGTERM');
  const r = await p.done;
  const took = performance.now() - signalled;
  assert.equal(r.code, 143, r.stderr);
  assert.ok(took < 8000, `stopped in ${took} ms, not after --grace 60000`);
  // Only the tests that were answered are recorded; the waiting ones are left for a resume.
  const recorded = parseLines(r.stdout) as Result[];
  assert.ok(s.hits.length < 4, `${s.hits.length} requests`);
  assert.equal(recorded.length, s.hits.length);
  assert.ok(recorded.every((x) => x.status === 'passed'));
  const final = JSON.parse(await readFile(status, 'utf8'));
  assert.equal(final.state, 'stopped');
});
