#!/usr/bin/env node
// `npm start`: the main job on the bundled demo API. Starts the demo API in this process,
// launches examples/suite.csv with capi-launch (2 workers, batches of 100, in the
// foreground so the API lives as long as the run), then checks the merged counts against
// examples/expected.json; then the same for the flows suite, examples/flows.csv, against
// examples/flows-expected.json. Exit 0 when the demo ran as designed: its designed failures
// and errors must be there, and nothing else may fail. It tells a short story: the build's
// and the supervisor's output go to log files (named), not to the terminal. `--build`
// (npm start) builds first.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, readlink } from 'node:fs/promises';
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
// same variable: one value for both, never written to any file. The flows suite logs in
// with {{env.CAPI_CLIENT_ID}}/{{env.CAPI_CLIENT_SECRET}} (CAPI_ variables a suite may read),
// the credentials the demo API is started with.
process.env.DEMO_TOKEN ||= `demo-${process.pid}-${Date.now()}`;
process.env.CAPI_CLIENT_ID ||= 'demo-client';
process.env.CAPI_CLIENT_SECRET ||= `demo-secret-${process.pid}-${Date.now()}`;
const runsDir = process.env.CAPI_RUNS_DIR || join(root, 'capi-runs');
const api = await startDemoApi({
  token: process.env.DEMO_TOKEN,
  clientId: process.env.CAPI_CLIENT_ID,
  clientSecret: process.env.CAPI_CLIENT_SECRET,
});
say(`demo: the demo API listens on ${api.url}`);

/** Runs capi-launch in the foreground on one example suite; the merged summary of its run, and the run folder. */
async function launch(suite, flags, log) {
  const args = [
    join(root, 'tools/capi-launch/bin/capi-launch.js'),
    join(root, 'examples', suite),
    '--foreground',
    ...flags,
    '--base-url',
    api.url,
    '--runs-dir',
    runsDir,
  ];
  const code = await logged(process.execPath, args, log, { ...process.env, CAPI_RUNS_DIR: runsDir });
  if (code !== 0 && code !== 1) {
    await api.close();
    process.stderr.write(
      `demo: capi-launch ended with exit code ${code}: the demo did not run to its end (see ${log})\n`,
    );
    process.exit(code);
  }
  // `latest` moves to the next run: the real folder is kept
  const runDir = join(runsDir, await readlink(join(runsDir, 'latest')));
  const report = join(runDir, 'report');
  const jsonName = (await readdir(report))
    .filter((f) => /^aggregated_results_.*\.json$/.test(f))
    .sort()
    .pop();
  return { runDir, report, summary: JSON.parse(await readFile(join(report, jsonName), 'utf8')).summary };
}

/** The counts a run gave next to the designed ones, as table rows; whether they all agree. */
function compare(expected, got) {
  const rows = Object.keys(expected).map(
    (k) =>
      `  ${k.padEnd(8)} expected ${String(expected[k]).padStart(5)}   got ${String(got[k]).padStart(5)}${expected[k] === got[k] ? '' : '   <-- differs'}`,
  );
  return { rows, same: Object.keys(expected).every((k) => expected[k] === got[k]) };
}

const countsOf = (c) => ({ total: c.total, passed: c.passed, failed: c.failed, errors: c.errors, skipped: c.skipped });

const launchLog = join(logs, 'demo-launch.log');
say(
  'demo: capi-launch examples/suite.csv --foreground --parallel 2 --batch-size 100 --concurrency 16 --allow-env DEMO_TOKEN',
);
say(`demo: 1,000 tests, 2 workers; the supervisor's log: ${launchLog}`);
// the suite reads {{env.DEMO_TOKEN}}: a suite reads only the variables a run allows
const main = await launch(
  'suite.csv',
  ['--parallel', '2', '--batch-size', '100', '--concurrency', '16', '--allow-env', 'DEMO_TOKEN'],
  launchLog,
);
const expected = JSON.parse(await readFile(join(root, 'examples/expected.json'), 'utf8'));
const mainCheck = compare(expected, countsOf(main.summary.counts));
process.stdout.write(`\ndemo run: ${main.runDir}\nreports:  ${main.report}\n${mainCheck.rows.join('\n')}\n`);
process.stdout.write(
  mainCheck.same
    ? '\nThe demo ran as designed: its designed failures and errors are in the report, and every other test passed.\n'
    : '\nThe demo did NOT run as designed: see the report above.\n',
);

// Flows: log in once per worker, then create, read, change and delete items by the ids the API gives.
const flowsLog = join(logs, 'demo-flows.log');
say(
  `\ndemo: capi-launch examples/flows.csv --parallel 2 --batch-size 21 (a login per batch, 12 flows; log: ${flowsLog})`,
);
const flows = await launch('flows.csv', ['--parallel', '2', '--batch-size', '21', '--concurrency', '4'], flowsLog);
await api.close();
const flowsExpected = JSON.parse(await readFile(join(root, 'examples/flows-expected.json'), 'utf8'));
const s = flows.summary;
const gotFlows = {
  ...countsOf(s.counts),
  complete: s.flows?.complete ?? 0,
  stopped: s.flows?.stopped ?? 0,
};
const flowsCheck = compare(flowsExpected, gotFlows);
process.stdout.write(`flows run: ${flows.report}\n${flowsCheck.rows.join('\n')}\n`);
process.stdout.write(
  flowsCheck.same
    ? `Flows ran as designed: ${s.phases.setup.runs} logins (one per batch), every flow once, item-07 stopped by its designed failure.\n`
    : 'The flows did NOT run as designed: see the report above.\n',
);
const asDesigned = mainCheck.same && flowsCheck.same;
const html = join(main.report, 'report.html');
const text = (await readdir(main.report)).find((f) => f.startsWith('test_summary_report_'));
say(`
Next:
  open the HTML report:  ${html}
  read the failures:     ${join(main.report, text ?? '')}
  watch a run live:      node scripts/demo-api.mjs --token demo-secret   (prints its URL; leave it running), then
                         DEMO_TOKEN=demo-secret node tools/capi-launch/bin/capi-launch.js examples/suite.csv --base-url URL --allow-env DEMO_TOKEN --tmux --monitor
  write your own suite:  examples/README.md shows every column and the flows; docs/formats.md is the reference
  install the commands:  README.md, "Install it anywhere"`);
process.exitCode = asDesigned ? 0 : 1;
