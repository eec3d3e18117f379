import { once } from 'node:events';
import type { TestRecord } from '@capi/core';
import { serializeTestRecord } from '@capi/split';

/**
 * Output is held back until 1 MiB has gathered, so that bad input found early (most bad
 * suites) leaves stdout empty; past that the records stream in writes of about 32 KiB,
 * waiting for 'drain' after each parsed chunk when the reader downstream is behind.
 * Writes stay small on purpose: a string over 128 KiB lands in V8's large-object space,
 * which only a full GC frees, and peak memory grew by tens of MB.
 */
const HOLD_BACK = 1024 * 1024;
const WRITE_AT = 32 * 1024;

/** `counted.written`: records handed to stdout so far (those still held back are not). */
export async function toStdout(batches: AsyncIterable<TestRecord[]>, counted = { written: 0 }): Promise<void> {
  const out = process.stdout;
  let held: string[] | null = [];
  let heldBytes = 0;
  let heldRecords = 0;
  for await (const batch of batches) {
    let text = '';
    let records = 0;
    for (const record of batch) {
      text += `${serializeTestRecord(record)}\n`;
      records++;
      if (text.length < WRITE_AT) continue;
      if (held === null) {
        out.write(text);
        counted.written += records;
      } else {
        held.push(text);
        heldBytes += text.length;
        heldRecords += records;
      }
      text = '';
      records = 0;
    }
    if (held !== null) {
      held.push(text);
      heldBytes += text.length;
      heldRecords += records;
      if (heldBytes < HOLD_BACK) continue;
      for (const piece of held) out.write(piece);
      counted.written += heldRecords;
      heldRecords = 0;
      held = null;
    } else if (text !== '') {
      out.write(text);
      counted.written += records;
    }
    if (out.writableNeedDrain) await once(out, 'drain');
  }
  for (const piece of held ?? []) out.write(piece);
  counted.written += heldRecords;
}
