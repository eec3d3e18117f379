import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  baseUrlChanged,
  type JournalMeta,
  journalBaseUrl,
  journalMetaPath,
  metaBaseUrl,
  readJournalMeta,
  writeJournalMeta,
} from './journal-meta.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const meta = (over: Partial<JournalMeta> = {}): JournalMeta => ({
  version: 1,
  fingerprint: 'f',
  shard: null,
  batch: 'batch_0001',
  created: '2026-01-01T00:00:00.000Z',
  ...over,
});

test('journalBaseUrl: origin and path, no trailing slash, no credentials or query; null without one', () => {
  assert.equal(journalBaseUrl('http://Host:80/api/'), 'http://host/api');
  assert.equal(journalBaseUrl('https://u:p@h.test/a//?q=1'), 'https://h.test/a');
  assert.equal(journalBaseUrl('http://h.test'), 'http://h.test');
  assert.equal(journalBaseUrl(null), null);
  assert.equal(journalBaseUrl(''), null);
  assert.equal(journalBaseUrl('not a url'), 'not a url');
});

test('baseUrlChanged: only a journal with results whose meta recorded another base URL', () => {
  const recorded = meta({ baseUrl: 'http://a.test' });
  assert.equal(baseUrlChanged(recorded, 'http://b.test', 1), true);
  assert.equal(baseUrlChanged(recorded, 'http://a.test', 1), false);
  assert.equal(baseUrlChanged(recorded, 'http://b.test', 0), false);
  assert.equal(baseUrlChanged(meta(), 'http://b.test', 5), false, 'an older capi-exec recorded none');
  assert.equal(baseUrlChanged(meta({ baseUrl: null }), 'http://b.test', 5), true);
  assert.equal(baseUrlChanged(null, 'http://b.test', 5), false);
  assert.equal(metaBaseUrl(meta()), undefined);
  assert.equal(metaBaseUrl(meta({ baseUrl: null })), null);
});

test('the sidecar: written whole beside the journal, read back; none (or empty) is null; malformed names the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-meta-'));
  dirs.push(dir);
  const journal = join(dir, 'j.ndjson');
  assert.equal(journalMetaPath(journal), `${journal}.meta.json`);
  assert.equal(await readJournalMeta(journal), null);
  await writeJournalMeta(journal, meta({ baseUrl: 'http://a.test' }), false);
  assert.deepEqual(await readJournalMeta(journal), meta({ baseUrl: 'http://a.test' }));
  await writeFile(journalMetaPath(journal), '{"version":');
  await assert.rejects(readJournalMeta(journal), { message: `${journal}.meta.json:1: malformed JSON`, exitCode: 2 });
  // written without --fsync, a power cut may leave it empty: read as none, not as bad input
  for (const empty of ['', '\n', '  \n']) {
    await writeFile(journalMetaPath(journal), empty);
    assert.equal(await readJournalMeta(journal), null);
  }
});
