import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sandboxes } from './test-support/harness.js';

// --hosts checked before anything is made (no sshd needed: nothing gets that far)

const box = sandboxes(true);
const runsMade = (runs: string) => existsSync(runs) && readdirSync(runs).some((n) => n.startsWith('capi_test_'));

test('a bad --hosts entry is exit 2 naming it, and no run is made', async () => {
  const b = await box();
  const suite = b.suite(3);
  const cases: [string[], RegExp][] = [
    [['--hosts', 'alpha,-oProxyCommand=touch'], /--hosts entry 2: "-oProxyCommand=touch" host .* is not a host name/],
    [['--hosts', 'alpha,ssh -p 22 beta'], /--hosts entry 2: "ssh -p 22 beta" holds a space/],
    [['--hosts', '0/alpha'], /workers "0\/" must be a whole number from 1 to 256/],
    [['--hosts', 'alpha:70000'], /port "70000"/],
    [['--hosts', './missing-hosts.txt'], /--hosts \.\/missing-hosts\.txt: no such file/],
    [['--hosts', 'alpha', '--ssh-config', join(b.dir, 'nope')], /--ssh-config .*nope: no such file/],
  ];
  for (const [args, why] of cases) {
    const r = await b.launch([suite, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  const file = join(b.dir, 'hosts.txt');
  writeFileSync(file, '# farm\nalpha\nbad;host\n');
  const r = await b.launch([suite, '--hosts', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`${file}:3: "bad;host" host "bad;host" is not a host name`));
  assert.equal(runsMade(b.runs), false);
});

test('--remote-capi and --ssh-config go with --hosts; --hosts goes with a launch only', async () => {
  const b = await box();
  const suite = b.suite(3);
  let r = await b.launch([suite, '--remote-capi', '/opt/capi/bin/capi-exec']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--remote-capi goes with --hosts/);
  r = await b.launch([suite, '--ssh-config', '/dev/null']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--ssh-config goes with --hosts/);
  r = await b.launch(['--resume', 'latest', '--hosts', 'alpha']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--hosts goes with a launch: a run keeps the hosts it was launched with/);
  r = await b.launch([suite, '--hosts', 'alpha', '--dry-run']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--dry-run does not plan a --hosts run/);
  assert.equal(runsMade(b.runs), false);
});

test("--resume --parallel of a --hosts run is refused: its hosts' workers were fixed at launch", async () => {
  const b = await box();
  const r = await b.launch([b.suite(4), '--foreground', '--batch-size', '2']);
  assert.equal(r.code, 0, r.stderr);
  const run = join(b.runs, readdirSync(b.runs).find((n) => n.startsWith('capi_test_')) as string);
  const file = join(run, 'run.json');
  const m = JSON.parse(readFileSync(file, 'utf8'));
  m.options.remote = { hosts: [{ login: 'alpha', jobs: 2 }], remoteCapi: 'capi-exec', sshConfig: null };
  writeFileSync(file, JSON.stringify(m));
  const resumed = await b.launch(['--resume', run, '--parallel', '3']);
  assert.equal(resumed.code, 2);
  assert.match(resumed.stderr, /--parallel cannot change on --resume of a --hosts run/);
});
