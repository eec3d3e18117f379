#!/usr/bin/env node
// `npm start`: the main job on the bundled demo API. Starts the demo API in this process,
// launches examples/suite.csv with capi-launch (2 workers, batches of 100, in the
// foreground so the API lives as long as the run), then checks the merged counts against
// examples/expected.json. Exit 0 when the demo ran as designed: its designed failures
// and errors must be there, and nothing else may fail. It tells a short story: the build's
// and the supervisor's output go to log files (named), not to the terminal. `--build`
// (npm start) builds first.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (text) => process.stdout.write(`${text}\n`);

/** Runs a command with its output in `log`; its exit code. */
function logged(cmd, args, log, env = process.env) {
  const out = createWriteStream(log);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    const forward = (sig) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('close', (c, signal) => {
      out.end();
      resolve(c ?? (signal === 'SIGINT' ? 130 : 143));
    });
  });
}

const logs = join(root, '.tmp');
await mkdir(logs, { recursive: true });
if (process.argv.includes('--build')) {
  const buildLog = join(logs, 'demo-build.log');
  say(`demo: building the tools (log: ${buildLog})`);
  const built = await logged('npm', ['run', 'build', '--silent'], buildLog);
  if (built !== 0) {
    process.stderr.write(`demo: the build failed (exit ${built}): see ${buildLog}\n`);
    process.exit(built);
  }
}
const { startDemoApi } = await import(join(root, 'libs/demo-api/dist/index.js'));

// The suite's /secure rows send `Bearer {{env.DEMO_TOKEN}}`, and the demo API checks the
// same variable: one value for both, never written to any file.
process.env.DEMO_TOKEN ||= `demo-${process.pid}-${Date.now()}`;
const runsDir = process.env.CAPI_RUNS_DIR || join(root, 'capi-runs');
const api = await startDemoApi({ token: process.env.DEMO_TOKEN });
say(`demo: the demo API listens on ${api.url}`);

const args = [
  join(root, 'tools/capi-launch/bin/capi-launch.js'),
  join(root, 'examples/suite.csv'),
  '--foreground',
  '--parallel',
  '2',
  '--batch-size',
  '100',
  '--concurrency',
  '16',
  '--base-url',
  api.url,
  // the suite reads {{env.DEMO_TOKEN}}: a suite reads only the variables a run allows
  '--allow-env',
  'DEMO_TOKEN',
  '--runs-dir',
  runsDir,
];
const launchLog = join(logs, 'demo-launch.log');
say(
  'demo: capi-launch examples/suite.csv --foreground --parallel 2 --batch-size 100 --concurrency 16 --allow-env DEMO_TOKEN',
);
say(`demo: 1,000 tests, 2 workers; the supervisor's log: ${launchLog}`);
const code = await logged(process.execPath, args, launchLog, { ...process.env, CAPI_RUNS_DIR: runsDir });
await api.close();

if (code !== 0 && code !== 1) {
  process.stderr.write(
    `demo: capi-launch ended with exit code ${code}: the demo did not run to its end (see ${launchLog})\n`,
  );
  process.exit(code);
}

const expected = JSON.parse(await readFile(join(root, 'examples/expected.json'), 'utf8'));
const runDir = join(runsDir, 'latest');
const report = join(runDir, 'report');
const jsonName = (await readdir(report))
  .filter((f) => /^aggregated_results_.*\.json$/.test(f))
  .sort()
  .pop();
const merged = JSON.parse(await readFile(join(report, jsonName), 'utf8'));
const { counts } = merged.summary;
const got = {
  total: counts.total,
  passed: counts.passed,
  failed: counts.failed,
  error: counts.error,
  skipped: counts.skipped,
};
const rows = Object.keys(expected).map(
  (k) =>
    `  ${k.padEnd(8)} expected ${String(expected[k]).padStart(5)}   got ${String(got[k]).padStart(5)}${expected[k] === got[k] ? '' : '   <-- differs'}`,
);
process.stdout.write(`\ndemo run: ${runDir}\nreports:  ${report}\n${rows.join('\n')}\n`);
const asDesigned = Object.keys(expected).every((k) => expected[k] === got[k]);
process.stdout.write(
  asDesigned
    ? '\nThe demo ran as designed: its designed failures and errors are in the report, and every other test passed.\n'
    : '\nThe demo did NOT run as designed: see the report above.\n',
);
const html = join(report, 'report.html');
const text = (await readdir(report)).find((f) => f.startsWith('test_summary_report_'));
say(`
Next:
  open the HTML report:  ${html}
  read the failures:     ${join(report, text ?? '')}
  watch a run live:      node scripts/demo-api.mjs   (prints its URL; leave it running), then
                         node tools/capi-launch/bin/capi-launch.js examples/suite.csv --base-url URL --tmux --monitor
  write your own suite:  examples/README.md shows every column; docs/formats.md is the reference
  install the commands:  README.md, "Install it anywhere"`);
