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

function start(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, DEMO_TOKEN: 'script-token' },
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
