import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createMergeState, type MergeState } from './merge-state.js';
import { readResultFile, readResults } from './read-results.js';

const snapshot = (s: MergeState) => ({
  tests: [...s.tests.values()],
  recordsRead: s.recordsRead,
  superseded: s.superseded,
});

test('files read in chunks give the same tests as the line reader, across chunk boundaries and long lines', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-merge-read-'));
  try {
    const lines: string[] = [];
    for (let i = 0; i < 12_000; i++) {
      // Lines of varying length so 64 KB pieces and 1 MB chunks end mid-line; some CRLF,
      // blank and whitespace-only lines, non-ASCII names, a 1.5 MB name (longer than a chunk) and repeated ids.
      const name = i === 5000 ? 'x'.repeat(1_500_000) : `tëst ✓ ${i} ${'y'.repeat(i % 97)}`;
      const rec = { id: `T${i % 11_000}`, name, status: i % 13 === 0 ? 'failed' : 'passed', durationMs: i % 50 };
      lines.push(
        JSON.stringify(rec) +
          (i % 5 === 0 ? '\r\n' : '\n') +
          (i % 17 === 0 ? '\n' : '') +
          (i % 19 === 0 ? '\r\n' : '') +
          (i % 23 === 0 ? ' \t \n' : ''),
      );
    }
    const text = `${lines.join('')}{"id":"torn","sta`;
    const file = join(dir, 'r.ndjson');
    await writeFile(file, text);
    const warnings: string[] = [];
    const fromFile = createMergeState();
    await readResultFile(fromFile, file, 'r.ndjson', (m) => warnings.push(m));
    const fromText = createMergeState();
    let torn = 0;
    await readResults(fromText, [text], 'r.ndjson', { onTornTail: (line) => (torn = line) });
    assert.equal(fromFile.recordsRead, 12_000);
    assert.deepEqual(snapshot(fromFile), snapshot(fromText));
    assert.deepEqual(warnings, [`r.ndjson:${torn}: torn last line ignored (a write cut short)`]);
    // A malformed line after the long one is named by its line number.
    const lineNo = text.slice(0, text.indexOf('"id":"T6000"')).split('\n').length;
    await writeFile(file, text.replace('"id":"T6000"', '"id":T6000'));
    await assert.rejects(
      readResultFile(createMergeState(), file, 'r.ndjson', () => {}),
      (err: Error) => {
        assert.match(err.message, new RegExp(`r\\.ndjson:${lineNo}: malformed JSON`));
        return true;
      },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a FIFO is read in the thread pool (its writer is not blocked out); a missing file is named; a folder fails', {
  timeout: 30_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-merge-fifo-'));
  try {
    const fifo = join(dir, 'r.ndjson');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return; // no mkfifo here: nothing to test
    const lines = Array.from({ length: 3000 }, (_, i) => `${JSON.stringify({ id: `T${i}`, status: 'passed' })}\n`);
    // The writer runs on this thread's event loop: a synchronous read of the FIFO would wait for it forever.
    const writer = (async () => {
      const out = createWriteStream(fifo);
      for (const line of lines) if (!out.write(line)) await once(out, 'drain');
      out.end();
      await once(out, 'close');
    })();
    const state = createMergeState();
    await readResultFile(state, fifo, 'r.ndjson', () => {});
    await writer;
    assert.equal(state.recordsRead, 3000);
    assert.equal(state.tests.size, 3000);
    await assert.rejects(
      readResultFile(createMergeState(), join(dir, 'gone.ndjson'), 'gone.ndjson', () => {}),
      {
        message: /gone\.ndjson: no such file/,
      },
    );
    await assert.rejects(
      readResultFile(createMergeState(), dir, 'dir', () => {}),
      { code: 'EISDIR' },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
