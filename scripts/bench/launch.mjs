// capi-launch: the same suite against the demo API at 50 ms latency, run by 1 worker and
// by 4 (--parallel), each worker at the same per-worker concurrency. The speed-up shows
// that workers really run side by side and that supervision costs little.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const launchBin = join(root, 'tools/capi-launch/bin/capi-launch.js');

/** Runs capi-launch with `args` (killed past `limitMs`); resolves to its exit code and stderr's tail. */
export function run(args, env, limitMs) {
  const child = spawn(process.execPath, [launchBin, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b) => {
    stderr = (stderr + b.toString()).slice(-4000);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  return new Promise((done) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stderr });
    });
  });
}

export default async function bench({ quick, log }) {
  const { startDemoApi } = await import(join(root, 'libs/demo-api/dist/index.js'));
  const tests = quick ? 120 : 2000;
  const latencyMs = 50;
  const concurrency = 4;
  const batchSize = quick ? 30 : 100;
  const dir = await mkdtemp(join(tmpdir(), 'capi-bench-launch-'));
  const api = await startDemoApi({ latencyMs });
  try {
    const suite = join(dir, 'suite.csv');
    const rows = ['id,url'];
    for (let i = 1; i <= tests; i++) rows.push(`T${i},/items/${i}`);
    await writeFile(suite, `${rows.join('\n')}\n`);
    const seconds = {};
    for (const parallel of [1, 4]) {
      log(`launch: ${tests} tests, ${latencyMs} ms latency, --parallel ${parallel}, --concurrency ${concurrency}`);
      const env = { CAPI_RUNS_DIR: join(dir, `runs-${parallel}`), NO_COLOR: '1' };
      const args = [suite, '--foreground', '--parallel', String(parallel), '--batch-size', String(batchSize)];
      args.push('--concurrency', String(concurrency), '--base-url', api.url);
      const started = process.hrtime.bigint();
      const r = await run(args, env, 10 * 60_000);
      seconds[parallel] = Number(process.hrtime.bigint() - started) / 1e9;
      if (r.code !== 0) throw new Error(`capi-launch --parallel ${parallel} exited ${r.code}: ${r.stderr}`);
    }
    const speedup = seconds[1] / seconds[4];
    return [
      {
        group: 'capi-launch',
        case: `${tests.toLocaleString('en-US')} tests, ${latencyMs} ms latency, --parallel 4 vs 1`,
        metric: 'speed-up',
        capi: speedup,
        baseline: 4,
        baselineName: 'ideal: 4 workers, 4x',
        ratio: speedup / 4,
        target: '>= 0.75',
        ok: speedup / 4 >= 0.75,
        note: `1 worker ${seconds[1].toFixed(1)} s, 4 workers ${seconds[4].toFixed(1)} s (concurrency ${concurrency} each)`,
      },
    ];
  } finally {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
}
