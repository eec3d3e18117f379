import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCredentialName } from './credential-name.js';
import { envAllowed, envNamesIn, envProblem, parseAllowEnv } from './env-access.js';
import { normalizeTestRecord } from './validate.js';

test('credential header names by pattern, not a list', () => {
  for (const name of [
    'Authorization',
    'proxy-authorization',
    'X-Api-Key',
    'X-Access-Token',
    'Private-Token',
    'X-Vault-Token',
    'Ocp-Apim-Subscription-Key',
    'Cookie',
    'Set-Cookie',
    'X-Session-Id',
    'X-Amz-Signature',
    'X-Client-Secret',
    'X-Password',
    'X-Auth',
    'X-JWT-Assertion',
  ])
    assert.equal(isCredentialName(name), true, name);
  for (const name of ['Accept', 'Content-Type', 'X-Region', 'User-Agent', 'Keep-Alive', 'X-Request-Id'])
    assert.equal(isCredentialName(name), false, name);
});

test('--allow-env: names, prefixes with *, and CAPI_ always', () => {
  const allow = parseAllowEnv(['API_TOKEN, OTHER', 'MYAPP_*']);
  assert.ok(typeof allow !== 'string');
  for (const name of ['API_TOKEN', 'OTHER', 'MYAPP_KEY', 'CAPI_ANYTHING']) assert.equal(envAllowed(name, allow), true);
  for (const name of ['HOME', 'API_TOKEN2', 'AWS_SECRET_ACCESS_KEY', 'capi_lower'])
    assert.equal(envAllowed(name, allow), false, name);
  assert.match(parseAllowEnv(['A B']) as string, /"A B" is not a variable name/);
  assert.match(parseAllowEnv(['$(id)']) as string, /not a variable name/);
});

test('envProblem: the first env reference not allowed or not set, with its field', () => {
  assert.deepEqual(envNamesIn('a {{env.X}} b {{ env.Y_2 }} {{z}}'), ['X', 'Y_2']);
  const rec = normalizeTestRecord(
    {
      id: 't',
      request: { method: 'GET', url: '/a/{{env.CAPI_A}}', headers: { 'X-K': '{{env.KEY}}' } },
      expect: { body: '{{env.LATER}}' },
    },
    0,
  );
  const none = { names: new Set<string>(), prefixes: [] };
  assert.deepEqual(envProblem(rec, {}, none), { name: 'CAPI_A', field: 'request.url', why: 'not set' });
  assert.deepEqual(envProblem(rec, { CAPI_A: '1' }, none), {
    name: 'KEY',
    field: 'request.headers.X-K',
    why: 'not allowed',
  });
  const allow = { names: new Set(['KEY', 'LATER']), prefixes: [] };
  assert.deepEqual(envProblem(rec, { CAPI_A: '1', KEY: 'k' }, allow), {
    name: 'LATER',
    field: 'expect.body',
    why: 'not set',
  });
  assert.equal(envProblem(rec, { CAPI_A: '1', KEY: 'k', LATER: '' }, allow), null);
});
