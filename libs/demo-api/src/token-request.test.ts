import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTokenRequest } from './token-request.js';

const form = 'application/x-www-form-urlencoded';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

function request(contentType: string | undefined, body: string, authorization?: string) {
  const parsed = parseTokenRequest(contentType, body, authorization);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.request;
}

function problem(contentType: string | undefined, body: string, authorization?: string): string {
  const parsed = parseTokenRequest(contentType, body, authorization);
  assert.ok(!parsed.ok, JSON.stringify(parsed));
  return parsed.description;
}

test('token request: form body, percent- and plus-encoded, with a charset parameter', () => {
  const r = request(`${form}; charset=UTF-8`, 'grant_type=client_credentials&client_id=a%2Bb&client_secret=s+p%C3%A9');
  assert.deepEqual(r, { grantType: 'client_credentials', clientId: 'a+b', clientSecret: 's pé', basic: false });
  assert.equal(
    request('Application/X-WWW-Form-Urlencoded', 'grant_type=x').grantType,
    'x',
    'media type is case-insensitive',
  );
});

test('token request: JSON body, also a +json media type; other fields are ignored', () => {
  const body = '{"grant_type":"client_credentials","client_id":"c","client_secret":"s","scope":"read"}';
  assert.deepEqual(request('application/json', body), {
    grantType: 'client_credentials',
    clientId: 'c',
    clientSecret: 's',
    basic: false,
  });
  assert.equal(request('application/vnd.api+json', body).clientId, 'c');
});

test('token request: HTTP Basic client authentication, form-decoded after base64 (RFC 6749 2.3.1)', () => {
  const r = request(form, 'grant_type=client_credentials', basic('my%3Aclient', 'p%40ss:word+x'));
  assert.deepEqual(r, {
    grantType: 'client_credentials',
    clientId: 'my:client',
    clientSecret: 'p@ss:word x',
    basic: true,
  });
  assert.equal(request(form, 'grant_type=client_credentials', basic('plain', 's')).clientSecret, 's');
  assert.equal(
    request(form, 'grant_type=x&client_id=c', basic('c', 's')).clientId,
    'c',
    'the same client_id in the body',
  );
  assert.equal(request(undefined, '', basic('c', 's')).grantType, undefined, 'an empty body is an empty form');
  assert.equal(request(form, '', `bAsIc   ${Buffer.from('c:s').toString('base64')}`).clientId, 'c');
});

test('token request: an Authorization header of another scheme is ignored, the body counts', () => {
  for (const header of ['Bearer abc', 'Digest x', 'Basically x', '']) {
    const r = request(form, 'grant_type=client_credentials&client_id=c&client_secret=s', header);
    assert.deepEqual(r, { grantType: 'client_credentials', clientId: 'c', clientSecret: 's', basic: false }, header);
  }
});

test('token request: malformed requests are described', () => {
  assert.match(problem('text/plain', 'grant_type=client_credentials'), /Content-Type must be .* got "text\/plain"/);
  assert.match(problem(undefined, 'grant_type=client_credentials'), /Content-Type/);
  assert.match(problem(form, 'grant_type=client_credentials&grant_type=password'), /grant_type is repeated/);
  assert.match(problem(form, 'client_secret=a&client_secret=b'), /client_secret is repeated/);
  assert.match(problem('application/json', '{nope'), /not valid JSON/);
  assert.match(problem('application/json', '["client_credentials"]'), /must be an object/);
  assert.match(problem('application/json', 'null'), /must be an object/);
  assert.match(problem('application/json', '{"client_secret":42}'), /client_secret must be a string/);
});

test('token request: a broken Basic header or two authentication methods are malformed', () => {
  assert.match(problem(form, 'grant_type=client_credentials', 'Basic !!!'), /not valid HTTP Basic/);
  const noColon = `Basic ${Buffer.from('nocolon').toString('base64')}`;
  assert.match(problem(form, 'grant_type=client_credentials', noColon), /not valid HTTP Basic/);
  assert.match(problem(form, 'grant_type=client_credentials', 'Basic'), /not valid HTTP Basic/);
  assert.match(problem(form, 'grant_type=client_credentials', 'Basic a b'), /not valid HTTP Basic/);
  assert.match(problem(form, 'client_secret=s', basic('c', 's')), /more than one client authentication method/);
  assert.match(problem(form, 'client_id=other', basic('c', 's')), /differs/);
});
