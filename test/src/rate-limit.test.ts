import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { runTool } from '@capi/testkit';
import { copyMadeRun, liveSupervisor, madeRunFixture } from './test-support/made-run.js';

// The rate limit in force, as capi-watch (--plain, --json) and capi-launch --status show it
// on the same hand-made run folders: control.json's rate as the workers take it (core
// rateInForce), else run.json's copy; a control.json rate the workers do not take is said,
// never shown as the limit.

const fixture = madeRunFixture('capi-rate-limit-');

interface Case {
  what: string;
  /** run.json `options.rate`: the copy capi-launch last took. */
  recorded: string | null;
  /** control.json `rate`, as written by hand. */
  control: unknown;
  /** What every view shows. */
  rate: string | null;
  perSecond: number | null;
  notTaken: string[];
  /** core's line, in --json and the dashboard. */
  text: string;
  plain: string;
  column: string;
}

const CASES: Case[] = [
  {
    what: 'a good rate',
    recorded: '50/s',
    control: '200/s',
    rate: '200/s',
    perSecond: 200,
    notTaken: [],
    text: 'limit 200/s',
    plain: 'Rate Limit: 200/s',
    column: '200/s',
  },
  {
    what: 'no rate',
    recorded: null,
    control: null,
    rate: null,
    perSecond: null,
    notTaken: [],
    text: 'no limit',
    plain: 'Rate Limit: no limit',
    column: 'no limit',
  },
  {
    what: 'a bad control.json rate',
    recorded: '200/s',
    control: 'fast',
    rate: '200/s',
    perSecond: 200,
    notTaken: ['rate'],
    text: 'control.json rate "fast" not taken; 200/s in force',
    plain: 'Rate Limit: control.json rate "fast" not taken; 200/s in force',
    column: '200/s !',
  },
];

/** The made run copied into its own runs folder, its run.json and control.json set as `c` says. */
function runFolderOf(c: Case, n: number, manifest: Record<string, unknown> = {}): { runs: string; dir: string } {
  const { runs, dir } = copyMadeRun(fixture, `case${n}`);
  const m = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  const options = { ...m.options, rate: c.recorded };
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ ...m, options, ...manifest }));
  const control = JSON.parse(readFileSync(join(dir, 'control.json'), 'utf8'));
  writeFileSync(join(dir, 'control.json'), JSON.stringify({ ...control, rate: c.control, workers: 2 }));
  return { runs, dir };
}

test('capi-watch --plain and --json and capi-launch --status show the same rate limit in force', async () => {
  for (const [n, c] of CASES.entries()) {
    const { runs, dir } = runFolderOf(c, n);
    const env = { CAPI_RUNS_DIR: runs };
    const plain = await runTool('capi-watch', ['--plain', dir], { env });
    assert.equal(plain.code, 0, `${c.what}: ${plain.stderr}`);
    const lines = plain.stdout.split('\n');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('Rate Limit:')),
      [c.plain],
      `${c.what}:\n${plain.stdout}`,
    );
    assert.equal(lines.indexOf(c.plain), lines.findIndex((l) => l.startsWith('Rate: ')) + 1, 'after the rate');
    const json = await runTool('capi-watch', ['--json', dir], { env });
    assert.equal(json.code, 0, `${c.what}: ${json.stderr}`);
    const snap = JSON.parse(json.stdout.trim().split('\n').at(-1) as string);
    assert.deepEqual(
      snap.rateLimit,
      { rate: c.rate, perSecond: c.perSecond, notTaken: c.notTaken, text: c.text },
      c.what,
    );
    assert.equal(typeof snap.rate, 'number', 'the measured rate stays as it was');
    const status = await runTool('capi-launch', ['--status'], { env });
    assert.equal(status.code, 0, `${c.what}: ${status.stderr}`);
    const [head, row] = status.stdout.trimEnd().split('\n') as [string, string];
    const at = head.indexOf('LIMIT');
    assert.ok(at > 0, head);
    assert.equal(row.slice(at, head.indexOf('METHOD')).trimEnd(), c.column, `${c.what}:\n${status.stdout}`);
    // a completed run is not said to be running at anything: no note
    assert.doesNotMatch(status.stderr, /not taken/, c.what);
    const listed = JSON.parse((await runTool('capi-launch', ['--status', '--json'], { env })).stdout);
    assert.deepEqual(listed.rateLimit, snap.rateLimit, `${c.what}: one rule for both tools`);
  }
});

test('a running run with a control.json rate the workers do not take: capi-launch --status says so on stderr, capi-watch --summary in its block', async () => {
  const bad = CASES[2] as Case;
  const { runs, dir } = runFolderOf(bad, 10);
  const pid = await liveSupervisor(fixture, dir);
  const m = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ ...m, state: 'running', pid, verdict: null, finished: null }));
  writeFileSync(join(dir, 'supervisor.pid'), `${pid}\n`);
  const env = { CAPI_RUNS_DIR: runs };
  const status = await runTool('capi-launch', ['--status'], { env });
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, / running +.* 200\/s ! +foreground /);
  assert.equal(status.stderr, `capi-launch: ${basename(dir)}: control.json rate "fast" not taken; 200/s in force\n`);
  const summary = await runTool('capi-watch', ['--summary', dir], { env });
  assert.equal(summary.code, 0, summary.stderr);
  assert.match(summary.stdout, /^Rate Limit: control\.json rate "fast" not taken; 200\/s in force$/m);
  // taken again: nothing said
  const control = JSON.parse(readFileSync(join(dir, 'control.json'), 'utf8'));
  writeFileSync(join(dir, 'control.json'), JSON.stringify({ ...control, rate: '30/m' }));
  const again = await runTool('capi-launch', ['--status'], { env });
  assert.equal(again.stderr, '');
  assert.match(again.stdout, / running +.* 30\/m +foreground /);
});
