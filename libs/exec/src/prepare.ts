import { DEBUG_BODY_BYTES, type EnvAllow, isCredentialName, type TestRecord } from '@capi/core';
import { capturesReadBody } from './capture.js';
import { checkExpectation, type Expectation } from './checks.js';
import type { OutgoingRequest } from './http-client.js';
import { addCredentialHeaders, type SecretSet } from './redact.js';
import type { BaseUrl } from './target.js';
import { requestTarget } from './target.js';
import { expand, expandNullable, type TemplateScope } from './template.js';

/** A test made ready to send: templates expanded, URL resolved, headers merged. */
export interface PreparedTest {
  request: OutgoingRequest;
  expect: Expectation;
  /** The run's secrets, plus this test's own credential headers when it has any: its result is redacted with them. */
  secrets: SecretSet;
}

/** What the run's flags give every test's request (the engine's options carry them as they are). */
export interface RequestInputs {
  base: BaseUrl | null;
  /** `--header` values; the test's own headers win over them. */
  headers: Record<string, string>;
  /** `--header-all-origins`: send `--header` values to every origin, not only the base URL's. */
  headerAllOrigins: boolean;
  env: NodeJS.ProcessEnv;
  /** What a test's `{{env.NAME}}` may read (`--allow-env`, the CAPI_ prefix). */
  allowEnv: EnvAllow;
  /** `--var` and `--vars`: plain values, not secrets. */
  runVars: Record<string, string>;
}

export interface PrepareContext extends RequestInputs {
  /** An env value too short to redact was read (warn once per name). */
  onShortSecret?: (name: string) => void;
  secrets: SecretSet;
  timeoutMs: number;
  maxBody: number;
  /** Flows: the captured values this test sees (its flow's over the setup rows'). */
  captures?: Record<string, string>;
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

function mergeHeaders(rec: TestRecord, scope: TemplateScope, given: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  // --header values are the operator's, not the suite's: they may read any env variable.
  const own = { ...scope, allow: null };
  for (const [name, value] of Object.entries(given))
    out[name] = expand(value, credentialScope(name, own), `--header "${name}"`);
  for (const [name, value] of Object.entries(rec.request.headers)) {
    const lower = name.toLowerCase();
    for (const k of Object.keys(out)) if (k.toLowerCase() === lower) delete out[k];
    out[name] = expand(value, credentialScope(name, scope), `header "${name}"`);
  }
  return out;
}

/**
 * A captured value used in a credential header (`Authorization: Bearer {{token}}`) is a
 * secret from then on, for the whole run: added to the run's set, not only this test's.
 */
function credentialScope(header: string, scope: TemplateScope): TemplateScope {
  if (!scope.captures || !isCredentialName(header) || !scope.onCaptureSecret) return scope;
  return { ...scope, onCaptureValue: scope.onCaptureSecret };
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

const NONE: Record<string, string> = {};

/** A record with no key, found without an array of its keys per test (Object.keys). */
function noKeys(o: Record<string, string>): boolean {
  for (const _ in o) return false;
  return true;
}

/**
 * `--header` values (a production token) go to the base URL's origin only: a suite row
 * with an absolute URL to another host gets none of them, unless --header-all-origins.
 */
function givenHeaders(origin: string, ctx: PrepareContext): Record<string, string> {
  if (ctx.headerAllOrigins || (ctx.base !== null && ctx.base.origin === origin)) return ctx.headers;
  return NONE;
}

/** Sets of tests' own credentials, by their values: a suite whose rows share one token builds its forms once. */
const childSets = new WeakMap<SecretSet, Map<string, SecretSet>>();
const CHILD_SETS_MAX = 1000;

/** A set for this test's own credential headers, under the run's; the run's set when it has none. */
function testSecrets(rec: TestRecord, headers: Record<string, string>, ctx: PrepareContext): SecretSet {
  const own = Object.keys(rec.request.headers).filter(isCredentialName);
  if (own.length === 0) return ctx.secrets;
  const values: Record<string, string> = {};
  for (const k of Object.keys(headers)) if (isCredentialName(k)) values[k] = headers[k] as string;
  let cache = childSets.get(ctx.secrets);
  if (!cache) {
    cache = new Map();
    childSets.set(ctx.secrets, cache);
  }
  const key = JSON.stringify(values);
  let set = cache.get(key);
  if (!set) {
    set = ctx.secrets.child();
    addCredentialHeaders(set, values);
    if (cache.size >= CHILD_SETS_MAX) cache.clear();
    cache.set(key, set);
  }
  return set;
}

/**
 * Expands a URL or a body; when `cuts` says the text is one a server takes apart (a URL, a
 * body that is not JSON), each secret read into it (an env value, a captured secret) is
 * also redacted as that server reads it: cut at a query's `&` and `=`, decoded
 * (redact.ts secretVariants).
 */
function expandCutting(
  text: string,
  scope: TemplateScope,
  where: string,
  ctx: PrepareContext,
  cuts: (expanded: string) => boolean,
): string {
  if (!text.includes('{{')) return text;
  const read: string[] = [];
  const out = expand(
    text,
    {
      ...scope,
      onEnvValue: (v, name) => {
        scope.onEnvValue?.(v, name);
        read.push(v);
      },
      onCaptureValue: (v, name) => {
        scope.onCaptureValue?.(v, name);
        read.push(v);
      },
    },
    where,
  );
  if (read.length > 0 && cuts(out)) for (const v of read) if (ctx.secrets.has(v)) ctx.secrets.add(v, true);
  return out;
}

/** `expandCutting`'s tests of where a text is taken apart, made once: no closures per test. */
const ALWAYS = () => true;
const NOT_JSON = (body: string) => !looksJson(body);

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
    runVars: ctx.runVars,
    env: ctx.env,
    allow: ctx.allowEnv,
    onEnvValue: (v, name) => {
      if (!ctx.secrets.add(v)) ctx.onShortSecret?.(name);
    },
  };
  if (ctx.captures) {
    scope.captures = ctx.captures;
    scope.onCaptureSecret = (v) => ctx.secrets.add(v);
  }
  const target = requestTarget(expandCutting(rec.request.url, scope, 'request.url', ctx, ALWAYS), ctx.base);
  const given = givenHeaders(target.origin, ctx);
  const plain = noKeys(rec.request.headers) && !hasTemplates(given);
  const headers = plain ? given : mergeHeaders(rec, scope, given);
  const body = rec.request.body === null ? null : expandCutting(rec.request.body, scope, 'request.body', ctx, NOT_JSON);
  let sendHeaders = headers;
  if (body !== null && body !== '' && !hasHeader(headers, 'content-type') && looksJson(body))
    sendHeaders = { ...headers, 'content-type': 'application/json' };
  const secrets = plain ? ctx.secrets : testSecrets(rec, headers, ctx);
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
      keepText:
        (e.body !== null && e.body !== '') || (e.json !== null && e.json !== '') || capturesReadBody(rec.capture),
      // A failed test's result keeps the start of its body (`debug`), plus room to redact across the cut.
      sampleBytes: DEBUG_BODY_BYTES + 1024,
    },
    expect,
    secrets,
  };
}
