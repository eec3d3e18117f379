import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sniffSuite } from './sniff-suite.js';

async function sniff(...parts: Array<string | Buffer>) {
  const { format, chunks } = await sniffSuite(
    (async function* () {
      yield* parts;
    })(),
  );
  const bytes: Buffer[] = [];
  for await (const c of chunks) bytes.push(c);
  return { format, text: Buffer.concat(bytes).toString('utf8') };
}

test('sniffSuite: { first is NDJSON, anything else CSV, blanks only null; a BOM dropped, every byte replayed', async () => {
  assert.deepEqual(await sniff('id,url\nA,/a\n'), { format: 'csv', text: 'id,url\nA,/a\n' });
  assert.deepEqual(await sniff('\n  ', '\t{"id":"a"}\n'), { format: 'ndjson', text: '\n  \t{"id":"a"}\n' });
  // A BOM split across chunks, as a stream may deliver it.
  assert.deepEqual(await sniff(Buffer.from([0xef, 0xbb]), Buffer.from([0xbf]), '{"id":"a"}'), {
    format: 'ndjson',
    text: '{"id":"a"}',
  });
  assert.deepEqual(await sniff('\uFEFFID,URL\n'), { format: 'csv', text: 'ID,URL\n' });
  assert.deepEqual(await sniff(' \n\n'), { format: null, text: ' \n\n' });
  assert.deepEqual(await sniff(), { format: null, text: '' });
});
