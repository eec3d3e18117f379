import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { runTool } from '@capi/testkit';
import { copyMadeRun, madeRunFixture, standInEnv } from './test-support/made-run.js';

// docs/run-folder.md "run.json": every tool that reads run.json reads it through core's one
// reader (readRunManifest), so a run.json damaged or edited by hand is refused with exit 2
// naming the file and the field, and nothing of the run is written; a listing (`--status`,
// `--prune`) names it and goes on. Before, most of these were "unexpected error: TypeError"
// (exit 3), a run silently left out, or a damaged state resumed as if it were fine.

const fixture = madeRunFixture('capi-damaged-run-json-');

type Damage = [what: string, write: (file: string, good: Record<string, unknown>) => void, message: RegExp];
const json = (file: string, v: unknown) => writeFileSync(file, JSON.stringify(v));
const options = (good: Record<string, unknown>) => good.options as Record<string, unknown>;

const DAMAGES: Damage[] = [
  ['not JSON', (f) => writeFileSync(f, '{"id": "x", '), /run\.json: malformed JSON/],
  ['empty', (f) => writeFileSync(f, ''), /run\.json: empty/],
  ['a JSON list', (f) => json(f, [1, 2]), /run\.json: not a JSON object \(a list\)/],
  ['null', (f) => json(f, null), /run\.json: not a JSON object \(null\)/],
  ['state unknown', (f, g) => json(f, { ...g, state: 'bogus' }), /run\.json: field "state": not one of created/],
  ['state missing', (f, g) => json(f, { ...g, state: undefined }), /run\.json: field "state": missing/],
  ['total a word', (f, g) => json(f, { ...g, total: 'many' }), /run\.json: field "total": not a whole number/],
  ['batches an object', (f, g) => json(f, { ...g, batches: {} }), /run\.json: field "batches": not a whole number/],
  ['options missing', (f, g) => json(f, { ...g, options: undefined }), /run\.json: field "options": missing/],
  ['suite missing', (f, g) => json(f, { ...g, suite: undefined }), /run\.json: field "suite": missing/],
  ['suite.file a number', (f, g) => json(f, { ...g, suite: { file: 7, sha256: '0' } }), /field "suite\.file": not/],
  [
    'execArgs a string',
    (f, g) => json(f, { ...g, options: { ...options(g), execArgs: '--timeout 1' } }),
    /run\.json: field "options\.execArgs": not a list of strings/,
  ],
  [
    'verdict a number',
    (f, g) => json(f, { ...g, verdict: 1 }),
    /run\.json: field "verdict": not passed, failed or null/,
  ],
  ['id a number', (f, g) => json(f, { ...g, id: 5 }), /run\.json: field "id": not a run id/],
  [
    'huge',
    (f) => {
      writeFileSync(f, '{"id":"');
      truncateSync(f, 600 * 1024 * 1024);
    },
    /run\.json: \d+ bytes, more than a run\.json holds/,
  ],
];

type Action = [what: string, tool: string, args: (run: string) => string[], code: number, also?: RegExp];
const ACTIONS: Action[] = [
  ['--status RUN', 'capi-launch', (run) => ['--status', run], 2],
  ['--status --json RUN', 'capi-launch', (run) => ['--status', '--json', run], 2],
  ['--stop', 'capi-launch', (run) => ['--stop', run], 2],
  ['--pause', 'capi-launch', (run) => ['--pause', run], 2],
  ['--continue', 'capi-launch', (run) => ['--continue', run], 2],
  ['--set', 'capi-launch', (run) => ['--set', 'rate=5/s', run], 2],
  ['--resume', 'capi-launch', (run) => ['--resume', run], 2],
  ['--rerun-failed', 'capi-launch', (run) => ['--rerun-failed', run], 2],
  ['capi-watch', 'capi-watch', (run) => ['--summary', run], 2],
  ['capi-merge', 'capi-merge', (run) => [run], 2],
  // listings name the damaged run and go on with the others
  ['--status (all runs)', 'capi-launch', () => ['--status'], 0, /: not shown;/],
  ['--prune', 'capi-launch', () => ['--prune', '--keep', '0'], 0, /: kept;/],
];

/** Every file of a run folder with its bytes (the huge run.json by its size), and the folders. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(e.parentPath ?? e.path, e.name);
    const key = path.slice(dir.length);
    if (e.isFile() && statSync(path).size > 1 << 20) files[key] = `${statSync(path).size} bytes`;
    else files[key] = e.isFile() ? readFileSync(path, 'latin1') : e.isDirectory() ? 'dir' : 'link';
  }
  return files;
}

test('a run.json damaged by hand: every tool that reads it exits 2 naming the file and the field, nothing written', async () => {
  const good = JSON.parse(readFileSync(join(fixture.made, 'run.json'), 'utf8')) as Record<string, unknown>;
  let n = 0;
  for (const [what, damage, message] of DAMAGES) {
    // one copy of the run per action, each in a runs folder of its own, run side by side
    await Promise.all(
      ACTIONS.map(async ([action, tool, args, code, also]) => {
        const { runs, dir: run } = copyMadeRun(fixture, `runs-${n++}`);
        symlinkSync(basename(run), join(runs, 'latest'));
        damage(join(run, 'run.json'), good);
        const before = snapshot(run);
        const r = await runTool(tool, args(run), { env: standInEnv(runs), cwd: fixture.path });
        const where = `${what}, ${action}: ${r.stderr}`;
        assert.equal(r.code, code, where);
        assert.match(r.stderr, message, where);
        assert.ok(r.stderr.includes(join(run, 'run.json')), where);
        if (also) assert.match(r.stderr, also, where);
        assert.doesNotMatch(r.stderr, /unexpected error|TypeError|RangeError/, where);
        assert.deepEqual(snapshot(run), before, where);
      }),
    );
  }
});
