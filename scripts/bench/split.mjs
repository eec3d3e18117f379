// capi-split benchmark: rows/s of the built capi-split next to a bare csv-parse loop
// (`columns: true`) over the same generated suite, and the peak RSS of each.
// Run through `npm run bench` (scripts/bench/index.mjs), or alone: node scripts/bench/split.mjs [--quick]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, createWriteStream, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = join(root, 'tools', 'capi-split', 'bin', 'capi-split.js');
const TIME = '/usr/bin/time';
const TARGET_RATIO = 0.7;
// Issue 16: --out with batches of 100 (10,000 files for a million rows).
const TARGET_OUT_RATIO = 0.8;
const TARGET_RSS_MB = 150;

/** A suite with the columns people use: headers as JSON, bodies on some rows, tags, a variable its headers use. */
async function generateSuite(file, rows) {
  const out = createWriteStream(file);
  out.write('id,name,method,url,headers,body,expect_status,tags,region\n');
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    const post = i % 3 === 0;
    chunk += `T${String(i).padStart(7, '0')},get item ${i},${post ? 'POST' : 'GET'},/items/${i},"{""Accept"":""application/json"",""X-Region"":""{{region}}""}",${post ? '"{""n"":1}"' : ''},${post ? '201' : '2xx'},${i % 2 ? 'smoke' : 'slow;items'},eu\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'close');
}

/** The baseline: the loop the issue names, in a process of its own like capi-split. */
function baselineScript(csvParseUrl) {
  return `import { parse } from ${JSON.stringify(csvParseUrl)};
import { createReadStream } from 'node:fs';
let n = 0;
for await (const record of createReadStream(process.argv[2]).pipe(parse({ columns: true }))) n++;
if (n < 1) process.exitCode = 1;
`;
}

/** Runs node with args; returns wall seconds and peak RSS in MB (from /usr/bin/time, or /proc). */
async function measure(args, dir) {
  const rssFile = join(dir, 'rss.txt');
  const useTime = existsSync(TIME);
  const [cmd, argv] = useTime
    ? [TIME, ['-f', '%M', '-o', rssFile, process.execPath, ...args]]
    : [process.execPath, args];
  const devNull = openSync('/dev/null', 'w');
  const started = process.hrtime.bigint();
  const child = spawn(cmd, argv, { stdio: ['ignore', devNull, 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  closeSync(devNull);
  let stderr = '';
  child.stderr.on('data', (b) => {
    stderr += b;
  });
  let polledKb = 0;
  const poll = useTime ? null : setInterval(() => (polledKb = Math.max(polledKb, vmHwm(child.pid))), 100);
  const killer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000);
  const [code] = await once(child, 'close');
  clearTimeout(killer);
  if (poll) clearInterval(poll);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`);
  const kb = useTime ? Number((await readFile(rssFile, 'utf8')).trim().split('\n').pop()) : polledKb;
  return { seconds, rssMb: Math.round(kb / 1024) };
}

function vmHwm(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Keeps the least disturbed of a command's runs (the fastest), and the highest peak RSS seen. */
function keepBest(top, m) {
  return top === null || m.seconds < top.seconds
    ? { ...m, rssMb: Math.max(m.rssMb, top?.rssMb ?? 0) }
    : { ...top, rssMb: Math.max(m.rssMb, top.rssMb) };
}
export default async function bench({ quick = false, log = (t) => process.stderr.write(`${t}\n`) } = {}) {
  const rows = quick ? 20_000 : 1_000_000;
  const runs = quick ? 1 : 3;
  const label = `${rows.toLocaleString('en-US')}-row suite`;
  const dir = await mkdtemp(join(tmpdir(), 'capi-bench-split-'));
  try {
    const suite = join(dir, 'suite.csv');
    log(`capi-split: generating a ${label}`);
    await generateSuite(suite, rows);
    const baseline = join(dir, 'bare-csv-parse.mjs');
    await writeFile(baseline, baselineScript(import.meta.resolve('csv-parse')));
    // Interleaved rounds (bare loop, stdout, --out; again): a busy moment or the disk's
    // writeback hits all three alike, where three runs of one then three of the next let a
    // drift land on one command only. Each --out folder (10,000 files for a million rows) is
    // removed after its run, outside the timing, so its writeback does not fall on the next.
    let bare = null;
    let toStdout = null;
    let toOut = null;
    for (let round = 1; round <= runs; round++) {
      log(
        `capi-split: round ${round} of ${runs}: bare csv-parse loop, capi-split suite.csv > /dev/null, --batch-size 100 --out DIR`,
      );
      bare = keepBest(bare, await measure([baseline, suite], dir));
      toStdout = keepBest(toStdout, await measure([bin, suite], dir));
      const out = join(dir, 'out');
      toOut = keepBest(toOut, await measure([bin, suite, '--batch-size', '100', '--out', out], dir));
      await rm(out, { recursive: true, force: true });
    }
    const rate = (m) => Math.round(rows / m.seconds);
    // The ratio target is for the full suite: on a quick run, process start-up dominates.
    const row = (kase, m, wanted = TARGET_RATIO) => {
      const target = !quick;
      const ratio = Number((rate(m) / rate(bare)).toFixed(2));
      return {
        group: 'capi-split',
        case: kase,
        metric: 'rows/s',
        capi: rate(m),
        baseline: rate(bare),
        baselineName: 'bare csv-parse loop (columns: true)',
        ratio,
        target: target ? `>= ${wanted.toFixed(2)}` : null,
        ok: target ? ratio >= wanted : null,
        note: `peak RSS ${m.rssMb} MB (bare loop ${bare.rssMb} MB)${quick ? '; quick run, no target' : ''}`,
      };
    };
    const rss = (kase, m) => ({
      group: 'capi-split',
      case: kase,
      metric: 'peak RSS MB',
      capi: m.rssMb,
      baseline: bare.rssMb,
      baselineName: 'bare csv-parse loop (columns: true)',
      ratio: null,
      target: `< ${TARGET_RSS_MB}`,
      ok: m.rssMb < TARGET_RSS_MB,
      note: quick ? 'quick run: small suite' : null,
    });
    return [
      row(`${label} → stdout`, toStdout),
      rss(`${label} → stdout`, toStdout),
      row(`${label} → --out, batches of 100`, toOut, TARGET_OUT_RATIO),
      rss(`${label} → --out, batches of 100`, toOut),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await bench({ quick: process.argv.includes('--quick') });
  console.table(rows.map(({ group, baselineName, ...rest }) => rest));
}
