import { isCredentialName, MIN_SECRET_LENGTH } from '@capi/core';

/**
 * Secrets never reach stdout, the journal, the heartbeat or logs (docs/capi-exec.md,
 * "Secrets"). A secret is a value read through `{{env.NAME}}` or the value of a credential
 * header (a name matching core's CREDENTIAL_NAME). It is redacted in every form it takes on
 * its way back from an API that echoes it: as written, JSON-escaped, `\/`-escaped,
 * percent-encoded, HTML-escaped, base64 (also inside `user:pass`). Texts are redacted whole,
 * before they are cut to a readable length, and a tail that is the start of a secret is dropped.
 */
export const REDACTED = '[redacted]';

/** A text that ends with this many characters of a secret's start loses them. */
const TAIL_MIN = 3;
/** Base64 cores shorter than this are not redacted (they would match by chance). */
const BASE64_CORE_MIN = 8;

const hex = (c: string) =>
  [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());

function jsonForms(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  // Python's json.dumps and others escape every non-ASCII character as \uXXXX.
  const ascii = json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return [json, ascii, json.replaceAll('/', '\\/'), ascii.replaceAll('/', '\\/')];
}

function percentForms(value: string): string[] {
  const component = encodeURIComponent(value).replace(/[!'()*]/g, hex);
  const uri = encodeURI(value);
  // WHATWG path and query encoding leave most reserved characters as written.
  const path = value.replace(/[\0-\x20"<>`{}\x7f-\u{10ffff}]/gu, hex);
  const query = value.replace(/[\0-\x20"'<>\x7f-\u{10ffff}]/gu, hex);
  const form = encodeURIComponent(value).replaceAll('%20', '+');
  return [component, uri, path, query, form, encodeURIComponent(value)].flatMap((f) => [f, lowerHex(f)]);
}

const htmlForm = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/**
 * Base64 of the value wherever it sits in the encoded bytes (`user:pass` encodes `pass`
 * at some offset): for each of the three alignments, the characters that depend on the
 * value's bytes only.
 */
function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const out: string[] = [bytes.toString('base64'), bytes.toString('base64url')];
  for (let pad = 0; pad < 3; pad++) {
    const b64 = Buffer.concat([Buffer.alloc(pad), bytes]).toString('base64');
    const start = pad === 0 ? 0 : pad === 1 ? 2 : 3;
    const whole = Math.floor((pad + bytes.length) / 3) * 4;
    const core = b64.slice(start, whole);
    if (core.length >= BASE64_CORE_MIN) out.push(core, core.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return out;
}

/** Every form of a secret worth looking for, longest first. */
export function secretForms(value: string): string[] {
  const all = new Set([value, ...jsonForms(value), ...percentForms(value), htmlForm(value), ...base64Forms(value)]);
  return [...all].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

export interface SecretSet {
  /** Adds a secret; false when it is too short to redact (MIN_SECRET_LENGTH) or empty. */
  add(value: string): boolean;
  /** The text with every form of every secret replaced, and a tail that starts a secret dropped. */
  redact(text: string): string;
  /** A set with this one's secrets plus its own (a test's literal credential headers). */
  child(): SecretSet;
  readonly size: number;
}

function dropSecretTail(text: string, forms: readonly string[]): string {
  let cut = 0;
  for (const f of forms) {
    for (let k = Math.min(f.length - 1, text.length); k >= TAIL_MIN && k > cut; k--)
      if (text.endsWith(f.slice(0, k))) {
        cut = k;
        break;
      }
  }
  return cut === 0 ? text : `${text.slice(0, text.length - cut)}${REDACTED}`;
}

export function createSecretSet(parent: SecretSet | null = null, minLength = MIN_SECRET_LENGTH): SecretSet {
  const values = new Set<string>();
  let forms: string[] = [];
  const set: SecretSet & { forms(): string[] } = {
    add(value: string) {
      if (value.length < minLength) return false;
      if (values.has(value)) return true;
      values.add(value);
      forms = [...new Set([...forms, ...secretForms(value)])].sort((a, b) => b.length - a.length);
      return true;
    },
    forms() {
      const above = (parent as (SecretSet & { forms(): string[] }) | null)?.forms() ?? [];
      return above.length === 0 ? forms : [...forms, ...above].sort((a, b) => b.length - a.length);
    },
    redact(text: string) {
      const all = set.forms();
      if (all.length === 0) return text;
      let out = text;
      for (const f of all) if (out.includes(f)) out = out.replaceAll(f, REDACTED);
      return dropSecretTail(out, all);
    },
    child: () => createSecretSet(set, minLength),
    get size() {
      return values.size + (parent?.size ?? 0);
    },
  };
  return set;
}

/**
 * Adds the values of credential headers: the whole value, the part after a scheme
 * (`Bearer x` → `x`), and for `Basic` the decoded `user:pass` and its password.
 */
export function addCredentialHeaders(secrets: { add(value: string): unknown }, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!isCredentialName(name)) continue;
    secrets.add(value);
    const space = value.indexOf(' ');
    if (space <= 0 || space >= value.length - 1) continue;
    const token = value.slice(space + 1).trim();
    secrets.add(token);
    if (value.slice(0, space).toLowerCase() !== 'basic') continue;
    const pair = Buffer.from(token, 'base64').toString('utf8');
    secrets.add(pair);
    const colon = pair.indexOf(':');
    if (colon >= 0) secrets.add(pair.slice(colon + 1));
  }
}
