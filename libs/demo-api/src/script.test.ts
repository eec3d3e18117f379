// scripts/demo-api.mjs, spawned as a person would run it.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createClient } from './http-client.js';

const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scripts/demo-api.mjs');
const children = new Set<ChildProcess>();

after(() => {
  for (const child of children) child.kill('SIGKILL');
});

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, DEMO_TOKEN: 'script-token', ...env },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function firstLine(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    for await (const line of lines) return line;
    return '';
  } finally {
    clearTimeout(timer);
    lines.close();
  }
}

test('prints its URL first, serves with the knobs given, stops on SIGTERM with 143', async () => {
  const child = start(['--port', '0', '--latency', '100', '--seed', '3']);
  const line = await firstLine(child);
  const m = /^demo API listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
  assert.ok(m, line);
  const client = createClient(m[1]!);
  try {
    const r = await client.call('/health');
    assert.equal(r.status, 200);
    assert.ok(r.ms >= 95, `took ${r.ms}`);
    const s = await client.call('/secure', { headers: { authorization: 'Bearer script-token' } });
    assert.equal(s.status, 200, 'the token comes from DEMO_TOKEN');
  } finally {
    await client.close();
  }
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 143);
});

test('a bad flag value exits 2 with a message on stderr and nothing on stdout', async () => {
  const child = start(['--latency', 'soon']);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const [code] = await once(child, 'exit');
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.match(stderr, /demo-api: --latency: not a number: "soon"/);
});

test('--help prints usage to stdout and exits 0', async () => {
  const child = start(['--help']);
  let stdout = '';
  child.stdout!.on('data', (c) => (stdout += c));
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  assert.match(stdout, /--error-rate R/);
});

async function tokenFrom(url: string, id: string, secret: string) {
  const client = createClient(url);
  try {
    const r = await client.call('/auth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }).toString(),
    });
    return { status: r.status, body: r.status === 200 ? (r.json() as { expires_in: number }) : null };
  } finally {
    await client.close();
  }
}

async function stopped(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

test('--client-id, --client-secret and --token-ttl set what POST /auth/token accepts and issues', async () => {
  const child = start(['--client-id', 'cli-id', '--client-secret', 'cli secret', '--token-ttl', '5'], {
    DEMO_CLIENT_ID: 'env-id',
    DEMO_CLIENT_SECRET: 'env-secret',
  });
  const url = /on (http:\S+)$/.exec(await firstLine(child))![1]!;
  const ok = await tokenFrom(url, 'cli-id', 'cli secret');
  assert.equal(ok.status, 200);
  assert.equal(ok.body!.expires_in, 5);
  assert.equal((await tokenFrom(url, 'env-id', 'env-secret')).status, 401, 'flags win over the environment');
  await stopped(child);
});

test('without flags the client credentials come from DEMO_CLIENT_ID / DEMO_CLIENT_SECRET, the TTL is 3600', async () => {
  const child = start([], { DEMO_CLIENT_ID: 'env-id', DEMO_CLIENT_SECRET: 'env-secret' });
  const url = /on (http:\S+)$/.exec(await firstLine(child))![1]!;
  const ok = await tokenFrom(url, 'env-id', 'env-secret');
  assert.equal(ok.status, 200);
  assert.equal(ok.body!.expires_in, 3600);
  assert.equal((await tokenFrom(url, 'demo-client', 'demo-client-secret')).status, 401);
  await stopped(child);
});

test('a --token-ttl that is not whole seconds, or an empty --client-secret, exits 2', async () => {
  for (const [args, message] of [
    [['--token-ttl', '1.5'], /tokenTtlS must be whole seconds/],
    [['--token-ttl', '0'], /tokenTtlS must be whole seconds/],
    [['--token-ttl', 'soon'], /--token-ttl: not a number/],
    [['--client-secret', ''], /clientSecret must not be empty/],
  ] as const) {
    const child = start([...args]);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c) => (stdout += c));
    child.stderr!.on('data', (c) => (stderr += c));
    const [code] = await once(child, 'exit');
    assert.equal(code, 2, args.join(' '));
    assert.equal(stdout, '');
    assert.match(stderr, message);
  }
});
