#!/usr/bin/env node
// `npm start`: the main job on the bundled demo API. Starts the demo API in this process,
// launches examples/suite.csv with capi-launch (2 workers, batches of 100, in the
// foreground so the API lives as long as the run), then checks the merged counts against
// examples/expected.json. Exit 0 when the demo ran as designed: its designed failures
// and errors must be there, and nothing else may fail.
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { startDemoApi } = await import(join(root, 'libs/demo-api/dist/index.js'));

// The suite's /secure rows send `Bearer {{env.DEMO_TOKEN}}`, and the demo API checks the
// same variable: one value for both, never written to any file.
process.env.DEMO_TOKEN ||= `demo-${process.pid}-${Date.now()}`;
const runsDir = process.env.CAPI_RUNS_DIR || join(root, 'capi-runs');
const api = await startDemoApi({ token: process.env.DEMO_TOKEN });
process.stderr.write(`demo: demo API listening on ${api.url}\n`);

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
process.stderr.write(
  'demo: capi-launch examples/suite.csv --foreground --parallel 2 --batch-size 100 --concurrency 16 --allow-env DEMO_TOKEN\n',
);
const code = await new Promise((resolve) => {
  const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, CAPI_RUNS_DIR: runsDir } });
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('close', (c, signal) => resolve(c ?? (signal === 'SIGINT' ? 130 : 143)));
});
await api.close();

if (code !== 0 && code !== 1) {
  process.stderr.write(`demo: capi-launch ended with exit code ${code}: the demo did not run to its end\n`);
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
process.exitCode = asDesigned ? 0 : 1;
