import { DEBUG_BODY_BYTES, type TestRecord } from '@capi/core';
import { checkExpectation, type Expectation } from './checks.js';
import type { OutgoingRequest } from './http-client.js';
import { addCredentialHeaders, type SecretSet } from './redact.js';
import type { BaseUrl } from './target.js';
import { resolveTarget } from './target.js';
import { expand, expandNullable, type TemplateScope } from './template.js';

/** A test made ready to send: templates expanded, URL resolved, headers merged. */
export interface PreparedTest {
  request: OutgoingRequest;
  expect: Expectation;
  /** Credential values of this test only (literal ones in its headers): redacted in its result. */
  secrets: string[];
}

export interface PrepareContext {
  base: BaseUrl | null;
  /** `--header` values; the test's own headers win over them. */
  headers: Record<string, string>;
  env: NodeJS.ProcessEnv;
  secrets: SecretSet;
  timeoutMs: number;
  maxBody: number;
}

const looksJson = (body: string) => {
  const c = body.trimStart()[0];
  if (c !== '{' && c !== '[') return false;
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
};

function mergeHeaders(rec: TestRecord, scope: TemplateScope, ctx: PrepareContext): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(ctx.headers)) out[name] = expand(value, scope, `--header "${name}"`);
  for (const [name, value] of Object.entries(rec.request.headers)) {
    const lower = name.toLowerCase();
    for (const k of Object.keys(out)) if (k.toLowerCase() === lower) delete out[k];
    out[name] = expand(value, scope, `header "${name}"`);
  }
  return out;
}

const templated = new WeakMap<Record<string, string>, boolean>();

/** Whether the --header set needs expanding per test (checked once per set). */
function hasTemplates(headers: Record<string, string>): boolean {
  let t = templated.get(headers);
  if (t === undefined) {
    t = Object.values(headers).some((v) => v.includes('{{'));
    templated.set(headers, t);
  }
  return t;
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  for (const k of Object.keys(headers)) if (k.toLowerCase() === name) return true;
  return false;
}

/**
 * Throws MissingVariable, BadUrl, BadExpectation: each ends the test as an error before
 * anything is sent (attempts 0), without a retry.
 */
export function prepareTest(rec: TestRecord, ctx: PrepareContext): PreparedTest {
  const scope: TemplateScope = {
    id: rec.id,
    name: rec.name,
    vars: rec.vars,
    env: ctx.env,
    onEnvValue: (v) => ctx.secrets.add(v),
  };
  const target = resolveTarget(expand(rec.request.url, scope, 'request.url'), ctx.base);
  const plain = Object.keys(rec.request.headers).length === 0 && !hasTemplates(ctx.headers);
  const headers = plain ? ctx.headers : mergeHeaders(rec, scope, ctx);
  const body = expandNullable(rec.request.body, scope, 'request.body');
  let sendHeaders = headers;
  if (body !== null && body !== '' && !hasHeader(headers, 'content-type') && looksJson(body))
    sendHeaders = { ...headers, 'content-type': 'application/json' };
  const secrets: string[] = [];
  if (!plain) {
    addCredentialHeaders({ add: (v) => secrets.push(v) }, rec.request.headers);
  }
  const e = rec.expect;
  const expect: Expectation = {
    status: expand(e.status, scope, 'expect.status'),
    body: expandNullable(e.body, scope, 'expect.body'),
    json: expandNullable(e.json, scope, 'expect.json'),
    maxMs: e.maxMs,
  };
  checkExpectation(expect);
  return {
    request: {
      origin: target.origin,
      path: target.path,
      method: rec.request.method,
      headers: sendHeaders,
      body,
      timeoutMs: rec.timeoutMs ?? ctx.timeoutMs,
      keepText: (e.body !== null && e.body !== '') || (e.json !== null && e.json !== ''),
      // A failed test's result keeps the start of its body (`debug`), plus room to redact across the cut.
      sampleBytes: DEBUG_BODY_BYTES + 1024,
    },
    expect,
    secrets,
  };
}
