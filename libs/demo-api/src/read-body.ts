import type { IncomingMessage } from 'node:http';

/** Bodies past this are refused: the demo API is a test target, not a file store. */
export const maxBodyBytes = 10 * 1024 * 1024;

export class BodyTooLarge extends Error {}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) throw new BodyTooLarge(`body over ${maxBodyBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export type JsonBody = { ok: true; value: unknown } | { ok: false; message: string };

export function parseJsonBody(text: string): JsonBody {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}
