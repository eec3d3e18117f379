import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { collect, killAll, runTool, tempDir } from '@capi/testkit';
import { lines, result, testRecord, writeRun } from './test-support/fixture-run.js';

const chromium = ['chromium', 'chromium-browser'].find((c) => spawnSync('which', [c]).status === 0);
const skip = chromium ? false : 'chromium not installed (CI installs Debian chromium)';

// If any of these ran, it would mark the page; the test checks that no mark is there.
const hostileName = `<img src=x onerror="document.body.setAttribute('data-pwned','img')"></script><script>document.body.setAttribute('data-pwned','script')</script>`;
const hostileActual = `\u001b[31m<svg onload="document.body.setAttribute('data-pwned','svg')">`;

let tmp: { path: string; cleanup: () => Promise<void> };
let htmlPath = '';
let html = '';

before(async () => {
  tmp = await tempDir('capi-merge-html-');
  const ids = Array.from({ length: 40 }, (_, i) => `H${i}`);
  const run = await writeRun(join(tmp.path, 'run'), {
    batches: { batch_0001: [...ids.map((id) => testRecord(id)), testRecord('H-missing')] },
    results: {
      'batch_0001.ndjson': lines(
        ids.map((id, i) =>
          result(id, i % 10 === 3 ? 'failed' : 'passed', i * 0.05, {
            durationMs: 20 + i * 3,
            name: i === 3 ? hostileName : `get ${id}`,
            tags: ['smoke'],
            ...(i % 10 === 3 ? { failures: [{ check: 'body', expected: 'ok', actual: hostileActual }] } : {}),
          }),
        ),
      ),
    },
  });
  htmlPath = join(tmp.path, 'report.html');
  const r = await runTool('capi-merge', [run, '--html', htmlPath]);
  assert.equal(r.code, 1, r.stderr);
  html = await readFile(htmlPath, 'utf8');
});
after(async () => {
  killAll();
  await tmp.cleanup();
});

test('the page is self-contained: no network reference, a CSP that forbids fetching', () => {
  assert.doesNotMatch(html, /(src|href)=["']?(https?:)?\/\//i);
  assert.doesNotMatch(html, /<link\b/i);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  // Test data only appears escaped: JSON with \u003c inside the data block, entities elsewhere.
  assert.ok(!html.includes('<img src=x'));
  assert.ok(!html.includes('</script><script>document'));
  assert.ok(!html.includes('\u001b'));
});

test('the page stays bounded: at most 5,000 rows, failures first, each cell cut, for 6,000 tests with long names', async () => {
  const big = join(tmp.path, 'big.ndjson');
  const long = 'n'.repeat(5000);
  await writeFile(
    big,
    lines(
      Array.from({ length: 6000 }, (_, i) =>
        result(`B${i}`, i >= 5990 ? 'failed' : 'passed', i * 0.001, { name: `${long}${i}` }),
      ),
    ),
  );
  const out = join(tmp.path, 'big.html');
  const r = await runTool('capi-merge', [big, '--html', out, '--output-json', join(tmp.path, 'big.json')]);
  assert.equal(r.code, 1, r.stderr);
  const page = await readFile(out, 'utf8');
  const rows = page.match(/<tr class="st-[a-z]+">/g) ?? [];
  assert.equal(rows.length, 5000);
  assert.equal((page.match(/<tr class="st-failed">/g) ?? []).length, 10);
  assert.ok(page.indexOf('<tr class="st-failed">') < page.indexOf('<tr class="st-passed">'), 'failures first');
  assert.match(page, /the first 5000 of 6000, failures first/);
  assert.ok(!page.includes('n'.repeat(400)), 'a cell is cut');
  assert.ok(page.length < 3_000_000, `${page.length} bytes`);
});

/**
 * A fresh profile; with `js: false` its content settings block JavaScript (the way a
 * browser or a CSP that forbids scripts shows the page: `--blink-settings=scriptEnabled=false`
 * with --dump-dom prints nothing on this Chromium).
 */
async function profile(name: string, js: boolean): Promise<string> {
  const dir = join(tmp.path, name);
  await mkdir(join(dir, 'Default'), { recursive: true });
  if (!js)
    await writeFile(
      join(dir, 'Default', 'Preferences'),
      JSON.stringify({ profile: { default_content_setting_values: { javascript: 2 } } }),
    );
  return dir;
}

async function dumpDom(url: string, name: string, js = true) {
  const child = spawn(
    chromium as string,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${await profile(name, js)}`,
      '--virtual-time-budget=5000',
      '--dump-dom',
      url,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return collect(child, { timeoutMs: 60_000 });
}

/** The ids of the table's rows in DOM order, and of those not hidden. */
function tableIds(dom: string): { all: string[]; visible: string[] } {
  const rows = [...dom.matchAll(/<tr class="st-[a-z]+"( hidden="")?><td>([^<]*)<\/td>/g)];
  return { all: rows.map((m) => m[2] as string), visible: rows.filter((m) => !m[1]).map((m) => m[2] as string) };
}

/** What must be in the DOM whether scripts run or not: server-rendered charts, failures and rows. */
function assertServerRendered(dom: string): void {
  const has = (re: RegExp, what: string) => assert.ok(re.test(dom), `rendered page lacks ${what}`);
  const body = /<body[^>]*>/.exec(dom)?.[0] ?? '';
  assert.doesNotMatch(body, /data-pwned/);
  assert.equal((dom.match(/<tr class="st-/g) ?? []).length, 41);
  // Failures first, then the rest; the hostile name and response text are text cells.
  has(
    /<tr class="st-failed"><td>H3<\/td><td>&lt;img src=x onerror="document\.body\.setAttribute\('data-pwned','img'\)"&gt;&lt;\/script&gt;&lt;script&gt;/,
    'the hostile name as text in the first row',
  );
  has(/<td>body: expected ok, got &lt;svg onload=/, 'the failure as text without its escape sequence');
  has(/<tr class="st-missing"><td>H-missing<\/td>/, 'the missing test');
  has(/<td class="num">4<\/td><td>body expected ok, got &lt;svg onload=/, 'the failure group');
  has(/<td>H3: body: expected ok, got &lt;svg onload=/, "the group's example with its real value");
  assert.ok(!/<img\b/i.test(dom), 'an <img> element was created from data');
  assert.ok(!dom.includes('\u001b'), 'an escape character reached the page');
  assert.equal((dom.match(/<svg[^>]*class="chart"/g) ?? []).length, 3);
  has(/<polyline points="[\d., ]+"/, 'the throughput line');
  // The status chart: a bar per status, its count in the title.
  has(/<rect [^>]*fill="#c62828"><title>failed: 4<\/title><\/rect>/, 'the failed bar');
}

test('a profile that blocks JavaScript really runs no script (the probe page stays as written)', { skip }, async () => {
  const probe = join(tmp.path, 'probe.html');
  await writeFile(
    probe,
    '<!doctype html><html><body><p id="probe">no script ran</p><script>document.getElementById("probe").textContent = "a script ran";</script></body></html>',
  );
  const off = await dumpDom(pathToFileURL(probe).href, 'probe-off', false);
  assert.equal(off.code, 0, off.stderr.slice(-2000));
  assert.match(off.stdout, /<p id="probe">no script ran<\/p>/);
  const on = await dumpDom(pathToFileURL(probe).href, 'probe-on', true);
  assert.match(on.stdout, /<p id="probe">a script ran<\/p>/);
});

test('with JavaScript off (a blocking CSP, Jenkins): the charts, the failures and every row are there', {
  skip,
}, async () => {
  const r = await dumpDom(pathToFileURL(htmlPath).href, 'profile-nojs', false);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const body = /<body[^>]*>/.exec(r.stdout)?.[0] ?? '';
  assert.match(body, /data-rendered="false"/, 'the script did not run');
  assertServerRendered(r.stdout);
  // The search tools do nothing without scripts, so they stay hidden.
  assert.match(r.stdout, /<p class="tools" hidden="">/);
  assert.equal(tableIds(r.stdout).visible.length, 41);
});

test('with JavaScript on: the same page, and the search and status filter tools show', { skip }, async () => {
  const r = await dumpDom(pathToFileURL(htmlPath).href, 'profile');
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const body = /<body[^>]*>/.exec(r.stdout)?.[0] ?? '';
  assert.match(body, /data-rendered="true"/);
  assert.match(body, /data-rows="41"/);
  assert.match(body, /data-visible-rows="41"/);
  assertServerRendered(r.stdout);
  assert.match(r.stdout, /<p class="tools">/);
});

test('the table filter works: #q=failed in the link shows only the failed tests', { skip }, async () => {
  const r = await dumpDom(`${pathToFileURL(htmlPath).href}#q=failed`, 'profile-filter');
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const body = /<body[^>]*>/.exec(r.stdout)?.[0] ?? '';
  assert.match(body, /data-rendered="true"/);
  assert.match(body, /data-visible-rows="4"/);
  assert.match(r.stdout, /<span id="shown">4<\/span>/);
  assert.equal((r.stdout.match(/<tr class="st-passed" hidden="">/g) ?? []).length, 36);
});

test('the status filter and sorting: #status=passed&sort=-ms lists the passed tests slowest first', {
  skip,
}, async () => {
  const r = await dumpDom(`${pathToFileURL(htmlPath).href}#status=passed&sort=-ms`, 'profile-sort');
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const { all, visible } = tableIds(r.stdout);
  assert.equal(all.length, 41);
  // durationMs is 20 + 3i: H39 is the slowest; H3, H13, H23, H33 failed and are hidden.
  const passed = Array.from({ length: 40 }, (_, i) => i)
    .filter((i) => i % 10 !== 3)
    .reverse()
    .map((i) => `H${i}`);
  assert.deepEqual(visible, passed);
  assert.match(r.stdout, /<th class="num" tabindex="0" aria-sort="descending">ms<\/th>/);
  const missing = await dumpDom(`${pathToFileURL(htmlPath).href}#status=missing`, 'profile-missing');
  assert.deepEqual(tableIds(missing.stdout).visible, ['H-missing']);
});
