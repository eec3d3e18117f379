// Benchmark of capi-merge: merging N result records spread over F files, against a bare
// line-by-line JSON.parse loop over the same files in the same run (issue 4: >= 50%).
// Both run as child processes of the same node, one after the other; peak RSS of each is read.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'tools', 'capi-merge', 'bin', 'capi-merge.js');
const lib = pathToFileURL(join(root, 'libs', 'merge', 'dist', 'index.js')).href;

// The merge itself: read, validate, dedupe, summarize, write the text summary.
const MERGE_ONLY = `
const { merge } = await import(process.argv[1]);
const o = await merge({ inputs: [process.argv[2]], outputJson: false, outputCsv: false, outputReport: process.argv[3] });
process.stdout.write(String(o.counts.total));
`;

const BASELINE = `
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
const dir = process.argv[1];
let n = 0;
for (const f of (await readdir(dir)).sort()) {
  let pending = '';
  for await (const chunk of createReadStream(join(dir, f), { encoding: 'utf8' })) {
    pending += chunk;
    let start = 0;
    let nl;
    while ((nl = pending.indexOf('\\n', start)) !== -1) {
      if (nl > start) { JSON.parse(pending.slice(start, nl)); n++; }
      start = nl + 1;
    }
    pending = pending.slice(start);
  }
  if (pending.trim() !== '') { JSON.parse(pending); n++; }
}
process.stdout.write(String(n));
`;

function record(i, file) {
  const id = `T${String(i).padStart(7, '0')}`;
  const failed = i % 50 === 7;
  const error = i % 211 === 3;
  const status = error ? 'error' : failed ? 'failed' : 'passed';
  const started = new Date(Date.UTC(2026, 0, 1, 10, 30) + i * 3).toISOString();
  const failures = failed ? `[{"check":"status","expected":"2xx","actual":"${500 + (i % 4)}"}]` : '[]';
  const err = error ? '{"code":"ETIMEDOUT","message":"request timed out after 30000 ms"}' : 'null';
  const resp = error ? 'null' : `{"status":${failed ? 500 : 200},"bytes":${100 + (i % 900)}}`;
  return `{"id":"${id}","name":"get item ${i} from the catalogue","status":"${status}","attempts":1,"startedAt":"${started}","durationMs":${((i * 7919) % 1000) / 3},"response":${resp},"failures":${failures},"error":${err},"batch":"batch_${String(file + 1).padStart(4, '0')}","worker":${file % 8},"runId":"capi_test_20260101_103000","tags":["catalogue","${i % 3 === 0 ? 'smoke' : 'full'}"],"shard":null}\n`;
}

async function generate(dir, total, files) {
  await mkdir(dir, { recursive: true });
  const per = Math.ceil(total / files);
  let bytes = 0;
  for (let f = 0; f < files; f++) {
    const fh = await open(join(dir, `batch_${String(f + 1).padStart(4, '0')}.ndjson`), 'w');
    let buf = '';
    for (let i = f * per; i < Math.min(total, (f + 1) * per); i++) {
      buf += record(i, f);
      if (buf.length > 1 << 20) {
        bytes += buf.length;
        await fh.write(buf);
        buf = '';
      }
    }
    bytes += buf.length;
    await fh.write(buf);
    await fh.close();
  }
  return bytes;
}

/** Runs node with args; returns wall seconds, CPU seconds (user + system, when known), peak RSS (kB) and stdout. */
async function measure(args) {
  const useTime = existsSync('/usr/bin/time');
  const cmd = useTime ? '/usr/bin/time' : process.execPath;
  const argv = useTime ? ['-f', '%M %U %S', process.execPath, ...args] : args;
  const started = process.hrtime.bigint();
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  let err = '';
  let hwm = 0;
  child.stdout.on('data', (b) => {
    out += b;
  });
  child.stderr.on('data', (b) => {
    err += b;
  });
  // Without /usr/bin/time, poll the child's high-water mark.
  const poll = useTime
    ? null
    : setInterval(async () => {
        const s = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
        const m = /VmHWM:\s+(\d+)/.exec(s);
        if (m) hwm = Math.max(hwm, Number(m[1]));
      }, 50);
  const killer = setTimeout(() => child.kill('SIGKILL'), 30 * 60_000);
  const [code] = await once(child, 'close');
  clearTimeout(killer);
  if (poll) clearInterval(poll);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  let cpu = null;
  if (useTime) {
    const m = /(\d+) ([\d.]+) ([\d.]+)\s*$/.exec(err.trim());
    hwm = Number(m?.[1] ?? 0);
    cpu = m ? Number(m[2]) + Number(m[3]) : null;
  }
  return { code, seconds, cpu, rssKb: hwm, out, err };
}

export default async function bench({ quick, log }) {
  const total = quick ? 20_000 : 1_000_000;
  const files = quick ? 10 : 100;
  const tmp = await mkdtemp(join(tmpdir(), 'capi-bench-merge-'));
  try {
    const results = join(tmp, 'results');
    log(`generating ${total.toLocaleString('en-US')} result records in ${files} files`);
    const bytes = await generate(results, total, files);
    log(`${(bytes / 1e6).toFixed(0)} MB; bare JSON.parse loop`);
    const base = await measure(['--input-type=module', '-e', BASELINE, results]);
    if (base.code !== 0 || Number(base.out) !== total) throw new Error(`baseline failed: ${base.err.slice(-500)}`);
    log(`baseline ${base.seconds.toFixed(2)} s; capi-merge`);
    const out = join(tmp, 'out');
    const glob = join(results, '*.ndjson');
    const core = await measure(['--input-type=module', '-e', MERGE_ONLY, lib, glob, join(out, 'summary-only.txt')]);
    if (core.code !== 0 || Number(core.out) !== total) throw new Error(`merge failed: ${core.err.slice(-500)}`);
    log(`merge ${core.seconds.toFixed(2)} s; capi-merge with the default JSON + CSV + summary reports`);
    const full = await measure([
      bin,
      glob,
      '--output-json',
      join(out, 'merged.json'),
      '--output-csv',
      join(out, 'merged.csv'),
      '--output-report',
      join(out, 'summary.txt'),
      '--quiet',
    ]);
    // Exit 1 is expected: the generated results hold failures and errors.
    if (full.code !== 1) throw new Error(`capi-merge exited ${full.code}: ${full.err.slice(-500)}`);
    const summary = await readFile(join(out, 'summary.txt'), 'utf8');
    if (!summary.includes(`tests:     ${total} `)) throw new Error('capi-merge did not count every test');
    const baseRate = total / base.seconds;
    const row = (name, m, target) => {
      const rate = total / m.seconds;
      return {
        group: 'capi-merge',
        case: `${total.toLocaleString('en-US')} results in ${files} files: ${name}`,
        metric: 'records/s',
        capi: rate,
        baseline: baseRate,
        baselineName: 'bare line-by-line JSON.parse loop',
        ratio: rate / baseRate,
        target: target ? '>= 0.50' : null,
        ok: target ? rate / baseRate >= 0.5 : null,
        // On a shared machine wall time swings with the load; CPU time shows the work done.
        note: `peak RSS ${Math.round(m.rssKb / 1024)} MB (baseline ${Math.round(base.rssKb / 1024)} MB)${
          m.cpu && base.cpu ? `; by CPU time ${(base.cpu / m.cpu).toFixed(2)}` : ''
        }`,
      };
    };
    return [row('merge + summary', core, true), row('CLI, + JSON and CSV reports', full, false)];
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
