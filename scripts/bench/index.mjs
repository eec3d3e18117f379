#!/usr/bin/env node
// `npm run bench`: runs every scripts/bench/<name>.mjs one after another (never side by
// side: they would steal each other's cores) and prints one table. Each module's default
// export is `async ({ quick, log }) => rows` (docs/benchmarks.md, "How it runs").
import { rmSync } from 'node:fs';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(`usage: npm run bench -- [--quick] [--only split,exec] [--out FILE.md]

  --quick     small sizes, a smoke run of every benchmark (seconds, not minutes)
  --only      run only these benchmarks (file names in scripts/bench without .mjs)
  --out       also write the table as Markdown to FILE.md
`);
  process.exit(0);
}

const log = (text) => process.stderr.write(`bench: ${text}\n`);
// NODE_EXTRA_CA_CERTS (set on some machines for a proxy's certificate) makes every Node
// process read and parse a certificate file as it starts: 50-60 ms of CPU a start here,
// paid by every capi process and every baseline alike, none of which speaks TLS in a
// benchmark. Unset for every benchmark (startup.mjs has unset it since issue 15), so
// that fixed costs are capi's own; a machine that sets it pays that much per process.
if (process.env.NODE_EXTRA_CA_CERTS !== undefined) {
  log('NODE_EXTRA_CA_CERTS is unset for every command (see scripts/bench/index.mjs)');
  delete process.env.NODE_EXTRA_CA_CERTS;
}
// capi-exec's code cache (docs/capi-exec.md, "Start-up and the code cache"): a folder of the
// bench's own, removed at its end, so that a bench neither reads nor writes the user's
// ~/.cache/capi and every run starts alike (startup.mjs times with and without a cache).
const codeCache = await mkdtemp(join(tmpdir(), 'capi-bench-code-cache-'));
process.env.CAPI_CODE_CACHE = join(codeCache, 'capi');
process.once('exit', () => rmSync(codeCache, { recursive: true, force: true }));
const order = ['split', 'exec', 'merge', 'launch', 'hosts', 'watch', 'startup'];
const found = (await readdir(here)).filter((f) => f.endsWith('.mjs') && f !== 'index.mjs').map((f) => f.slice(0, -4));
const wanted = values.only ? values.only.split(',').map((s) => s.trim()) : found;
for (const name of wanted) if (!found.includes(name)) log(`no benchmark named "${name}" (have: ${found.join(', ')})`);
const names = found
  .filter((n) => wanted.includes(n))
  .sort((a, b) => ((order.indexOf(a) + 99) % 99) - ((order.indexOf(b) + 99) % 99));

const fmt = (v) => {
  if (v === null || v === undefined || v === '') return '';
  if (typeof v === 'boolean') return v ? 'yes' : 'NO';
  if (typeof v !== 'number') return String(v);
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return Number(v.toFixed(2)).toString();
};
const columns = ['group', 'case', 'metric', 'capi', 'baseline', 'baselineName', 'ratio', 'target', 'ok', 'note'];
const titles = ['tool', 'case', 'metric', 'capi', 'baseline', 'baseline is', 'ratio', 'target', 'met', 'note'];

const rows = [];
let failedModules = 0;
for (const name of names) {
  log(`${name}: starting${values.quick ? ' (quick)' : ''}`);
  const started = Date.now();
  try {
    const mod = await import(pathToFileURL(join(here, `${name}.mjs`)).href);
    const got = await mod.default({ quick: values.quick, log: (t) => log(`${name}: ${t}`) });
    rows.push(...got);
    log(`${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    failedModules++;
    log(`${name}: FAILED: ${err?.stack ?? err}`);
    rows.push({ group: name, case: 'benchmark failed to run', note: String(err?.message ?? err).slice(0, 80) });
  }
}

const cells = rows.map((r) => columns.map((c) => fmt(r[c])));
const widths = titles.map((t, i) => Math.max(t.length, ...cells.map((row) => row[i].length)));
const line = (vals) => `| ${vals.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
const table = [line(titles), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
process.stdout.write(`${table}\n`);
if (values.out) {
  const meta = `Measured ${new Date().toISOString()} on Node ${process.version}, ${(await import('node:os')).cpus().length} cores${values.quick ? ', --quick sizes' : ''}.\n\n`;
  await writeFile(values.out, `${meta}${table}\n`);
}
const missed = rows.filter((r) => r.ok === false).length;
if (missed) log(`${missed} target(s) not met`);
process.exitCode = failedModules ? 1 : 0;
