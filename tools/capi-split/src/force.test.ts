import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { binPath, collect, killAll, type RunResult, runTool, tempDir, testEnv } from '@capi/testkit';

const killAtStep = join(dirname(fileURLToPath(import.meta.url)), 'test-support', 'kill-at-step.js');

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('capi-split-force-');
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

const suite = (prefix: string, n: number) => {
  let text = 'id,url\n';
  for (let i = 1; i <= n; i++) text += `${prefix}${i},/${prefix}/${i}\n`;
  return text;
};
// three suites whose folders differ in every file and in how many batches they hold
const SUITES = { A: suite('A', 7), B: suite('B', 4), C: suite('C', 5) } as const;
type Name = keyof typeof SUITES;

const split = (args: string[], input: string) => runTool('capi-split', ['-', ...args], { input });

/** capi-split SIGKILLed just before its `step`th rename or rm (test-support/kill-at-step.ts). */
function splitKilledAt(step: number, args: string[], input: string): Promise<RunResult> {
  const child = spawn(process.execPath, ['--import', killAtStep, binPath('capi-split'), '-', ...args], {
    env: testEnv({ CAPI_TEST_KILL_AT_STEP: String(step) }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child, { input });
}

/** Every file of a folder with its text. */
async function filesOf(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) files[name] = await readFile(join(dir, name), 'utf8');
  return files;
}

const without = (files: Record<string, string>, name: string) =>
  Object.fromEntries(Object.entries(files).filter(([n]) => n !== name));

/** Which suite's batches a folder holds, wholly (its other files aside), or null: a mix, or part of one. */
function wholly(files: Record<string, string>, refs: Record<Name, Record<string, string>>): Name | null {
  const batches = without(files, 'keep.txt');
  for (const name of Object.keys(refs) as Name[])
    if (JSON.stringify(batches) === JSON.stringify(refs[name])) return name;
  return null;
}

test('--force: a split killed at any step of replacing DIR leaves DIR wholly the old batches or wholly the new (or missing with the whole old folder beside it); the next split puts it right, losing nothing', async () => {
  const refs = {} as Record<Name, Record<string, string>>;
  for (const name of Object.keys(SUITES) as Name[]) {
    const dir = join(tmp.path, 'refs', name);
    assert.equal((await split(['--out', dir, '--batch-size', '2'], SUITES[name])).code, 0);
    refs[name] = await filesOf(dir);
  }
  let finished = false;
  const seen = new Set<string>();
  for (let step = 1; step <= 40 && !finished; step++) {
    const parent = join(tmp.path, `step-${step}`);
    const out = join(parent, 'out');
    await mkdir(parent);
    assert.equal((await split(['--out', out, '--batch-size', '2'], SUITES.A)).code, 0);
    await writeFile(join(out, 'keep.txt'), 'mine');
    const killed = await splitKilledAt(step, ['--out', out, '--batch-size', '2', '--force'], SUITES.B);
    if (killed.code === 0) {
      finished = true;
      assert.equal(wholly(await filesOf(out), refs), 'B');
    } else assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    // what a reader finds now: a whole folder, or no folder and the whole old one beside it
    const beside = (await readdir(parent)).filter((n) => n !== 'out');
    const names = await readdir(out).catch(() => null);
    if (names === null) {
      const olds = beside.filter((n) => n.startsWith('.out.old-'));
      assert.equal(olds.length, 1, `step ${step}: out is missing; beside it: ${beside}`);
      assert.equal(wholly(await filesOf(join(parent, olds[0] as string)), refs), 'A', `step ${step}`);
      seen.add('missing');
    } else {
      const now = wholly(await filesOf(out), refs);
      assert.ok(now !== null, `step ${step}: out holds ${names}`);
      seen.add(now);
    }
    // a split without --force: the old batches are put back if they were aside, and kept
    const plain = await split(['--out', out], SUITES.C);
    assert.equal(plain.code, 2, plain.stderr);
    assert.match(plain.stderr, /folder is not empty \(use --force to replace its batches\)\n$/);
    const after = await filesOf(out);
    assert.ok(['A', 'B'].includes(wholly(after, refs) as string), `step ${step}: ${Object.keys(after)}`);
    assert.equal(after['keep.txt'], 'mine', `step ${step}: the other file is kept`);
    const olds = (await readdir(parent)).filter((n) => n.startsWith('.out.old-'));
    assert.deepEqual(olds, [], `step ${step}: the old folder was put back or finished`);
    // and the next --force replaces it whole
    const forced = await split(['--out', out, '--batch-size', '2', '--force'], SUITES.C);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(await filesOf(out), { ...refs.C, 'keep.txt': 'mine' });
    assert.deepEqual(await readdir(parent), ['out'], `step ${step}: nothing left beside out`);
    await rm(parent, { recursive: true });
  }
  assert.ok(finished, 'the split ends within 40 steps');
  assert.deepEqual([...seen].sort(), ['A', 'B', 'missing'], 'every state was reached');
});

test("a stop while the split waits for DIR's lock (before it reads the suite) unwinds like any stop: exit 143, nothing written", async () => {
  const parent = join(tmp.path, 'stopped-waiting');
  const out = join(parent, 'out');
  await mkdir(parent);
  assert.equal((await split(['--out', out, '--batch-size', '2'], SUITES.A)).code, 0);
  const before = await filesOf(out);
  // held by this live process, as another split moving its batches in would hold it
  await writeFile(join(parent, '.out.lock'), `${process.pid}\ntoken\n${hostname()}\n`);
  const child = spawn(process.execPath, [binPath('capi-split'), '-', '--out', out, '--force'], {
    env: testEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b;
  });
  const done = collect(child, { input: SUITES.B });
  for (let i = 0; i < 400 && !stderr.includes('waiting for'); i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(
    stderr,
    `capi-split: waiting for ${join(parent, '.out.lock')}: another capi-split is at work on ${out}\n`,
  );
  child.kill('SIGTERM');
  const r = await done;
  assert.equal(r.code, 143, r.stderr);
  assert.equal(r.stderr.split('\n').slice(1).join('\n'), 'capi-split: stopped by SIGTERM\n');
  assert.deepEqual(await filesOf(out), before);
  assert.deepEqual((await readdir(parent)).sort(), ['.out.lock', 'out'], "the lock is its holder's: left");
});
