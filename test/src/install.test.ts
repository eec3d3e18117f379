import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot, testEnv } from '@capi/testkit';

const run = promisify(execFile);
const tools = ['capi-split', 'capi-exec', 'capi-launch', 'capi-watch', 'capi-merge'];

// The README promises that after `npm install` the five commands run as `npx capi-<tool>`.
for (const tool of tools) {
  test(`npx ${tool} --version answers from the linked bin`, async () => {
    const { stdout, stderr } = await run('npx', ['--no-install', tool, '--version'], {
      cwd: repoRoot,
      env: testEnv(),
      timeout: 30_000,
    });
    assert.match(stdout, new RegExp(`^${tool} \\d+\\.\\d+\\.\\d+\\n$`));
    assert.equal(stderr, '');
  });
}

// citty would end the examples with ` (capi-x v0.1.0)`, as if part of the last command.
test('--help of every tool starts with its name and version; the examples end clean', async () => {
  for (const tool of tools) {
    const { stdout } = await run('npx', ['--no-install', tool, '--help'], {
      cwd: repoRoot,
      env: testEnv(),
      timeout: 30_000,
    });
    assert.match(stdout, new RegExp(`^${tool} \\d+\\.\\d+\\.\\d+\\n\\n`), tool);
    assert.doesNotMatch(stdout, new RegExp(`\\(${tool}( v[\\d.]+)?\\)`), tool);
    assert.match(stdout, /\nExamples:\n/, tool);
  }
});
