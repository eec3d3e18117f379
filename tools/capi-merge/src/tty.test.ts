import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { binPath, testEnv } from '@capi/testkit';

// stdin a terminal: waiting for a person to type result records or a suite would look
// like a hang. util-linux `script` gives the command a pseudo-terminal.
const hasScript = spawnSync('sh', ['-c', 'command -v script']).status === 0;

function inTerminal(args: string) {
  const cmd = `'${process.execPath}' '${binPath('capi-merge')}' ${args}`;
  return spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: testEnv(), timeout: 20_000 });
}

test('stdin a terminal: no input, or --suite -, is a usage error at once (exit 2), not a wait', {
  skip: hasScript ? false : 'no util-linux script',
}, () => {
  const none = inTerminal('');
  assert.equal(none.status, 2, none.stdout);
  assert.match(none.stdout, /capi-merge: no input: name a run folder/);
  const suite = inTerminal("'results.ndjson' --suite -");
  assert.equal(suite.status, 2, suite.stdout);
  assert.match(suite.stdout, /capi-merge: --suite -: stdin is a terminal; pipe the suite in/);
});
