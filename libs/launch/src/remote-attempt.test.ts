import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AttemptPlan,
  forwardedEnv,
  PARALLEL_KEEPER,
  parallelArgs,
  readJoblog,
  remoteCommand,
} from './remote-attempt.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('env.sh forwards what a remote capi-exec would read here, quoted, and nothing else', () => {
  const text = forwardedEnv(['--allow-env', 'API_*,TOKEN', '--header', 'Authorization: Bearer {{env.HDR_SECRET}}'], {
    CAPI_BASE_URL: 'http://api.test:8080',
    CAPI_CLIENT_SECRET: "it's $(rm -rf ~)",
    API_KEY: 'k-123456',
    TOKEN: 'tok-123456',
    HDR_SECRET: 'hdr-123456',
    OTHER_SECRET: 'never',
    PATH: '/usr/bin',
    CAPI_EXEC_BIN: '/local/stand-in.js',
    CAPI_RUNS_DIR: '/local/runs',
    'BAD-NAME': 'x',
  });
  const lines = text.trim().split('\n').sort();
  assert.deepEqual(lines, [
    'export API_KEY=k-123456',
    'export CAPI_BASE_URL=http://api.test:8080',
    `export CAPI_CLIENT_SECRET='it'\\''s $(rm -rf ~)'`,
    'export HDR_SECRET=hdr-123456',
    'export TOKEN=tok-123456',
  ]);
});

const plan = (dir: string): AttemptPlan => ({
  runDir: dir,
  runId: 'capi_test_20261205_120000',
  attempt: 3,
  batches: ['batch_0001', 'batch_0002'],
  hosts: [
    { login: 'alpha', jobs: 2 },
    { login: 'ci@beta:2222', jobs: 1 },
  ],
  ssh: { sshConfig: '/etc/capi ssh/config' },
  remoteCapi: '/opt/capi dir/capi-exec',
  concurrency: 8,
  execArgs: ['--header', 'Authorization: Bearer s3cret-value'],
  env: {},
  log: () => {},
});

test("GNU parallel's command line: batches as ::: arguments, the run id as its own words, no secret in it", () => {
  const p = plan('/runs/r');
  const args = parallelArgs(p);
  assert.deepEqual(args.slice(args.indexOf(':::')), [':::', 'batch_0001', 'batch_0002']);
  assert.equal(args[args.indexOf('--sshlogin') + 1], '2/alpha,1/ci@beta:2222');
  assert.equal(args[args.indexOf('--ssh') + 1]?.startsWith("ssh -F '/etc/capi ssh/config' -o BatchMode=yes"), true);
  assert.equal(args[args.indexOf('--joblog') + 1], '/runs/r/remote/attempt_3.joblog');
  const cmd = remoteCommand(p);
  assert.equal(cmd[cmd.indexOf('--run-id') + 1], 'capi_test_20261205_120000');
  assert.equal(cmd[cmd.indexOf('exec') + 1], "'/opt/capi dir/capi-exec'");
  assert.ok(cmd.includes('--options-file'));
  assert.equal(args.join(' ').includes('s3cret'), false);
});

test('the joblog read back by sequence number: the batch, its host and how it ended', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'capi-joblog-'));
  dirs.push(dir);
  const file = join(dir, 'j');
  await writeFile(
    file,
    'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n' +
      '2\tci@beta:2222\t1796473281.076\t  4.210\t4096\t16032\t137\t0\tumask 077 && …\n' +
      '1\talpha\t1796473280.995\t  5.226\t4096\t16025\t0\t0\tumask 077 && …\n' +
      '9\talpha\t1\t1\t0\t0\t0\t0\tnot ours\n' +
      'torn',
  );
  const ends = readJoblog(file, ['batch_0001', 'batch_0002']);
  assert.deepEqual(
    ends.map((e) => [e.batch, e.host, e.exit]),
    [
      ['batch_0002', 'ci@beta:2222', 137],
      ['batch_0001', 'alpha', 0],
    ],
  );
  assert.equal(ends[1]?.started, new Date(1796473280995).toISOString());
  assert.deepEqual(readJoblog(join(dir, 'missing'), ['batch_0001']), []);
});

/** Pids whose parent is `ppid`, from /proc. */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(name));
    } catch {}
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    // a zombie is gone
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/** Polls `check` every 50 ms for at most `ms`. */
async function within(ms: number, check: () => boolean): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (check()) return true;
  return check();
}

const hasProc = readdirSync('/proc').some((n) => /^\d+$/.test(n));

test(
  "GNU parallel's keeper ends its command with SIGTERM once the process that started it is killed with SIGKILL",
  hasProc ? {} : { skip: 'no /proc' },
  async () => {
    // a shell stands in for the supervisor: it starts the keeper with its own pid, as startAttempt does
    const sup = spawn('sh', ['-c', 'perl -e "$1" $$ sleep 30 & wait', 'sh', PARALLEL_KEEPER], { stdio: 'ignore' });
    const pids: number[] = [];
    try {
      const supPid = sup.pid as number;
      assert.ok(
        await within(5000, () => {
          const [keeper] = childrenOf(supPid);
          const [command] = keeper ? childrenOf(keeper) : [];
          if (keeper && command) pids.push(keeper, command);
          return pids.length === 2;
        }),
        'the keeper and its command started',
      );
      process.kill(supPid, 'SIGKILL');
      // the keeper looks every 200 ms; sleep ends on the SIGTERM, the keeper with it
      assert.ok(
        await within(2000, () => pids.every((p) => !alive(p))),
        `still alive: ${pids.filter(alive).join(', ')}`,
      );
    } finally {
      for (const p of [sup.pid as number, ...pids])
        try {
          process.kill(p, 'SIGKILL');
        } catch {}
    }
  },
);

test("GNU parallel's keeper passes on the supervisor's signals and exits with its command's code", async () => {
  const run = (script: string, sig?: NodeJS.Signals) =>
    new Promise<number | null>((resolve) => {
      const k = spawn('perl', ['-e', PARALLEL_KEEPER, String(process.pid), 'sh', '-c', script], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const bound = setTimeout(() => k.kill('SIGKILL'), 10_000);
      // the signal once the command has set its trap (it says so)
      k.stdout.once('data', () => {
        if (sig) k.kill(sig);
      });
      k.on('exit', (code) => {
        clearTimeout(bound);
        resolve(code);
      });
    });
  assert.equal(await run('echo up; exit 7'), 7);
  // $! read when the trap runs (single quotes): the sleep is ended, not left holding the pipe for 30 s
  assert.equal(await run("trap 'kill $!; exit 41' HUP; sleep 30 & echo up; wait", 'SIGHUP'), 41);
  assert.equal(await run("trap 'kill $!; exit 42' TERM; sleep 30 & echo up; wait", 'SIGTERM'), 42);
  // a command killed by a signal: 128 + its number, as a shell says it
  assert.equal(await run('echo up; kill -9 $$'), 137);
});

test("GNU parallel's keeper passes on a stop that comes as it starts, before or during its fork", async () => {
  // a SIGTERM sent right after the keeper's spawn, 30 times at 0-2 ms: every one must end the
  // command (exit 143), none may let it run its 30 s (one in about 50 did before)
  for (let i = 0; i < 30; i++) {
    const code = await new Promise<number | null>((resolve) => {
      const k = spawn('perl', ['-e', PARALLEL_KEEPER, String(process.pid), 'sleep', '30'], { stdio: 'ignore' });
      const bound = setTimeout(() => k.kill('SIGKILL'), 10_000);
      k.once('spawn', () => setTimeout(() => k.kill('SIGTERM'), i % 3));
      k.on('exit', (c, sig) => {
        clearTimeout(bound);
        // before its handlers are set a SIGTERM ends the keeper itself: the command never started
        resolve(sig === 'SIGTERM' ? 143 : c);
      });
    });
    assert.equal(code, 143, `stop ${i} at ${i % 3} ms`);
  }
});
