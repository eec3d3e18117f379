import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hostJobs, parseHostEntry, readHosts } from './hosts.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test("GNU parallel's sshlogin forms: [N/][user@]host[:port] and ssh-config names", () => {
  assert.deepEqual(parseHostEntry('alpha'), { login: 'alpha', jobs: null });
  assert.deepEqual(parseHostEntry('4/alpha'), { login: 'alpha', jobs: 4 });
  assert.deepEqual(parseHostEntry('ci@10.0.0.7:2222'), { login: 'ci@10.0.0.7:2222', jobs: null });
  assert.deepEqual(parseHostEntry(' 2/ci.user@build-1.example.test '), {
    login: 'ci.user@build-1.example.test',
    jobs: 2,
  });
});

test('entries ssh could read as an option, or a shell could split, are refused with the reason', () => {
  const bad: [string, RegExp][] = [
    ['-oProxyCommand=sh', /not a host name/],
    ['a@-oProxyCommand=x', /not a host name/],
    ['-l@host', /not a user name/],
    ['ssh -p 22 host', /holds a space/],
    ['host;rm', /not a host name/],
    ["ho'st", /not a host name/],
    ['0/host', /whole number from 1 to 256/],
    ['x/host', /whole number/],
    ['host:0', /port "0"/],
    ['host:99999', /port/],
    ['host:', /port ""/],
    [':', /this machine/],
    ['', /names no host/],
    ['user@', /names no host/],
  ];
  for (const [entry, why] of bad) {
    const got = parseHostEntry(entry);
    assert.equal(typeof got, 'string', entry);
    assert.match(got as string, why, entry);
  }
});

test('--hosts a,b: a comma list; a bad entry is exit 2 naming it and its place', () => {
  assert.deepEqual(readHosts('alpha,3/beta:2200'), [
    { login: 'alpha', jobs: null },
    { login: 'beta:2200', jobs: 3 },
  ]);
  assert.throws(
    () => readHosts('alpha,bad host'),
    (e: Error & { exitCode?: number }) => {
      assert.match(e.message, /--hosts entry 2: "bad host" holds a space/);
      return true;
    },
  );
  assert.throws(() => readHosts('alpha,,beta'), /--hosts entry 2: "" names no host/);
  assert.throws(() => readHosts('alpha,alpha'), /entry 2: host "alpha" is given twice/);
  assert.throws(() => readHosts('./no-such-hosts.txt'), /--hosts \.\/no-such-hosts\.txt: no such file/);
});

test('--hosts FILE: one entry a line, comments and blank lines skipped, errors by file:line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-hosts-'));
  dirs.push(dir);
  const file = join(dir, 'hosts.txt');
  await writeFile(file, '# build farm\n\n2/alpha   # the big one\nci@beta:2222\n');
  const hosts = readHosts(file);
  assert.deepEqual(hosts, [
    { login: 'alpha', jobs: 2 },
    { login: 'ci@beta:2222', jobs: null },
  ]);
  assert.deepEqual(
    hosts.map((h) => hostJobs(h, 5)),
    [2, 5],
  );
  await writeFile(file, 'alpha\n-oProxyCommand=x\n');
  assert.throws(
    () => readHosts(file),
    new RegExp(`${file}:2: "-oProxyCommand=x" host "-oProxyCommand=x" is not a host name`),
  );
  await writeFile(file, '# nothing\n');
  assert.throws(() => readHosts(file), new RegExp(`${file}: no hosts`));
});
