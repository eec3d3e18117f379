import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type BatchIndex, InputError, readNdjson, runPaths } from '@capi/core';

/**
 * A suite with relative URLs needs a base URL. capi-exec refuses such a record (exit 2),
 * but in a launched run that refusal comes from every worker, one given-up batch after
 * another; so capi-launch looks before it starts anything.
 */

/** The workers will have a base URL: `--base-url` among the exec flags, or CAPI_BASE_URL in their environment. */
export function hasBaseUrl(execArgs: string[], env: NodeJS.ProcessEnv): boolean {
  const i = execArgs.lastIndexOf('--base-url');
  if (i !== -1 && (execArgs[i + 1] ?? '') !== '') return true;
  return (env.CAPI_BASE_URL ?? '') !== '';
}

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/**
 * A URL that only a base URL can complete, whatever its templates expand to. One that
 * starts with a template (`{{env.API}}/items`) may well be absolute: capi-exec decides.
 */
export function surelyRelative(url: string): boolean {
  const text = url.replace(/^[\0-\x20]+|[\0-\x20]+$/g, '');
  if (text.includes('{{')) return text.startsWith('/');
  return !SCHEME.test(text);
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
  for (const b of index.batches) {
    const file = runPaths(runDir).batchFile(b.batch);
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
