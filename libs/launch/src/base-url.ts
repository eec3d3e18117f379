import { createReadStream } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type BatchIndex,
  CapiError,
  ExitCode,
  InputError,
  isRelativeUrl,
  journalBaseUrl,
  metaBaseUrl,
  readJournalMeta,
  readNdjson,
  runPaths,
  trimUrl,
} from '@capi/core';
import { execArg } from './tools.js';

/**
 * A suite with relative URLs needs a base URL. capi-exec refuses such a record (exit 2),
 * but in a launched run that refusal comes from every worker, one given-up batch after
 * another; so capi-launch looks before it starts anything.
 */

/** The workers will have a base URL: `--base-url` among the exec flags, or CAPI_BASE_URL in their environment. */
export function hasBaseUrl(execArgs: string[], env: NodeJS.ProcessEnv): boolean {
  if ((execArg(execArgs, '--base-url') ?? '') !== '') return true;
  return (env.CAPI_BASE_URL ?? '') !== '';
}

/**
 * A URL that only a base URL can complete, whatever its templates expand to: the text
 * before its first template is already a path (`/x/{{id}}`, `items/{{id}}`, `?q={{q}}`).
 * One whose scheme or host may come from a template (`{{env.API}}/items`,
 * `http{{s}}://h`) may well be absolute: capi-exec decides.
 */
export function surelyRelative(url: string): boolean {
  const text = trimUrl(url);
  const head = text.split('{{', 1)[0] as string;
  if (head.length < text.length && !head.includes('/') && !head.startsWith('?')) return false;
  return isRelativeUrl(head);
}

interface UrlRecord {
  id?: string;
  enabled?: boolean;
  request?: { url?: unknown };
  source?: { file?: string; line?: number } | null;
}

/** The suite's own field name: `url` in a CSV suite, `request.url` in an NDJSON one (sniffed as capi-split does). */
async function urlField(suite: string): Promise<string> {
  const f = await open(suite, 'r').catch(() => null);
  if (!f) return 'url';
  try {
    const { buffer, bytesRead } = await f.read(Buffer.alloc(512), 0, 512, 0);
    const first = buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .trimStart()[0];
    return first === '{' ? 'request.url' : 'url';
  } finally {
    await f.close();
  }
}

/**
 * Refuses (exit 2, naming the suite file and line) the first enabled test whose URL is
 * relative when the workers will have no base URL. `suite` is the suite as the user named it.
 */
export async function refuseRelativeUrls(runDir: string, index: BatchIndex, suite: string): Promise<void> {
  await refuseRelativeUrlsIn(
    index.batches.map((b) => runPaths(runDir).batchFile(b.batch)),
    suite,
  );
}

/** The same check over files of test records (`--emit k8s` reads capi-split's output). */
export async function refuseRelativeUrlsIn(files: string[], suite: string): Promise<void> {
  for (const file of files) {
    for await (const { value } of readNdjson(createReadStream(file), { source: file })) {
      const rec = value as UrlRecord;
      const url = rec.request?.url;
      if (rec.enabled === false || typeof url !== 'string' || !surelyRelative(url)) continue;
      const from = rec.source?.file;
      const name = !from || resolve(from) === resolve(suite) ? suite : from;
      throw new InputError(
        name,
        rec.source?.line ?? undefined,
        `field "${await urlField(resolve(suite))}": relative URL ${JSON.stringify(url)}${rec.source?.line ? '' : ` of test ${JSON.stringify(rec.id)}`} needs --base-url or CAPI_BASE_URL`,
      );
    }
  }
}

/** The base URL the workers get: the last `--base-url` of the exec flags, else CAPI_BASE_URL. */
export function effectiveBaseUrl(execArgs: string[], env: NodeJS.ProcessEnv): string | null {
  const given = execArg(execArgs, '--base-url') ?? '';
  return journalBaseUrl(given || env.CAPI_BASE_URL || null);
}

/** A journal holds a result once it has one whole line (a torn first line is no result). */
async function holdsResults(journal: string): Promise<boolean> {
  const f = await open(journal, 'r').catch(() => null);
  if (!f) return false;
  try {
    const { buffer, bytesRead } = await f.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, 0);
    return buffer.subarray(0, bytesRead).includes(10) || bytesRead === 64 * 1024;
  } finally {
    await f.close();
  }
}

/**
 * The base URLs the run's journals that hold results were written against (their
 * `.meta.json` `baseUrl`; journals of an older capi-exec, without one, say nothing),
 * with the batches of each.
 */
export async function journalBaseUrls(runDir: string): Promise<Map<string | null, string[]>> {
  const p = runPaths(runDir);
  const found = new Map<string | null, string[]>();
  const names = await readdir(p.results).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith('.ndjson')).sort()) {
    const journal = join(p.results, name);
    const meta = await readJournalMeta(journal).catch(() => null);
    const url = meta ? metaBaseUrl(meta) : undefined;
    if (url === undefined || !(await holdsResults(journal))) continue;
    found.set(url, [...(found.get(url) ?? []), name.replace(/\.ndjson$/, '')]);
  }
  return found;
}

/**
 * capi-exec refuses to resume a journal with results against another base URL (exit 2)
 * unless forced; in a launched run that refusal would give up every such batch. So a
 * resume against another base URL is refused here, naming both, unless `force` (which
 * capi-launch then passes to capi-exec).
 */
export async function checkResumeBaseUrl(runDir: string, id: string, now: string | null, force: boolean) {
  const other = [...(await journalBaseUrls(runDir))].filter(([url]) => url !== now);
  if (other.length === 0 || force) return other.length > 0;
  const [url, batches] = other[0] as [string | null, string[]];
  const which = batches.length === 1 ? batches[0] : `${batches.length} batches`;
  throw new CapiError(
    `--resume: run ${id} has results from --base-url ${url ?? '(none)'} (${which}), this resume would run against ${now ?? '(none)'}; capi-exec does not mix the two in one journal: resume with --base-url ${url ?? '(none)'}, or add --force to go on against ${now ?? '(none)'} (the results already there stay)`,
    ExitCode.badInput,
  );
}
