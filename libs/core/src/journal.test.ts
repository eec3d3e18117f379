import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InputError } from './errors.js';
import { openJournal, readJournal } from './journal.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'capi-journal-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readAllJournal(path: string, torn: [number, string][] = []): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const l of readJournal(path, { onTornTail: (line, text) => torn.push([line, text]) })) out.push(l.value);
  return out;
}

test('concurrent appends all land as whole lines, in append order', async () => {
  const path = join(dir, 'concurrent', 'results.ndjson');
  const journal = await openJournal(path);
  const big = 'y'.repeat(5000);
  await Promise.all(
    Array.from({ length: 400 }, (_, i) => journal.append({ id: `T${i}`, pad: i % 7 === 0 ? big : '' })),
  );
  await journal.close();
  const text = await readFile(path, 'utf8');
  assert.ok(text.endsWith('\n'));
  const lines = text.slice(0, -1).split('\n');
  assert.equal(lines.length, 400);
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).id),
    Array.from({ length: 400 }, (_, i) => `T${i}`),
  );
});

test('journal files are owner-only and append across reopen', async () => {
  const path = join(dir, 'mode', 'r.ndjson');
  const j1 = await openJournal(path);
  await j1.append({ id: 'a' });
  await j1.close();
  const j2 = await openJournal(path);
  assert.equal(j2.repairedBytes, 0);
  await j2.append({ id: 'b' });
  await j2.close();
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.deepEqual(await readAllJournal(path), [{ id: 'a' }, { id: 'b' }]);
});

test('a torn tail is cut on reopen, so the next line starts clean', async () => {
  const path = join(dir, 'torn.ndjson');
  await writeFile(path, '{"id":"a"}\n{"id":"b","sta');
  const journal = await openJournal(path);
  assert.equal(journal.repairedBytes, '{"id":"b","sta'.length);
  await journal.append({ id: 'c' });
  await journal.close();
  assert.equal(await readFile(path, 'utf8'), '{"id":"a"}\n{"id":"c"}\n');
});

test('a torn tail longer than the read-back chunk is cut too; a file with no newline empties', async () => {
  const path = join(dir, 'long-torn.ndjson');
  await writeFile(path, `{"id":"a"}\n{"id":"b","pad":"${'z'.repeat(200_000)}`);
  const journal = await openJournal(path);
  await journal.close();
  assert.equal(await readFile(path, 'utf8'), '{"id":"a"}\n');
  const none = join(dir, 'no-newline.ndjson');
  await writeFile(none, '{"id":"x","pa');
  await (await openJournal(none)).close();
  assert.equal(await readFile(none, 'utf8'), '');
});

test('a whole last record without its newline is kept on reopen, as readJournal reads it', async () => {
  const path = join(dir, 'no-final-newline.ndjson');
  await writeFile(path, '{"id":"a"}\n{"id":"b"}');
  assert.deepEqual(await readAllJournal(path), [{ id: 'a' }, { id: 'b' }]);
  const journal = await openJournal(path);
  await journal.append({ id: 'c' });
  await journal.close();
  // A resume that read the journal before reopening it saw "b" as done: it must stay.
  assert.deepEqual(await readAllJournal(path), [{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
});

test('readJournal skips a torn last line and reports it', async () => {
  const path = join(dir, 'read-torn.ndjson');
  await writeFile(path, '{"id":"a"}\n{"id":"b"}\n{"id":"c","st');
  const torn: [number, string][] = [];
  assert.deepEqual(await readAllJournal(path, torn), [{ id: 'a' }, { id: 'b' }]);
  assert.deepEqual(torn, [[3, '{"id":"c","st']]);
});

test('readJournal refuses a bad middle line, naming file and line', async () => {
  const path = join(dir, 'bad-middle.ndjson');
  await writeFile(path, '{"id":"a"}\n{"id":\n{"id":"c"}\n');
  await assert.rejects(readAllJournal(path), (err: unknown) => {
    assert.ok(err instanceof InputError);
    assert.equal(err.line, 2);
    assert.ok(err.message.startsWith(`${path}:2: malformed JSON`), err.message);
    return true;
  });
});

test('readJournal of a missing file reads empty', async () => {
  assert.deepEqual(await readAllJournal(join(dir, 'nope', 'missing.ndjson')), []);
});

test('fsync appends work the same', async () => {
  const path = join(dir, 'fsync.ndjson');
  const journal = await openJournal(path, { fsync: true });
  await Promise.all([journal.append({ id: 1 }), journal.append({ id: 2 })]);
  await journal.close();
  assert.equal(await readFile(path, 'utf8'), '{"id":1}\n{"id":2}\n');
});

test('fsync: appends made while a sync is under way are written after it, in order, and close waits for them', async () => {
  const path = join(dir, 'fsync-many.ndjson');
  const journal = await openJournal(path, { fsync: true });
  const pending: Promise<void>[] = [];
  for (let turn = 0; turn < 5; turn++) {
    for (let i = 0; i < 20; i++) pending.push(journal.append({ id: turn * 20 + i }));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await journal.close();
  await Promise.all(pending);
  const ids = (await readFile(path, 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l).id);
  assert.deepEqual(
    ids,
    Array.from({ length: 100 }, (_, i) => i),
  );
});

test('appends not yet flushed are written by close', async () => {
  const path = join(dir, 'close-flush.ndjson');
  const journal = await openJournal(path);
  const appended = journal.append({ id: 'late' });
  await journal.close();
  await appended;
  assert.equal(await readFile(path, 'utf8'), '{"id":"late"}\n');
});
