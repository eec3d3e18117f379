import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runTool, tempDir } from '@capi/testkit';
import { lines, result } from './test-support/fixture-run.js';

const dirs: Array<() => Promise<void>> = [];
after(async () => {
  for (const d of dirs) await d();
});

test('the text report shows, under each failure group, the real value and message of its first example', async () => {
  const tmp = await tempDir('capi-merge-text-');
  dirs.push(tmp.cleanup);
  const file = join(tmp.path, 'r.ndjson');
  const json = (id: string, at: number, actual: string) =>
    result(id, 'failed', at, { failures: [{ check: 'json', expected: '{"id":1}', actual }], http: 200 });
  await writeFile(
    file,
    lines([
      json('J1', 0, '$.id = 41'),
      json('J2', 1, '$.id = 42'),
      result('E1', 'error', 2, { error: { code: 'TEMPLATE', message: 'missing variable "region" in request.url' } }),
      result('E2', 'error', 3, { error: { code: 'TEMPLATE', message: 'missing variable "tenant" in request.body' } }),
      result('E3', 'error', 4, { error: { code: 'ECONNRESET', message: 'socket hang up' } }),
      result('P1', 'passed', 5),
    ]),
  );
  const txt = join(tmp.path, 'summary.txt');
  const r = await runTool('capi-merge', [file, '--output-report', txt, '--output-json', join(tmp.path, 'r.json')]);
  assert.equal(r.code, 1, r.stderr);
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(txt, 'utf8');
  const section = text.slice(text.indexOf('failures by reason'));
  // The group keys still hide what varies, and each group now shows one real case.
  assert.match(
    section,
    /\n\s+2\s+json expected \{"id":1\}, got \$\.id = N\n\s+e\.g\. J1, J2\n\s+J1: json: expected \{"id":1\}, got \$\.id = 41\n/,
  );
  assert.match(
    section,
    /\n\s+2\s+error TEMPLATE\n\s+e\.g\. E1, E2\n\s+E1: TEMPLATE: missing variable "region" in request\.url\n/,
  );
  assert.match(section, /\n\s+1\s+error ECONNRESET\n\s+e\.g\. E3\n\s+E3: ECONNRESET: socket hang up\n/);
  // The JSON report's summary carries the same example.
  const rep = JSON.parse(await readFile(join(tmp.path, 'r.json'), 'utf8'));
  const groups = rep.summary.failureGroups.map((g: { reason: string; example: string }) => [g.reason, g.example]);
  assert.deepEqual(
    groups.find((g: string[]) => g[0] === 'error TEMPLATE'),
    ['error TEMPLATE', 'E1: TEMPLATE: missing variable "region" in request.url'],
  );
});

test('the text report shows its times as local time with the offset, as capi-launch and capi-watch do', async () => {
  const tmp = await tempDir('capi-merge-time-');
  dirs.push(tmp.cleanup);
  const file = join(tmp.path, 'r.ndjson');
  // 10:30:00Z and 10:30:01Z + 100 ms: in a zone at +05:30, 16:00:00 and 16:00:01.
  await writeFile(file, lines([result('A', 'passed', 0), result('B', 'passed', 1)]));
  const txt = join(tmp.path, 'summary.txt');
  const r = await runTool('capi-merge', [file, '--output-report', txt, '--output-json', join(tmp.path, 'r.json')], {
    env: { TZ: 'Asia/Kolkata' },
  });
  assert.equal(r.code, 0, r.stderr);
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(txt, 'utf8');
  assert.match(text, /\nstarted: +2026-01-01 16:00:00 \+05:30\nfinished: +2026-01-01 16:00:01 \+05:30\n/);
  // The JSON keeps UTC ISO.
  const rep = JSON.parse(await readFile(join(tmp.path, 'r.json'), 'utf8'));
  assert.equal(rep.summary.startedAt, '2026-01-01T10:30:00.000Z');
});
