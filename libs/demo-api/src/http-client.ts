import { Agent, request } from 'undici';

/** A small client for the tests: one pooled agent, every request bounded by a timeout. */
export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => unknown;
  ms: number;
}

export function createClient(base: string, connections = 64) {
  const agent = new Agent({ connections, keepAliveTimeout: 4000 });
  async function call(
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
  ): Promise<Reply> {
    const started = performance.now();
    const res = await request(new URL(path, base), {
      method: (init.method ?? 'GET') as 'GET',
      headers: init.headers,
      body: init.body,
      dispatcher: agent,
      headersTimeout: init.timeoutMs ?? 10_000,
      bodyTimeout: init.timeoutMs ?? 10_000,
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      headers: res.headers,
      text,
      json: () => JSON.parse(text),
      ms: performance.now() - started,
    };
  }
  return { call, close: () => agent.close() };
}
