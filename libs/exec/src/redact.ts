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

/** At most this many parts of one secret are taken (a hostile capture of thousands of `&`s costs no more). */
const MAX_PARTS = 32;
/** A longer value is not taken apart (no token is this long; a document would only add forms). */
const MAX_CUT_LENGTH = 4096;

/**
 * WHATWG's form decoding (`URLSearchParams`, and most servers' query parsers): `+` is a
 * space, each valid `%XX` a byte, the bytes UTF-8; an invalid `%` stays as written (where
 * `decodeURIComponent` would throw and decode nothing).
 */
export function formDecode(text: string, plus = true): string {
  const t = plus ? text.replaceAll('+', ' ') : text;
  if (!/%[0-9A-Fa-f]{2}/.test(t)) return t;
  const bytes: Buffer[] = [];
  let at = 0;
  for (const m of t.matchAll(/%[0-9A-Fa-f]{2}/g)) {
    bytes.push(Buffer.from(t.slice(at, m.index), 'utf8'), Buffer.from([Number.parseInt(m[0].slice(1), 16)]));
    at = (m.index as number) + 3;
  }
  bytes.push(Buffer.from(t.slice(at), 'utf8'));
  return Buffer.concat(bytes).toString('utf8');
}

/**
 * The texts a secret placed unencoded in a URL or a form body reaches a server as, and an
 * API that echoes its parsed query sends back apart (`?key={{env.KEY}}` with
 * `a1b2c3&d4e5f6=x` echoes `{"key":"a1b2c3","d4e5f6":"x"}`): the value decoded whole, and
 * as a query parser reads it, cut at `&`, `;`, `?`, `#`, then each piece at its first `=`
 * into a name and a value, each decoded on its own (so `%26` inside a piece decodes to a
 * `&` that does not cut). Every text of at least `minLength` characters, the value first.
 */
export function secretVariants(value: string, minLength = MIN_SECRET_LENGTH): string[] {
  const out = new Set([value]);
  if (value.length > MAX_CUT_LENGTH) return [value];
  const keep = (t: string) => {
    if (t.length >= minLength) out.add(t);
    const decoded = formDecode(t);
    if (decoded.length >= minLength) out.add(decoded);
    const percent = formDecode(t, false);
    if (percent.length >= minLength) out.add(percent);
  };
  keep(value);
  for (const piece of value.split(/[&;?#]/).slice(0, MAX_PARTS)) {
    keep(piece);
    const eq = piece.indexOf('=');
    if (eq < 0) continue;
    keep(piece.slice(0, eq));
    keep(piece.slice(eq + 1));
  }
  return [...out];
}

/** Every form of a secret worth looking for, longest first. */
export function secretForms(value: string): string[] {
  const all = new Set([value, ...jsonForms(value), ...percentForms(value), htmlForm(value), ...base64Forms(value)]);
  return [...all].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

export interface SecretSet {
  /**
   * Adds a secret; false when it is too short to redact (MIN_SECRET_LENGTH) or empty.
   * `cut`: it was placed in a URL or a form body, so it is also redacted as a server reads
   * it there (secretVariants); elsewhere its parts are not secrets (`sslmode=require` of a
   * connection string would make `require` one).
   */
  add(value: string, cut?: boolean): boolean;
  /** Whether the value is a secret of this set or of one above it. */
  has(value: string): boolean;
  /** The text with every form of every secret replaced, and a tail that starts a secret dropped. */
  redact(text: string): string;
  /** A set with this one's secrets plus its own (a test's literal credential headers). */
  child(): SecretSet;
  readonly size: number;
}

/**
 * Forms are found by the hash of their last KEY_CHARS characters, rolled along the text:
 * one pass over the text whatever the number of secrets (a night run's re-logins and a
 * million flows' session captures add thousands), where a search per form made every
 * write cost forms × text. Token ends are random, so a hash bucket holds one form or a few.
 */
const KEY_CHARS = 6;
/** The key's polynomial hash in 32-bit integer arithmetic (Math.imul wraps): no division per character. */
const KEY_BASE = 257;
let outgoing = 1;
for (let i = 1; i < KEY_CHARS; i++) outgoing = Math.imul(outgoing, KEY_BASE);
/** The weight of the character that leaves the window. */
const OUTGOING = outgoing;

function keyHash(text: string, from: number): number {
  let h = 0;
  for (let i = from; i < from + KEY_CHARS; i++) h = (Math.imul(h, KEY_BASE) + text.charCodeAt(i)) | 0;
  return h;
}

/**
 * The whole-form hash that a key match is checked with before any character is compared:
 * modulo a prime with a base drawn per process, so that a server cannot craft texts whose
 * hashes meet a secret's (a fixed base modulo 2^32 can be beaten), products exact in a
 * double (under 2^53). Comparing characters first let an answer of near misses
 * (`aaa…ab` against a token `aaa…a`) cost text × token.
 */
const HASH_MOD = 67_108_859;
const HASH_BASE = 65_536 + Math.floor(Math.random() * (HASH_MOD - 65_537));

function fullHash(text: string): { hash: number; power: number } {
  let hash = 0;
  let power = 1;
  for (let i = 0; i < text.length; i++) {
    hash = (hash * HASH_BASE + text.charCodeAt(i)) % HASH_MOD;
    power = (power * HASH_BASE) % HASH_MOD;
  }
  return { hash, power };
}

/** A form as the scan meets it: its text, its hash and HASH_BASE to the power of its length. */
interface Form {
  text: string;
  hash: number;
  power: number;
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const bucket = map.get(key);
  if (bucket) bucket.push(value);
  else map.set(key, [value]);
}

/** One set's forms, indexed for a single pass over a text (above) and for its tail. */
interface FormIndex {
  /** Forms of KEY_CHARS or more, by the key hash of their last KEY_CHARS characters. */
  byEnd: Map<number, Form[]>;
  /** Forms shorter than that (a set made with a lower minimum): searched one by one. */
  short: string[];
  /** Every form by its first TAIL_MIN characters: a text that ends with a secret's head. */
  byStart: Map<string, string[]>;
  longest: number;
}

const emptyIndex = (): FormIndex => ({ byEnd: new Map(), short: [], byStart: new Map(), longest: 0 });

function indexForm(index: FormIndex, form: string): void {
  if (form.length >= KEY_CHARS)
    pushTo(index.byEnd, keyHash(form, form.length - KEY_CHARS), { text: form, ...fullHash(form) });
  else index.short.push(form);
  if (form.length > TAIL_MIN) pushTo(index.byStart, form.slice(0, TAIL_MIN), form);
  index.longest = Math.max(index.longest, form.length);
}

/** The text's prefix hashes (HASH_MOD), made once a key matched: a window's hash is then one step. */
function prefixHashes(text: string): Float64Array {
  const out = new Float64Array(text.length + 1);
  for (let i = 0; i < text.length; i++) out[i + 1] = ((out[i] as number) * HASH_BASE + text.charCodeAt(i)) % HASH_MOD;
  return out;
}

/**
 * Where forms occur in `text`, as [start, end) pairs (forms may overlap). One form's
 * occurrences do not overlap each other (as `replaceAll` finds them): a hostile token such
 * as `aaaa…` in an answer of `aaaa…` is compared once per its length, not at every character.
 */
function occurrences(text: string, indexes: readonly FormIndex[]): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  for (const index of indexes)
    for (const f of index.short)
      for (let at = text.indexOf(f); at !== -1; at = text.indexOf(f, at + f.length)) found.push([at, at + f.length]);
  if (text.length < KEY_CHARS) return found;
  const maps = indexes.map((i) => i.byEnd);
  const lastEnd = new Map<string, number>();
  let prefix: Float64Array | null = null;
  let h = keyHash(text, 0);
  for (let end = KEY_CHARS; ; end++) {
    for (let m = 0; m < maps.length; m++) {
      const bucket = (maps[m] as Map<number, Form[]>).get(h);
      if (!bucket) continue;
      prefix ??= prefixHashes(text);
      const atEnd = prefix[end] as number;
      for (const f of bucket) {
        const start = end - f.text.length;
        if (start < 0 || start < (lastEnd.get(f.text) ?? 0)) continue;
        const window = (atEnd - (((prefix[start] as number) * f.power) % HASH_MOD) + HASH_MOD) % HASH_MOD;
        if (window !== f.hash || !text.startsWith(f.text, start)) continue;
        found.push([start, end]);
        lastEnd.set(f.text, end);
      }
    }
    if (end === text.length) return found;
    const out = Math.imul(text.charCodeAt(end - KEY_CHARS), OUTGOING);
    h = (Math.imul(h - out, KEY_BASE) + text.charCodeAt(end)) | 0;
  }
}

/** The text with every found span replaced; overlapping spans (`user:pass` and `pass`) make one. */
function replaceSpans(text: string, spans: Array<[number, number]>): string {
  if (spans.length === 0) return text;
  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = '';
  let at = 0;
  let [from, to] = spans[0] as [number, number];
  for (const [s, e] of spans) {
    if (s < to) {
      to = Math.max(to, e);
      continue;
    }
    out += `${text.slice(at, from)}${REDACTED}`;
    at = to;
    [from, to] = [s, e];
  }
  return `${out}${text.slice(at, from)}${REDACTED}${text.slice(to)}`;
}

/** The forms whose head starts in the text's last characters, where a cut-off secret could begin. */
function tailCandidates(text: string, indexes: readonly FormIndex[], from: number): Set<string> {
  const found = new Set<string>();
  for (let j = from; j <= text.length - TAIL_MIN; j++) {
    const head = text.slice(j, j + TAIL_MIN);
    for (const index of indexes)
      for (const f of index.byStart.get(head) ?? []) if (f.length > text.length - j) found.add(f);
  }
  return found;
}

/** The hashes of the text's last k characters for every k up to `window` (index k). */
function suffixHashes(text: string, window: number): Float64Array {
  const hashes = new Float64Array(window + 1);
  let power = 1;
  for (let k = 1; k <= window; k++) {
    const c = text.charCodeAt(text.length - k);
    hashes[k] = (((c * power) % HASH_MOD) + (hashes[k - 1] as number)) % HASH_MOD;
    power = (power * HASH_BASE) % HASH_MOD;
  }
  return hashes;
}

/**
 * A text that ends with TAIL_MIN or more characters of a form's start loses them (the
 * longest such tail). Each candidate form's head is hashed once and compared with the
 * text's suffixes of every length, then the best match is checked character by character:
 * linear in the forms' length, where testing each start position against each form was
 * quadratic for a hostile token (`aaaa…`) and an answer full of near misses.
 */
function dropSecretTail(text: string, indexes: readonly FormIndex[]): string {
  const longest = Math.max(...indexes.map((i) => i.longest));
  const candidates = tailCandidates(text, indexes, Math.max(0, text.length - longest + 1));
  if (candidates.size === 0) return text;
  const window = Math.min(text.length, longest - 1);
  const hashes = suffixHashes(text, window);
  let best = 0;
  for (const f of candidates) {
    const most = Math.min(f.length - 1, window);
    let h = 0;
    const equal: number[] = [];
    for (let k = 1; k <= most; k++) {
      h = (h * HASH_BASE + f.charCodeAt(k - 1)) % HASH_MOD;
      if (k >= TAIL_MIN && k > best && h === hashes[k]) equal.push(k);
    }
    // Longest first; a hash collision is told apart by the characters themselves.
    for (let i = equal.length - 1; i >= 0; i--) {
      const k = equal[i] as number;
      if (text.endsWith(f.slice(0, k))) {
        best = k;
        break;
      }
    }
  }
  return best === 0 ? text : `${text.slice(0, text.length - best)}${REDACTED}`;
}

export function createSecretSet(parent: SecretSet | null = null, minLength = MIN_SECRET_LENGTH): SecretSet {
  const values = new Set<string>();
  const cutValues = new Set<string>();
  const forms = new Set<string>();
  const own = emptyIndex();
  const addForms = (value: string) => {
    for (const f of secretForms(value))
      if (!forms.has(f)) {
        forms.add(f);
        indexForm(own, f);
      }
  };
  const set: SecretSet & { indexes(): FormIndex[] } = {
    add(value: string, cut = false) {
      if (value.length < minLength) return false;
      if (!values.has(value)) {
        values.add(value);
        addForms(value);
      }
      if (cut && !cutValues.has(value)) {
        cutValues.add(value);
        for (const v of secretVariants(value, minLength)) if (v !== value) addForms(v);
      }
      return true;
    },
    has: (value: string) => values.has(value) || (parent?.has(value) ?? false),
    indexes() {
      const above = (parent as (SecretSet & { indexes(): FormIndex[] }) | null)?.indexes() ?? [];
      return forms.size === 0 ? above : [own, ...above];
    },
    redact(text: string) {
      const all = set.indexes();
      if (all.length === 0) return text;
      return dropSecretTail(replaceSpans(text, occurrences(text, all)), all);
    },
    child: () => createSecretSet(set, minLength),
    get size() {
      return values.size + (parent?.size ?? 0);
    },
  };
  return set;
}

/** A cookie value's surrounding double quotes are not part of it (RFC 6265 cookie-value). */
const unquote = (v: string) => (v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v);

/**
 * Adds the values of credential headers: the whole value, the part after a scheme
 * (`Bearer x` → `x`), and for `Basic` the decoded `user:pass` and its password. A Cookie
 * header is its cookies' values (a server may echo the cookies it parsed), not their
 * names: `session` is not a secret, and would shred every report.
 */
export function addCredentialHeaders(secrets: { add(value: string): unknown }, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!isCredentialName(name)) continue;
    if (name.toLowerCase() === 'cookie') {
      secrets.add(value);
      for (const pair of value.split(';')) secrets.add(unquote(pair.slice(pair.indexOf('=') + 1).trim()));
      continue;
    }
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
