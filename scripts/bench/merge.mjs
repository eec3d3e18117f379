// Benchmark of capi-merge: merging N result records spread over F files, against a bare
// line-by-line JSON.parse loop over the same files in the same run. Targets (issue 16):
// the merge + summary and the full command with JSON and CSV reports each at >= 0.50 of
// the bare loop, and under 150 MB peak RSS, also with every report (JUnit, HTML too).
// All run as child processes of the same node, in rounds (bare loop, merge, command, one
// after the other), so a busy moment hits them alike; the ratio is the median of the
// rounds' ratios and the note gives their spread. Peak RSS is the highest of the rounds.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'tools', 'capi-merge', 'bin', 'capi-merge.js');

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

const TARGET_RATIO = 0.5;
const TARGET_RSS_MB = 150;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mb = (kb) => Math.round(kb / 1024);

export default async function bench({ quick, log }) {
  const total = quick ? 20_000 : 1_000_000;
  const files = quick ? 10 : 100;
  const rounds = quick ? 1 : 3;
  const tmp = await mkdtemp(join(tmpdir(), 'capi-bench-merge-'));
  try {
    const results = join(tmp, 'results');
    log(`generating ${total.toLocaleString('en-US')} result records in ${files} files`);
    const bytes = await generate(results, total, files);
    log(`${(bytes / 1e6).toFixed(0)} MB; ${rounds} rounds of: bare JSON.parse loop, merge + summary, the command`);
    const out = join(tmp, 'out');
    const glob = join(results, '*.ndjson');
    const runs = { base: [], core: [], full: [] };
    for (let r = 0; r < rounds; r++) {
      const base = await measure(['--input-type=module', '-e', BASELINE, results]);
      if (base.code !== 0 || Number(base.out) !== total) throw new Error(`baseline failed: ${base.err.slice(-500)}`);
      // The merge itself (read, validate, dedupe, summarize, the text summary): the command
      // asked for the text report only writes nothing else.
      const core = await measure([bin, glob, '--output-report', join(out, 'summary-only.txt'), '--quiet']);
      if (core.code !== 1) throw new Error(`capi-merge (text report) exited ${core.code}: ${core.err.slice(-500)}`);
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
      runs.base.push(base);
      runs.core.push(core);
      runs.full.push(full);
      log(
        `round ${r + 1}: bare ${base.seconds.toFixed(2)} s, merge ${core.seconds.toFixed(2)} s, command ${full.seconds.toFixed(2)} s`,
      );
    }
    // Every report: the peak RSS with JUnit and HTML as well (once: it has no speed target).
    const every = await measure([
      bin,
      glob,
      '--output-json',
      join(out, 'every.json'),
      '--output-csv',
      join(out, 'every.csv'),
      '--output-report',
      join(out, 'every.txt'),
      '--junit',
      join(out, 'every.xml'),
      '--html',
      join(out, 'every.html'),
      '--quiet',
    ]);
    if (every.code !== 1) throw new Error(`capi-merge (every report) exited ${every.code}: ${every.err.slice(-500)}`);
    const baseRss = Math.max(...runs.base.map((m) => m.rssKb));
    const speedRow = (name, ms) => {
      const ratios = ms.map((m, r) => runs.base[r].seconds / m.seconds);
      const cpu = ms.map((m, r) => (m.cpu && runs.base[r].cpu ? runs.base[r].cpu / m.cpu : null));
      const ratio = median(ratios);
      const rate = total / median(ms.map((m) => m.seconds));
      return {
        group: 'capi-merge',
        case: `${total.toLocaleString('en-US')} results in ${files} files: ${name}`,
        metric: 'records/s',
        capi: rate,
        baseline: total / median(runs.base.map((m) => m.seconds)),
        baselineName: 'bare line-by-line JSON.parse loop',
        ratio,
        target: quick ? null : `>= ${TARGET_RATIO.toFixed(2)}`,
        ok: quick ? null : ratio >= TARGET_RATIO,
        // On a shared machine wall time swings with the load; CPU time shows the work done.
        note: `median of ${rounds}: ${ratios.map((x) => x.toFixed(2)).join(', ')}${
          cpu.every((x) => x !== null) ? `; by CPU time ${cpu.map((x) => x.toFixed(2)).join(', ')}` : ''
        }${quick ? '; quick run, no target' : ''}`,
      };
    };
    const rssRow = (name, ms) => {
      const peak = Math.max(...ms.map((m) => m.rssKb));
      return {
        group: 'capi-merge',
        case: `${total.toLocaleString('en-US')} results in ${files} files: ${name}`,
        metric: 'peak RSS MB',
        capi: mb(peak),
        baseline: mb(baseRss),
        baselineName: 'bare line-by-line JSON.parse loop',
        ratio: null,
        target: `< ${TARGET_RSS_MB}`,
        ok: mb(peak) < TARGET_RSS_MB,
        note: `highest of ${ms.length}: ${ms.map((m) => mb(m.rssKb)).join(', ')} MB`,
      };
    };
    return [
      speedRow('merge + summary', runs.core),
      rssRow('merge + summary', runs.core),
      speedRow('CLI, + JSON and CSV reports', runs.full),
      rssRow('CLI, + JSON and CSV reports', runs.full),
      rssRow('CLI, every report (+ JUnit, HTML)', [every]),
    ];
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await bench({ quick: process.argv.includes('--quick'), log: (t) => process.stderr.write(`${t}\n`) });
  console.table(rows.map(({ group, baselineName, ...rest }) => rest));
}
