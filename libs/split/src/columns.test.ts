import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapColumns } from './columns.js';

test('header names are trimmed and case-insensitive; other columns are variables as written', () => {
  const map = mapColumns([' ID', 'Url ', 'METHOD', ' Region ', 'var.zone', 'Tenant'], 1, 's.csv', false, ['tenant']);
  assert.deepEqual(map.known, { id: 0, url: 1, method: 2 });
  assert.deepEqual(map.vars, [
    { name: 'Region', index: 3, declared: false },
    { name: 'var.zone', index: 4, declared: true },
    { name: 'Tenant', index: 5, declared: true },
  ]);
  assert.equal(map.width, 6);
});

test('a column named twice, an unnamed column, a missing url or id are errors on line 1', () => {
  assert.throws(() => mapColumns(['id', 'url', 'URL'], 1, 's.csv'), {
    message: 's.csv:1: header: column "URL" named twice (columns 2 and 3)',
  });
  assert.throws(() => mapColumns(['id', '', 'url'], 1, 's.csv'), { message: 's.csv:1: header: column 2 has no name' });
  assert.throws(() => mapColumns(['id', 'name'], 1, 's.csv'), { message: 's.csv:1: header: no "url" column' });
  assert.throws(() => mapColumns(['url'], 1, 's.csv'), /no "id" column \(add one, or use --auto-id/);
  assert.throws(() => mapColumns(['T1', '/a'], 1, 's.csv'), /s\.csv:1: missing header row/);
  assert.deepEqual(mapColumns(['url'], 1, 's.csv', true).known, { url: 0 });
});

test('a column that is almost certainly a misspelt suite column is refused, naming the one meant', () => {
  const cases: Array<[string, string]> = [
    ['expected_status', 'did you mean "expect_status"?'],
    ['expect-body', 'did you mean "expect_body"?'],
    ['Expect Json', 'did you mean "expect_json"?'],
    ['enabeld', 'did you mean "enabled"?'],
    ['timeout_sm', 'did you mean "timeout_ms"?'],
    ['max-ms', 'did you mean "max_ms"?'],
    ['header', 'did you mean "headers"?'],
    ['methd', 'did you mean "method"?'],
    ['expect_headers', 'names starting with "expect" are kept for suite columns'],
    ['EXPECTED', 'names starting with "expect" are kept for suite columns'],
  ];
  for (const [name, hint] of cases) {
    assert.throws(() => mapColumns(['id', 'url', 'region', name], 1, 's.csv'), {
      message: `s.csv:1: column "${name}" is not a suite column; ${hint} (a variable needs another name)`,
    });
  }
});

test('variables near the short columns, and case variants of suite columns, are fine', () => {
  const map = mapColumns(
    ['ID', 'URL', 'Expect_Status', 'item_id', 'region', 'code', 'note', 'urls', 'tag', 'status'],
    1,
    's.csv',
  );
  assert.deepEqual(map.known, { id: 0, url: 1, expect_status: 2 });
  assert.deepEqual(
    map.vars.map((v) => v.name),
    ['item_id', 'region', 'code', 'note', 'urls', 'tag', 'status'],
  );
});

test('a first row of data is reported as a missing header, not as a misspelt column', () => {
  assert.throws(() => mapColumns(['T1', '/a', 'enable'], 1, 's.csv'), /s\.csv:1: missing header row/);
});
