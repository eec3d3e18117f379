import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runTool } from '@capi/testkit';
import { fileScope, get, ndjson } from './test-support/fixtures.js';

// Never leak a secret (issue 10): a hostile API echoes every secret in every encoding, at
// every offset around the 200-character cut; nothing of 6 characters of any secret may
// reach stdout, stderr, the journal, the heartbeat or any capi-merge output.
const scope = fileScope();

const LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const word = (n: number) => Array.from({ length: n }, () => LETTERS[randomInt(LETTERS.length)]).join('');
/** 40 characters, with characters that JSON, `\/` and percent encoding all change. */
const secret = () => `${word(8)}/${word(8)}"${word(6)}\\${word(6)}+${word(4)}=${word(4)}`;

const secrets = {
  envBearer: secret(), // Authorization: Bearer {{env.CAPI_TOKEN}} via --header
  vault: secret(), // X-Vault-Token in a row
  privateToken: secret(), // Private-Token via --header, literal
  apim: secret(), // Ocp-Apim-Subscription-Key in a row
  access: secret(), // X-Access-Token in a row
  basicPass: secret(), // the password of Basic auth in a row
  // in a URL: percent-encoded on the way (space, ", <, {, })
  inUrl: `${word(6)} ${word(6)}"${word(6)}<${word(6)}{${word(6)}}`,
};
type Key = keyof typeof secrets;

const FORMS: Record<string, (s: string) => string> = {
  raw: (s) => s,
  json: (s) => JSON.stringify(s).slice(1, -1),
  slash: (s) => JSON.stringify(s).slice(1, -1).replaceAll('/', '\\/'),
  percent: (s) => encodeURIComponent(s),
  percentLower: (s) => encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
  basic: (s) => Buffer.from(`someone:${s}`).toString('base64'),
};

/** Echoes secret `k` in form `f` after `off` characters; `/json` inside a JSON document; `/500` as a 500. */
async function echoServer() {
  return scope.server((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const k = u.searchParams.get('k') as Key | null;
    const off = Number(u.searchParams.get('off') ?? 0);
    if (u.pathname.startsWith('/url')) {
      res.writeHead(404).end(`${'x'.repeat(off)}no such thing: ${req.url}`);
      return;
    }
    const value = k ? (FORMS[u.searchParams.get('f') ?? 'raw'] as (s: string) => string)(secrets[k]) : '';
    if (u.pathname === '/json') res.end(JSON.stringify({ pad: 'x'.repeat(off), echo: secrets[k as Key] }));
    else res.writeHead(u.pathname === '/500' ? 500 : 200).end(`${'x'.repeat(off)}${value}${'y'.repeat(300)}`);
  });
}

function rows(): Array<Record<string, unknown>> {
  const b64 = Buffer.from(`someone:${secrets.basicPass}`).toString('base64');
  const headersFor: Record<Key, Record<string, string>> = {
    envBearer: {},
    privateToken: {},
    vault: { 'X-Vault-Token': secrets.vault },
    apim: { 'Ocp-Apim-Subscription-Key': secrets.apim },
    access: { 'X-Access-Token': secrets.access },
    basicPass: { Authorization: `Basic ${b64}` },
    inUrl: {},
  };
  const out: Array<Record<string, unknown>> = [];
  let n = 0;
  for (const k of Object.keys(secrets) as Key[]) {
    if (k === 'inUrl') continue;
    const headers = headersFor[k];
    for (const f of Object.keys(FORMS))
      for (let off = 150; off <= 215; off += off < 180 || off >= 205 ? 5 : 1) {
        const q = `?k=${k}&f=${f}&off=${off}`;
        out.push(get(`b${n++}`, `/body${q}`, { request: { headers }, expect: { body: 'never-there' } }));
        if (off % 5 === 0) out.push(get(`s${n++}`, `/500${q}`, { request: { headers } }));
      }
    for (const off of [0, 150, 190, 199])
      out.push(
        get(`j${n++}`, `/json?k=${k}&off=${off}`, { request: { headers }, expect: { json: '{"echo":"other"}' } }),
      );
  }
  for (const off of [0, 150, 175, 185, 195])
    out.push(get(`u${n++}`, `/url/{{env.CAPI_URL_KEY}}?off=${off}&q={{env.CAPI_URL_KEY}}`));
  // the secret in an expectation: shown in `expected`
  out.push(get(`e${n++}`, '/body?k=envBearer&off=0', { expect: { body: 'no {{env.CAPI_TOKEN}} here' } }));
  return out;
}

function leaks(name: string, text: string): string[] {
  const found: string[] = [];
  for (const [k, s] of Object.entries(secrets)) {
    for (let i = 0; i + 6 <= s.length; i++) {
      const part = s.slice(i, i + 6);
      const at = text.indexOf(part);
      if (at !== -1) {
        found.push(`${name}: ${k}[${i}..${i + 6}] "${part}" in …${text.slice(Math.max(0, at - 40), at + 46)}…`);
        break;
      }
    }
  }
  const b64 = Buffer.from(`someone:${secrets.basicPass}`).toString('base64');
  if (text.includes(b64.slice(8, 30))) found.push(`${name}: base64 of user:pass`);
  return found;
}

/** The text of a file, and for JSON and NDJSON also every string in it decoded. */
async function texts(path: string): Promise<string> {
  const text = await readFile(path, 'utf8');
  const strings: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') strings.push(v);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  for (const line of text.split('\n')) {
    try {
      walk(JSON.parse(line));
    } catch {
      // not a JSON line
    }
  }
  try {
    walk(JSON.parse(text));
  } catch {
    // not one JSON document
  }
  return `${text}\n${strings.join('\n')}`;
}

test('no 6 characters of any secret reach stdout, stderr, journal, heartbeat or capi-merge reports', async () => {
  const s = await echoServer();
  const dir = await scope.scratch();
  const journal = join(dir, 'results', 'j.ndjson');
  const status = join(dir, 'status.json');
  const env = { CAPI_TOKEN: secrets.envBearer, CAPI_URL_KEY: secrets.inUrl };
  const input = ndjson(rows());
  const r = await runTool(
    'capi-exec',
    [
      ...['--base-url', s.url, '--journal', journal, '--status', status, '--retries', '0'],
      ...['--header', 'Authorization: Bearer {{env.CAPI_TOKEN}}', '--header', `Private-Token: ${secrets.privateToken}`],
    ],
    { input, env },
  );
  assert.equal(r.code, 1, r.stderr);
  // a few must show that the texts are there at all, redacted
  assert.match(r.stdout, /xxxx\[redacted\]/);
  assert.match(r.stdout, /"actual":"500, body: x+/);
  const report = join(dir, 'report');
  const m = await runTool('capi-merge', [
    journal,
    ...['--output-json', join(report, 'a.json'), '--output-csv', join(report, 'a.csv')],
    ...['--output-report', join(report, 'a.txt'), '--junit', join(report, 'a.xml'), '--html', join(report, 'a.html')],
  ]);
  assert.equal(m.code, 1, m.stderr);
  const found = [...leaks('stdout', r.stdout), ...leaks('stderr', r.stderr), ...leaks('merge stderr', m.stderr)];
  found.push(...leaks('journal', await texts(journal)), ...leaks('heartbeat', await texts(status)));
  for (const f of await readdir(report)) found.push(...leaks(f, await texts(join(report, f))));
  assert.deepEqual(found, []);
});

test('a body cut at --max-body in the middle of a secret loses the tail that starts it', async () => {
  const s = await echoServer();
  const input = ndjson(
    Array.from({ length: 24 }, (_, i) =>
      get(`m${i}`, `/body?k=envBearer&f=${i % 2 ? 'percent' : 'raw'}&off=${180 + i}`, {
        expect: { body: 'never-there' },
      }),
    ),
  );
  const r = await runTool(
    'capi-exec',
    ['--base-url', s.url, '--max-body', '200', '--header', 'Authorization: Bearer {{env.CAPI_TOKEN}}'],
    { input, env: { CAPI_TOKEN: secrets.envBearer } },
  );
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(leaks('stdout', r.stdout), []);
  const shown = r.stdout.split('\n').filter((l) => l.includes('cut at --max-body'));
  assert.equal(shown.length, 24);
});

test('a short env value is not redacted (and says so); --var values are plain; a long one always is', async () => {
  const s = await echoServer();
  const dir = await scope.scratch();
  const vars = join(dir, 'vars.env');
  await writeFile(vars, '# plain values\nexport item=item-5\nzone="north"\n');
  const input = ndjson([
    get('short', '/url/{{env.CAPI_REGION}}/{{var.zone}}/{{var.item}}/{{var.region}}?off=0', {
      expect: { status: '200' },
    }),
  ]);
  const r = await runTool('capi-exec', ['--base-url', s.url, '--vars', vars, '--var', 'region=eu-west'], {
    input,
    env: { CAPI_REGION: 'eu' },
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /no such thing: \/url\/eu\/north\/item-5\/eu-west/);
  assert.match(r.stderr, /warning: \{\{env\.CAPI_REGION\}\} is shorter than 6 characters and is not redacted/);
});

test('a secret put unencoded in a URL query is redacted in the parts a server reads it as', async () => {
  // `&`, `=`, `;` cut it into parameters, `+` reads as a space, `%41` as `A`: an API that
  // echoes its parsed query sends the parts back apart, none of them the whole secret.
  const key = `${word(8)}&${word(7)}=${word(6)}+${word(6)};${word(6)}%41${word(5)}&ab=cd&t=${word(4)}%26${word(4)}&z=100%${word(6)}`;
  const s = await scope.server((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const parsed = [...u.searchParams].flatMap(([k, v]) => [k, v]);
    const semis = u.search.slice(1).split(/[&;]/);
    res.writeHead(u.pathname === '/404' ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ parsed, semis, raw: u.search }));
  });
  const dir = await scope.scratch();
  const journal = join(dir, 'j.ndjson');
  const input = ndjson([
    get('q1', '/200?q={{env.CAPI_Q}}', { expect: { json: '{"parsed":["none"]}' } }),
    get('q2', '/404?q={{env.CAPI_Q}}'),
    get('q3', '/200?q={{env.CAPI_Q}}', { expect: { body: 'never-there' } }),
  ]);
  const r = await runTool('capi-exec', ['--base-url', s.url, '--journal', journal, '--retries', '0'], {
    input,
    env: { CAPI_Q: key },
  });
  assert.equal(r.code, 1, r.stderr);
  // the server's parts as it read them, 6 characters or more (shorter ones are not secrets)
  const parts = [...new URLSearchParams(`q=${key}`), ...new URLSearchParams(`q=${key}`.replaceAll(';', '&'))]
    .flatMap(([k, v]) => [k, v])
    .filter((p) => p.length >= 6 && p !== 'none');
  assert.ok(parts.length >= 7, String(parts));
  const all = `${r.stdout}\n${r.stderr}\n${await texts(journal)}`;
  for (const p of parts) assert.ok(!all.includes(p), `"${p}" leaked: ${all.slice(0, 2000)}`);
  // the answers were there, redacted
  assert.match(r.stdout, /\[redacted\]/);
  assert.equal(r.stdout.trim().split('\n').length, 3);
});

test('a secret in a form body is redacted as the server parsed it; in a JSON body or a header it is not cut', async () => {
  const key = `${word(8)}&${word(7)}=${word(6)}%26${word(6)}`;
  const dsn = `host=db.local&sslmode=require&password=${word(10)}`;
  const s = await scope.server((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c;
    });
    req.on('end', () => {
      const form = [...new URLSearchParams(body)].flatMap(([k, v]) => [k, v]);
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ form, note: 'sslmode must be require', header: req.headers['x-api-key'] }));
    });
  });
  const post = (id: string, body: string, headers: Record<string, string> = {}) =>
    get(id, '/login', { request: { method: 'POST', body, headers } });
  const input = ndjson([
    post('form', 'grant_type=client_credentials&client_secret={{env.CAPI_SECRET}}', {
      'content-type': 'application/x-www-form-urlencoded',
    }),
    post('json', '{"dsn":"{{env.CAPI_DSN}}"}'),
    post('header', 'x=1', { 'X-Api-Key': '{{env.CAPI_DSN}}' }),
  ]);
  const r = await runTool('capi-exec', ['--base-url', s.url, '--retries', '0'], {
    input,
    env: { CAPI_SECRET: key, CAPI_DSN: dsn },
  });
  assert.equal(r.code, 1, r.stderr);
  // the secret's parts as the server parsed them (the name client_secret is the suite's, not the secret's)
  const parts = [...new URLSearchParams(`client_secret=${key}`)]
    .flatMap(([k, v]) => [k, v])
    .filter((p) => p.length >= 6 && p !== 'client_secret');
  assert.ok(parts.length >= 3, String(parts));
  for (const p of parts) assert.ok(!r.stdout.includes(p), `"${p}" leaked: ${r.stdout}`);
  // the DSN was read only into a JSON body and a header: its words stay words
  const rows = r.stdout.trim().split('\n');
  assert.equal(rows.length, 3);
  for (const row of rows.slice(1)) assert.match(row, /sslmode must be require/);
});
