import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import { binPath, collect, killAll, type RunResult, repoRoot, tempDir, testEnv } from '@capi/testkit';

/** Test records as NDJSON text; `url` only is the shortest form. */
export function ndjson(records: Array<Record<string, unknown>>): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

export function get(id: string, url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { request, ...rest } = extra;
  return { id, request: { method: 'GET', url, ...((request as object) ?? {}) }, ...rest };
}

export interface Spawned {
  child: ChildProcess;
  done: Promise<RunResult>;
}

/** Spawns the built capi-exec with the fixed test environment and keeps the handle (for signals). */
export function spawnExec(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Spawned {
  const child = spawn(process.execPath, [binPath('capi-exec'), ...args], {
    cwd: repoRoot,
    env: testEnv(opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const done = collect(child, { input: opts.input, timeoutMs: 60_000 });
  return { child, done };
}

export interface Recorder {
  url: string;
  /** performance-clock times of every request, per path. */
  hits: Array<{ path: string; at: number }>;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/**
 * Servers and scratch folders for one test file, made on demand; after the file's tests
 * every spawned process is killed, every server closed and every folder removed.
 */
export function fileScope() {
  const servers: Recorder[] = [];
  const dirs: Array<() => Promise<void>> = [];
  after(async () => {
    killAll();
    for (const s of servers) await s.close();
    for (const cleanup of dirs) await cleanup();
  });
  return {
    async server(handler: Handler): Promise<Recorder> {
      const s = await recorder(handler);
      servers.push(s);
      return s;
    },
    async scratch(): Promise<string> {
      const dir = await tempDir();
      dirs.push(dir.cleanup);
      return dir.path;
    },
  };
}

/** A loopback server whose handler decides; it records when each request came. */
export function recorder(handler: Handler): Promise<Recorder> {
  const hits: Recorder['hits'] = [];
  const server = createServer((req, res) => {
    hits.push({ path: req.url ?? '', at: performance.now() });
    handler(req, res, hits.length);
  });
  server.keepAliveTimeout = 5000;
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        hits,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

export function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) resolve();
      else if (Date.now() > until) reject(new Error('waitFor: timed out'));
      else setTimeout(tick, 20);
    };
    tick();
  });
}
