import { FILE_MODE, writeFileAtomicSync } from './atomic-write.js';
import { InputError } from './errors.js';
import { readIfExistsSync } from './read-if-exists.js';

/**
 * `<journal>.meta.json`, the sidecar that says how a journal was made (docs/run-folder.md,
 * "The journal"): capi-exec writes it and compares it on resume, capi-launch reads its
 * base URL before a resume. One rule for its path, its shape and its base URL text.
 */
export interface JournalMeta {
  version: 1;
  /** The fingerprint scheme of the journal's `fp` fields. */
  fingerprint: string;
  shard: string | null;
  batch: string | null;
  /** The base URL the tests ran against (`journalBaseUrl`); absent in journals of older capi-exec. */
  baseUrl?: string | null;
  created: string;
}

export const journalMetaPath = (journal: string) => `${journal}.meta.json`;

/**
 * The meta of a journal; null when there is none, or when it is empty (a power cut after
 * its rename, when it was written without `--fsync`). Malformed JSON is an InputError naming
 * the sidecar.
 */
export async function readJournalMeta(journal: string): Promise<JournalMeta | null> {
  // synchronous: a small file, read once per batch by a worker (a thread-pool round trip saved)
  const text = readIfExistsSync(journalMetaPath(journal));
  if (text === null || text.trim() === '') return null;
  try {
    return JSON.parse(text) as JournalMeta;
  } catch {
    throw new InputError(journalMetaPath(journal), 1, 'malformed JSON');
  }
}

/**
 * `sync`: fsync it before the rename, as the journal's own lines are with `--fsync`; without
 * it the journal may lose its last lines to a power cut anyway, and one fsync per journal
 * was a good part of a short batch's cost.
 */
export async function writeJournalMeta(journal: string, meta: JournalMeta, sync: boolean): Promise<void> {
  writeFileAtomicSync(journalMetaPath(journal), `${JSON.stringify(meta)}\n`, FILE_MODE, { sync });
}

/**
 * A base URL as a journal's meta records it: origin and path, no trailing slash, no
 * credentials or query (null without one). Text that is no URL is kept as it is.
 */
export function journalBaseUrl(text: string | null): string | null {
  if (!text || !URL.canParse(text)) return text || null;
  const u = new URL(text);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/** The base URL a meta recorded; undefined when it says nothing (an older capi-exec wrote it). */
export function metaBaseUrl(meta: JournalMeta): string | null | undefined {
  return Object.hasOwn(meta, 'baseUrl') ? (meta.baseUrl ?? null) : undefined;
}

/**
 * Whether a journal must be resumed against the base URL it was written with: only when
 * it holds results (an empty one mixes nothing: `capi-launch --resume --base-url` after a
 * wrong or unreachable target starts it afresh), and only when its meta recorded one.
 */
export function baseUrlChanged(meta: JournalMeta | null, baseUrl: string | null, results: number): boolean {
  if (meta === null || results === 0) return false;
  const recorded = metaBaseUrl(meta);
  return recorded !== undefined && recorded !== baseUrl;
}
