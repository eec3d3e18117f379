import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRelativeUrl } from '@capi/core';
import { BadUrl, encodeTarget, parseBaseUrl, requestTarget } from './target.js';

const base = parseBaseUrl('http://127.0.0.1:8080/api/');
/** What a WHATWG parser (Node's URL) sends for the same reference under the base. */
const whatwg = (ref: string) => {
  const u = new URL(`http://127.0.0.1:8080/api${ref}`);
  return `${u.pathname}${u.search}`;
};

test('a relative URL is encoded as WHATWG URL parsing encodes it, character by character', () => {
  const chars = [...Array.from({ length: 128 }, (_, c) => String.fromCharCode(c)), 'ü', '€', '😀', '\ud800'];
  // `/`, `.` and `\` shape the path (dot segments, backslash as slash), `#` and `?` split it: tested below.
  for (const ch of chars.filter((c) => !'/.\\#?'.includes(c))) {
    for (const ref of [`/a${ch}b`, `/p?q=x${ch}y`]) {
      assert.equal(requestTarget(ref, base).path, whatwg(ref), JSON.stringify(ref));
    }
  }
});

test('%-escapes and reserved characters stay; the fragment is dropped; spaces around are trimmed', () => {
  const cases: Array<[string, string]> = [
    ['/echo?q=a b', '/api/echo?q=a%20b'],
    ['/echo?q=%2F&r=%zz&s=a+b;c=d', '/api/echo?q=%2F&r=%zz&s=a+b;c=d'],
    ['/x/{id}?q={v}', '/api/x/%7Bid%7D?q={v}'],
    ['/x?a=1?b=2', '/api/x?a=1?b=2'],
    ['/x?q=C#frag ment', '/api/x?q=C'],
    ['  /x?q=1 \n', '/api/x?q=1'],
    ['/a\tb', '/api/ab'],
    ['items/ü', '/api/items/%C3%BC'],
    ["/it's?q=it's", "/api/it's?q=it%27s"],
  ];
  for (const [ref, path] of cases) assert.equal(requestTarget(ref, base).path, path, ref);
  assert.equal(encodeTarget('/plain/path?q=1&r=2'), '/plain/path?q=1&r=2');
});

test('an absolute URL is parsed by URL; another scheme is BAD_URL; a relative one without a base too', () => {
  assert.deepEqual(requestTarget(' http://h:1/a b?q=ü#x ', null), { origin: 'http://h:1', path: '/a%20b?q=%C3%BC' });
  assert.throws(() => requestTarget('ftp://h/x', base), BadUrl);
  assert.throws(() => requestTarget('/x', null), /relative URL "\/x" needs --base-url or CAPI_BASE_URL/);
  assert.equal(isRelativeUrl(' /x'), true);
  assert.equal(isRelativeUrl('HTTPS://h/x'), false);
  assert.equal(isRelativeUrl('mailto:a@b'), false);
});
