// Start-up (issue 15): every batch worker and every pipeline stage pays a tool's start-up,
// so each tool's `--version` and a one-test capi-exec run are timed against `node -e 0`,
// the floor no Node program goes under. The tools run as the npm package ships them
// (dist/package/bin, scripts/build-package.mjs). NODE_EXTRA_CA_CERTS is unset for every command: it
// adds a certificate load to every Node start and would hide the difference.
// Runs are interleaved (one of each command per round), so a busy moment hits all alike;
// the median wall time is compared, and the median CPU time (user + system, all threads,
// from /usr/bin/time) is given in the note. capi-exec runs from its V8 code cache
// (docs/capi-exec.md, "Start-up and the code cache") in a folder of the bench's own, written by
// the first one-test run, as a user's first run writes theirs; the same run with the cache
// off is a row of its own, without a target: what a first run, or a machine with no
// writable home, pays.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOOLS = ['capi-split', 'capi-exec', 'capi-launch', 'capi-watch', 'capi-merge'];
const TARGET = 3;
const TIME = '/usr/bin/time';
const bin = (tool) => join(root, 'dist', 'package', 'bin', `${tool}.js`);

const env = { ...process.env, NO_COLOR: '1' };
delete env.NODE_EXTRA_CA_CERTS;

function timed(args, dir, extraEnv = {}) {
  const out = join(dir, 'time.txt');
  const useTime = existsSync(TIME);
  const [cmd, argv] = useTime ? [TIME, ['-f', '%U %S', '-o', out, ...args]] : [args[0], args.slice(1)];
  const started = process.hrtime.bigint();
  const child = spawn(cmd, argv, {
    env: { ...env, CAPI_CODE_CACHE: join(dir, 'code-cache'), ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b) => {
    stderr = (stderr + b).slice(-2000);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', async (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited ${code}: ${stderr}`));
      let cpuMs = null;
      if (useTime) {
        const [u, s] = (await readFile(out, 'utf8')).trim().split(/\s+/).slice(-2).map(Number);
        cpuMs = (u + s) * 1000;
      }
      resolve({ wallMs, cpuMs });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

export default async function bench({ quick, log }) {
  const rounds = quick ? 5 : 21;
  const missing = TOOLS.filter((t) => !existsSync(bin(t)));
  if (missing.length) throw new Error(`not in dist/package: ${missing.join(', ')} (npm run build)`);
  const { startDemoApi } = await import(join(root, 'libs/demo-api/dist/index.js'));
  const dir = await mkdtemp(join(tmpdir(), 'capi-bench-startup-'));
  const api = await startDemoApi({});
  try {
    const one = join(dir, 'one.ndjson');
    await writeFile(one, `${JSON.stringify({ id: 'T1', request: { method: 'GET', url: `${api.url}/health` } })}\n`);
    const node = process.execPath;
    const cases = [
      { name: 'node -e 0', args: [node, '-e', '0'] },
      ...TOOLS.map((t) => ({ name: `${t} --version`, args: [node, bin(t), '--version'] })),
      { name: 'capi-exec, one test', args: [node, bin('capi-exec'), '--in', one, '--quiet'] },
      {
        name: 'capi-exec, one test, no code cache',
        args: [node, bin('capi-exec'), '--in', one, '--quiet'],
        env: { CAPI_CODE_CACHE: 'off' },
        noTarget: true,
      },
    ];
    const times = new Map(cases.map((c) => [c.name, []]));
    log(`${rounds} rounds of ${cases.length} commands`);
    for (let r = 0; r < rounds; r++) for (const c of cases) times.get(c.name).push(await timed(c.args, dir, c.env));
    const wall = (name) => median(times.get(name).map((t) => t.wallMs));
    const cpu = (name) => median(times.get(name).map((t) => t.cpuMs ?? Number.NaN));
    const base = wall('node -e 0');
    return cases.slice(1).map((c) => {
      const ratio = wall(c.name) / base;
      return {
        group: 'start-up',
        case: c.name,
        metric: 'median ms',
        capi: wall(c.name),
        baseline: base,
        baselineName: 'node -e 0',
        ratio,
        target: c.noTarget ? null : `<= ${TARGET}`,
        ok: c.noTarget ? null : ratio <= TARGET,
        note: `CPU ${Math.round(cpu(c.name))} ms vs ${Math.round(cpu('node -e 0'))} ms; ${rounds} runs each, interleaved`,
      };
    });
  } finally {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
}
