import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { binPath, collect, type RunResult, repoRoot, testEnv } from '@capi/testkit';

/** Test helpers for flows (issue 13): suite rows against the demo API, runs, and result reading. */

export const CLIENT_ENV = { CAPI_CLIENT_ID: 'demo-client', CAPI_CLIENT_SECRET: 'demo-client-secret' };

/** The OAuth2 client-credentials login as a setup row, capturing the token (and `expires_in` when asked). */
export function loginRow(expiresIn = true, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const capture = [{ name: 'access_token', source: 'json:$.access_token' }];
  if (expiresIn) capture.push({ name: 'expires_in', source: 'json:$.expires_in' });
  return {
    id: 'login',
    phase: 'setup',
    request: {
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id={{env.CAPI_CLIENT_ID}}&client_secret={{env.CAPI_CLIENT_SECRET}}',
    },
    expect: { status: '200' },
    capture,
    ...extra,
  };
}

const bearer = { Authorization: 'Bearer {{access_token}}' };

/** A create, read, change, delete flow of one stored item, named after the flow. */
export function crudFlow(flow: string): Record<string, unknown>[] {
  const url = '/secure/items/{{item_id}}';
  return [
    {
      id: `${flow}-create`,
      flow,
      request: { method: 'POST', url: '/secure/items', headers: bearer, body: JSON.stringify({ name: flow }) },
      expect: { status: '201' },
      capture: [{ name: 'item_id', source: 'json:$.id' }],
    },
    {
      id: `${flow}-read`,
      flow,
      request: { method: 'GET', url, headers: bearer },
      expect: { status: '200', json: JSON.stringify({ name: flow }) },
    },
    {
      id: `${flow}-patch`,
      flow,
      request: { method: 'PATCH', url, headers: bearer, body: '{"price":3}' },
      expect: { status: '200', json: JSON.stringify({ name: flow, price: 3 }) },
    },
    { id: `${flow}-delete`, flow, request: { method: 'DELETE', url, headers: bearer }, expect: { status: '204' } },
  ];
}

export type Result = {
  id: string;
  status: string;
  attempts: number;
  flow?: string;
  phase?: string;
  flowRun?: number;
  response: { status: number } | null;
  error: { code: string; message: string } | null;
  failures: Array<{ check: string; expected: string; actual: string }>;
};

export function results(text: string): Result[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Result);
}

/** The last result per id, as every reader of a journal takes them. */
export function lastPerId(rs: Result[]): Map<string, Result> {
  const last = new Map<string, Result>();
  for (const r of rs) last.set(r.id, r);
  return last;
}

/** Runs the built capi-exec to the end (up to `timeoutMs`). */
export function execRun(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const child = spawn(process.execPath, [binPath('capi-exec'), ...args], {
    cwd: repoRoot,
    env: testEnv(CLIENT_ENV),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child, { input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000 });
}

/** Every file under `dir` (its text), for a secret search. */
export async function filesUnder(dir: string): Promise<Array<{ path: string; text: string }>> {
  const out: Array<{ path: string; text: string }> = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out.push({ path, text: await readFile(path, 'latin1') });
  }
  return out;
}
