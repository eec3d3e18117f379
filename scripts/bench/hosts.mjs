// capi-launch --hosts: the same suite against the demo API at 50 ms latency (latency-bound,
// so a second host's workers should nearly halve the time), run over one loopback SSH
// host and over two, each host with the same workers and concurrency. The ratio shows that
// the hosts really run side by side and that SSH and GNU parallel cost little next to the
// work. Needs sshd, ssh, GNU parallel and rsync: without them the row says so and is skipped.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './launch.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const execBin = join(root, 'tools/capi-exec/bin/capi-exec.js');

export default async function bench({ quick, log }) {
  const sshd = await import(join(root, 'tools/capi-launch/dist/test-support/sshd.js'));
  const tests = quick ? 1200 : 12000;
  const latencyMs = 50;
  const workers = 2;
  const concurrency = 4;
  const batchSize = quick ? 150 : 1500;
  const caseName = `${tests.toLocaleString('en-US')} tests, ${latencyMs} ms latency, --hosts 2 loopback hosts vs 1`;
  const missing = sshd.sshMissing();
  if (missing) {
    log(`skipped: ${missing}`);
    return [{ group: 'capi-launch', case: caseName, metric: 'speed-up', note: `skipped: ${missing}` }];
  }
  const { startDemoApi } = await import(join(root, 'libs/demo-api/dist/index.js'));
  const dir = await mkdtemp(join(tmpdir(), 'capi-bench-hosts-'));
  const api = await startDemoApi({ latencyMs });
  let hosts;
  try {
    hosts = await sshd.startSshHosts(dir, 2);
    const suite = join(dir, 'suite.csv');
    const rows = ['id,url'];
    for (let i = 1; i <= tests; i++) rows.push(`T${i},/items/${i % 10000}`);
    await writeFile(suite, `${rows.join('\n')}\n`);
    const seconds = {};
    for (const n of [1, 2]) {
      const list = hosts.names.slice(0, n).join(',');
      log(
        `hosts: ${tests} tests, ${latencyMs} ms latency, --hosts ${list}, ${workers} workers each, --concurrency ${concurrency}`,
      );
      const env = { CAPI_RUNS_DIR: join(dir, `runs-${n}`), NO_COLOR: '1' };
      const args = [suite, '--foreground', '--hosts', list, '--parallel', String(workers)];
      args.push('--batch-size', String(batchSize), '--concurrency', String(concurrency), '--base-url', api.url);
      args.push('--ssh-config', hosts.config, '--remote-capi', execBin);
      const started = process.hrtime.bigint();
      const r = await run(args, env, 15 * 60_000);
      seconds[n] = Number(process.hrtime.bigint() - started) / 1e9;
      if (r.code !== 0) throw new Error(`capi-launch --hosts ${list} exited ${r.code}: ${r.stderr}`);
    }
    const speedup = seconds[1] / seconds[2];
    return [
      {
        group: 'capi-launch',
        case: caseName,
        metric: 'speed-up',
        capi: speedup,
        baseline: 2,
        baselineName: 'ideal: 2 hosts, 2x',
        ratio: speedup,
        target: '>= 1.8',
        ok: speedup >= 1.8,
        note: `1 host ${seconds[1].toFixed(1)} s, 2 hosts ${seconds[2].toFixed(1)} s (${workers} workers x concurrency ${concurrency} a host, batches of ${batchSize})`,
      },
    ];
  } finally {
    hosts?.stop();
    await api.close();
    // a run that failed half-way leaves its folder on the (loopback) hosts: these runs' only
    for (const n of [1, 2]) {
      const ids = await readdir(join(dir, `runs-${n}`)).catch(() => []);
      for (const id of ids.filter((f) => f.startsWith('capi_test_')))
        await rm(join(homedir(), '.capi-remote', id), { recursive: true, force: true });
    }
    await rm(dir, { recursive: true, force: true });
  }
}
