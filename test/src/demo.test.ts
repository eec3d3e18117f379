import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { killAll, repoRoot, runNode, tempDir } from '@capi/testkit';

after(killAll);

async function* filesUnder(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else if (entry.isFile()) yield path;
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
