import type { ServerResponse } from 'node:http';
import type { RequestContext } from './context.js';
import { countStatus, sendJson } from './respond.js';
import { sleep } from './timers.js';

export const maxBytes = 100 * 1024 * 1024;
const chunkSize = 64 * 1024;
const line = 'abcdefghijklmnopqrstuvwxyz0123456789\n';

/** A 64 KiB block of the repeating line, cut to any length, so the answer is deterministic. */
const block = Buffer.from(line.repeat(Math.ceil(chunkSize / line.length)).slice(0, chunkSize));

/** GET /bytes/:n: n bytes of text, streamed with backpressure (memory flat up to the 100 MB cap). */
export async function bytes(ctx: RequestContext): Promise<void> {
  const text = ctx.params.n ?? '';
  if (!/^\d+$/.test(text)) return sendJson(ctx, 400, { error: `byte count must be a whole number, got "${text}"` });
  const n = Number(text);
  if (n > maxBytes) return sendJson(ctx, 413, { error: `at most ${maxBytes} bytes` });
  const { res } = ctx;
  countStatus(ctx.state, 200);
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': n });
  const chunks = Math.ceil(n / chunkSize);
  const pause = chunks > 1 ? ctx.knobs.slowBodyMs / (chunks - 1) : 0;
  for (let sent = 0; sent < n && !res.destroyed; sent += chunkSize) {
    if (sent > 0 && pause > 0) await sleep(ctx.state, pause);
    const part = block.subarray(0, Math.min(chunkSize, n - sent));
    if (!res.write(part)) await drained(res);
  }
  res.end();
}

/** Waits for 'drain', or 'close' when the client goes away, and leaves no listener behind. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
