import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapColumns } from './columns.js';

test('header names are trimmed and case-insensitive; other columns are variables as written', () => {
  const map = mapColumns([' ID', 'Url ', 'METHOD', ' Region '], 1, 's.csv');
  assert.deepEqual(map.known, { id: 0, url: 1, method: 2 });
  assert.deepEqual(map.vars, [{ name: 'Region', index: 3 }]);
  assert.equal(map.width, 4);
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
