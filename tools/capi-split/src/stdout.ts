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

export async function toStdout(batches: AsyncIterable<TestRecord[]>): Promise<void> {
  const out = process.stdout;
  let held: string[] | null = [];
  let heldBytes = 0;
  for await (const batch of batches) {
    let text = '';
    for (const record of batch) {
      text += `${serializeTestRecord(record)}\n`;
      if (text.length < WRITE_AT) continue;
      if (held === null) out.write(text);
      else {
        held.push(text);
        heldBytes += text.length;
      }
      text = '';
    }
    if (held !== null) {
      held.push(text);
      heldBytes += text.length;
      if (heldBytes < HOLD_BACK) continue;
      for (const piece of held) out.write(piece);
      held = null;
    } else if (text !== '') out.write(text);
    if (out.writableNeedDrain) await once(out, 'drain');
  }
  for (const piece of held ?? []) out.write(piece);
}
