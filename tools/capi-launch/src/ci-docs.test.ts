import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { binPath, collect, killAll, repoRoot, runTool, tempDir, testEnv } from '@capi/testkit';
import { parse } from 'yaml';
import { demoFor, demoSuite } from './test-support/harness.js';

/**
 * docs/ci.md shows a GitHub Actions workflow and a GitLab CI file. They are read from the
 * doc, checked for the structure the doc promises, and their shard and merge scripts are
 * run here with each CI's variables, so the doc cannot rot silently.
 */
// biome-ignore lint/suspicious/noExplicitAny: CI files are read as plain YAML
type Json = any;

const doc = readFileSync(join(repoRoot, 'docs', 'ci.md'), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1] as string) as Json);
const github = blocks.find((b) => b?.jobs?.shard?.strategy);
const gitlab = blocks.find((b) => b?.stages);

const demo = demoFor(0);
let tmp: { path: string; cleanup: () => Promise<void> };
let bin: string;
const TOKEN = 'ci-token-5d1e0b7f';
before(async () => {
  tmp = await tempDir('capi-ci-docs-');
  // the commands as `npm ci` would put them in node_modules/.bin
  bin = join(tmp.path, 'bin');
  mkdirSync(bin);
  for (const tool of ['capi-split', 'capi-exec', 'capi-merge']) {
    writeFileSync(join(bin, tool), `#!/bin/sh\nexec '${process.execPath}' '${binPath(tool)}' "$@"\n`);
    chmodSync(join(bin, tool), 0o755);
  }
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

/** The capi flags a script uses: `capi-exec --in x --shard auto` → [capi-exec, --in], [capi-exec, --shard]. */
function capiFlags(script: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const m of script.replaceAll('\\\n', ' ').matchAll(/\b(capi-(?:split|exec|merge|launch|watch))\b([^|;&>\n]*)/g))
    for (const f of (m[2] as string).matchAll(/(?:^|\s)(--?[a-z][\w-]*)/g)) out.push([m[1] as string, f[1] as string]);
  return out;
}

async function checkFlags(scripts: string[]): Promise<void> {
  const used = scripts.flatMap(capiFlags);
  assert.ok(used.length >= 8, `capi flags found: ${used.length}`);
  const help = new Map<string, string>();
  for (const [tool, flag] of used) {
    if (!help.has(tool)) help.set(tool, (await runTool(tool, ['--help'])).stdout);
    assert.match(help.get(tool) as string, new RegExp(`(^|[\\s,])${flag}([\\s,=]|$)`, 'm'), `${tool} ${flag}`);
  }
}

/** One CI job's script, run as the CI's shell runs it, in its own checkout with suite.csv. */
async function runJob(dir: string, shell: string[], script: string, env: Record<string, string>) {
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, 'suite.csv'))) copyFileSync(join(tmp.path, 'suite.csv'), join(dir, 'suite.csv'));
  const child = spawn('bash', [...shell, script], {
    cwd: dir,
    env: testEnv({ PATH: `${bin}:${process.env.PATH}`, CAPI_BASE_URL: demo.url, API_TOKEN: TOKEN, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child, { timeoutMs: 120_000 });
}

/** A GitHub expression as written in a workflow: `${{ e }}`. */
const expr = (e: string) => `\${{ ${e} }}`;

const noInstall = (line: string) => !/^npm ci$|GITHUB_PATH/.test(line.trim());

/** GitHub's `${{ … }}` for the expressions the doc uses; any other is a failure of the test. */
function expand(text: string, shard: number, total: number): string {
  const known: Record<string, string> = {
    'matrix.shard': String(shard),
    'strategy.job-total': String(total),
  };
  return text.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_, e: string) => {
    assert.ok(e in known, `unexpected expression ${e}`);
    return known[e] as string;
  });
}

test('docs/ci.md GitHub Actions: a matrix of shard jobs, journals as artifacts, one merge job with the verdict', async () => {
  assert.ok(github, 'a GitHub Actions workflow in docs/ci.md');
  const { shard, merge } = github.jobs;
  const shards = shard.strategy.matrix.shard as number[];
  assert.deepEqual(
    shards,
    shards.map((_, i) => i + 1),
    'matrix.shard is 1..N',
  );
  assert.equal(shard.strategy['fail-fast'], false, 'one failing shard does not cancel the others');
  assert.equal(shard.env.CAPI_SHARD, `${expr('matrix.shard')}/${expr('strategy.job-total')}`);
  assert.equal(shard.env.API_TOKEN, expr('secrets.API_TOKEN'));
  const upload = shard.steps.find((s: Json) => s.uses?.startsWith('actions/upload-artifact@'));
  assert.equal(upload.if, expr('!cancelled()'));
  assert.equal(upload.with.path, 'results/');
  assert.deepEqual([merge.needs].flat(), ['shard']);
  assert.equal(merge.if, expr('!cancelled()'));
  assert.equal(merge['continue-on-error'], undefined, 'the verdict fails the workflow');
  const download = merge.steps.find((s: Json) => s.uses?.startsWith('actions/download-artifact@'));
  assert.deepEqual(download.with, { pattern: 'journal-*', path: 'results', 'merge-multiple': true });
  const runs = (job: Json): string[] =>
    job.steps.filter((s: Json) => s.run && noInstall(s.run)).map((s: Json) => s.run);
  const mergeRun = runs(merge).join('\n');
  assert.match(mergeRun, /capi-merge 'results\/\*\.ndjson' --suite suite\.csv --junit junit\.xml --html report\.html/);
  await checkFlags([...runs(shard), mergeRun]);

  // the jobs, run as the runner runs them (bash -e), each shard in its own checkout
  demoSuite(tmp.path, 50, ['T0013']);
  copyFileSync(join(tmp.path, 'demo-suite.csv'), join(tmp.path, 'suite.csv'));
  const mergeDir = join(tmp.path, 'gh', 'merge');
  for (const k of shards) {
    const dir = join(tmp.path, 'gh', `shard-${k}`);
    const r = await runJob(dir, ['-e', '-c'], expand(runs(shard).join('\n'), k, shards.length), {
      CAPI_SHARD: `${k}/${shards.length}`,
    });
    assert.equal(r.code, 0, `shard ${k}: ${r.stderr}`);
    assert.equal(r.stderr.includes(TOKEN), false);
    cpSync(join(dir, 'results'), join(mergeDir, 'results'), { recursive: true });
  }
  const m = await runJob(mergeDir, ['-e', '-c'], mergeRun, {});
  assert.equal(m.code, 1, 'T0013 fails: so does the merge job, and the workflow');
  assert.match(readFileSync(join(mergeDir, 'junit.xml'), 'utf8'), /<testsuite name="shard-4"/);
  for (const f of ['junit.xml', 'report.html']) assert.ok(existsSync(join(mergeDir, f)), f);
});

test('docs/ci.md GitLab CI: parallel shard jobs, artifacts always, a merge job that needs them and reports JUnit', async () => {
  assert.ok(gitlab, 'a GitLab CI file in docs/ci.md');
  const { shard, merge } = gitlab;
  assert.ok(Number.isInteger(shard.parallel) && shard.parallel >= 2, 'parallel: N');
  assert.equal(shard.artifacts.when, 'always');
  assert.deepEqual(shard.artifacts.paths, ['results/']);
  assert.deepEqual(merge.needs, [{ job: 'shard', artifacts: true }]);
  assert.equal(merge.when, 'always');
  assert.equal(merge.allow_failure, undefined, 'the verdict fails the pipeline');
  assert.equal(merge.artifacts.reports.junit, 'junit.xml');
  assert.ok(gitlab.stages.indexOf(merge.stage) > gitlab.stages.indexOf(shard.stage));
  const before = (gitlab.default.before_script as string[]).filter(noInstall);
  await checkFlags([...shard.script, ...merge.script]);

  // all pass this time: the merge job exits 0
  demoSuite(tmp.path, 50);
  copyFileSync(join(tmp.path, 'demo-suite.csv'), join(tmp.path, 'suite.csv'));
  const mergeDir = join(tmp.path, 'gl', 'merge');
  for (let k = 1; k <= shard.parallel; k++) {
    const dir = join(tmp.path, 'gl', `shard-${k}`);
    const env = { CI_NODE_INDEX: String(k), CI_NODE_TOTAL: String(shard.parallel) };
    const r = await runJob(dir, ['-eo', 'pipefail', '-c'], [...before, ...shard.script].join('\n'), env);
    assert.equal(r.code, 0, `shard ${k}: ${r.stderr}`);
    cpSync(join(dir, 'results'), join(mergeDir, 'results'), { recursive: true });
  }
  const m = await runJob(mergeDir, ['-eo', 'pipefail', '-c'], [...before, ...merge.script].join('\n'), {});
  assert.equal(m.code, 0, m.stderr);
  assert.match(readFileSync(join(mergeDir, 'junit.xml'), 'utf8'), /<testsuite name="shard-1"/);

  // a job left without its index (a `parallel:` removed) fails loudly, naming what it looked for
  const lost = await runJob(join(tmp.path, 'gl', 'lost'), ['-eo', 'pipefail', '-c'], shard.script.join('\n'), {});
  assert.notEqual(lost.code, 0, 'capi-exec exit 2 is not taken for "tests failed"');
  assert.match(
    lost.stderr,
    /--shard auto: no shard in the environment \(looked for CAPI_SHARD, .*CI_NODE_INDEX\/CI_NODE_TOTAL/,
  );
});
