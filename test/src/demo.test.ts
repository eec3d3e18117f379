import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { collect, killAll, repoRoot, runNode, tempDir, testEnv } from '@capi/testkit';

after(killAll);

async function* filesUnder(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else if (entry.isFile()) yield path;
  }
}

/**
 * Runs the demo's "watch a run live" hint as printed: its demo API command, then its launch
 * command against the URL that printed, in the foreground instead of `--tmux --monitor` (no
 * terminal here), with no DEMO_TOKEN but the one the hint sets. The example suite's designed
 * failures make it exit 1; a hint the launch refuses (exit 2) fails.
 */
async function runsTheWatchHint(next: string, runsDir: string): Promise<void> {
  const words = (line: string) => line.trim().split(/ +/);
  const [apiLine, launchLine] = /watch a run live: +(.*)\n +(.*)\n/.exec(next)?.slice(1) ?? [];
  const apiArgs = words((apiLine ?? '').replace(/ {2,}\(.*$/, ''));
  assert.equal(apiArgs[0], 'node', apiLine);
  const api = spawn(process.execPath, apiArgs.slice(1), {
    cwd: repoRoot,
    env: testEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ended = collect(api, { timeoutMs: 120_000 });
  try {
    const [first] = (await once(api.stdout, 'data')) as [Buffer];
    const url = /listening on (\S+)/.exec(first.toString())?.[1];
    assert.ok(url, first.toString());
    const launch = words(launchLine ?? '');
    const env: Record<string, string> = { CAPI_RUNS_DIR: runsDir };
    while (/^[A-Z_]+=/.test(launch[0] ?? '')) {
      const [name, ...value] = (launch.shift() as string).split('=');
      env[name as string] = value.join('=');
    }
    assert.equal(launch[0], 'node', launchLine);
    const args = launch.slice(1).map((w) => (w === 'URL' ? url : w));
    assert.deepEqual(args.splice(-2), ['--tmux', '--monitor'], launchLine);
    const run = await runNode(join(repoRoot, args[0] as string), [...args.slice(1), '--foreground'], {
      env,
      timeoutMs: 120_000,
    });
    assert.equal(run.code, 1, `${launchLine}\n${run.stderr}`);
    assert.match(run.stderr, /completed, verdict failed, exit 1/);
  } finally {
    api.kill('SIGTERM');
    await ended;
  }
}

// `npm start` is the README's first command: it must run the example suite against the
// demo API end to end and say that the demo ran as designed.
test('npm start runs the example suite and the flows suite end to end, as designed, and writes no secret', async () => {
  const runs = await tempDir();
  const token = `tok-${Date.now()}-secret`;
  const clientSecret = `client-${Date.now()}-secret`;
  try {
    const res = await runNode(join(repoRoot, 'scripts/demo.mjs'), [], {
      env: { CAPI_RUNS_DIR: runs.path, DEMO_TOKEN: token, CAPI_CLIENT_SECRET: clientSecret },
      timeoutMs: 240_000,
    });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /The demo ran as designed/);
    assert.match(res.stdout, /failed\s+expected\s+10\s+got\s+10/);
    // then the flows: a login per batch, every flow once, item-07 stopped by design
    assert.match(res.stdout, /Flows ran as designed: \d+ logins \(one per batch\)/);
    assert.match(res.stdout, /stopped\s+expected\s+1\s+got\s+1/);
    // a short story, not the supervisor's log: that goes to a file it names
    assert.equal(res.stderr, '');
    assert.ok(res.stdout.split('\n').length < 36, res.stdout);
    assert.doesNotMatch(res.stdout, /finished \(exit|batch_0001/);
    assert.match(res.stdout, /supervisor's log: \S+demo-launch\.log\n/);
    // and it ends with what to do next, the report first
    const next = res.stdout.slice(res.stdout.indexOf('\nNext:\n'));
    // the main run's report (latest points at the flows run, which ran after it)
    assert.match(next, new RegExp(`open the HTML report: +${runs.path}/capi_[^/\\s]+/report/report.html\n`));
    assert.match(next, /read the failures: +\S+test_summary_report_\d+_\d+\.txt\n/);
    assert.match(next, /watch a run live: .*\n.*--monitor\n/);
    await runsTheWatchHint(next, runs.path);
    assert.match(next, /write your own suite: /);
    const report = join(runs.path, 'latest', 'report');
    assert.ok((await stat(report)).isDirectory());
    let files = 0;
    for await (const file of filesUnder(runs.path)) {
      files++;
      const text = await readFile(file, 'utf8');
      assert.ok(!text.includes(token), `the DEMO_TOKEN value leaked into ${file}`);
      assert.ok(!text.includes(clientSecret), `the CAPI_CLIENT_SECRET value leaked into ${file}`);
    }
    assert.ok(files > 20, `expected a full run folder, found ${files} files`);
  } finally {
    await runs.cleanup();
  }
});
