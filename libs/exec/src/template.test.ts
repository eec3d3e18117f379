import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSecretSet } from './redact.js';
import { expand, MissingVariable } from './template.js';

test('templates read vars, id, name and env; no code is evaluated', () => {
  const seen: string[] = [];
  const scope = {
    id: 'T1',
    name: 'n',
    vars: { region: 'eu' },
    env: { TOKEN: 's3cret' },
    onEnvValue: (v: string) => seen.push(v),
  };
  assert.equal(expand('/{{region}}/{{ id }}?t={{env.TOKEN}}&n={{name}}', scope, 'url'), '/eu/T1?t=s3cret&n=n');
  assert.deepEqual(seen, ['s3cret']);
  assert.equal(expand('{{1+1}}', scope, 'url'), '{{1+1}}');
  assert.throws(
    () => expand('{{nope}}', scope, 'request.url'),
    (e: unknown) => e instanceof MissingVariable && /"nope" in request.url/.test(e.message),
  );
  assert.throws(() => expand('{{env.ABSENT}}', scope, 'header "x"'), /missing variable "env.ABSENT"/);
  assert.equal(expand('no templates', scope, 'url'), 'no templates');
});

test('secret set redacts every known value, longest first', () => {
  const s = createSecretSet();
  s.add('abc');
  s.add('abcdef');
  assert.equal(s.redact('x abcdef y abc'), 'x [redacted] y [redacted]');
  assert.equal(s.redact('nothing'), 'nothing');
});
