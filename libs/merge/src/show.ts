import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { formatStory, InputError, type ResultRecord } from '@capi/core';
import { readRunFolder } from './run-folder.js';
import { resolveInputs } from './sources.js';

/**
 * `capi-merge --show ID RUN…`: the story of one test of a finished run, read from its
 * journals (the same text `capi-exec --trace` prints). The record that wins is the one
 * merge would keep (the later start), so the story matches the reports.
 */

export interface ShowOptions {
  id: string;
  inputs: string[];
  stdin: Readable;
  cwd?: string;
}

interface Found {
  record: ResultRecord | null;
  startedMs: number;
  records: number;
}

/** Lines holding the id (a cheap text test first), parsed; others and broken lines are passed over. */
async function scan(input: Readable, id: string, found: Found): Promise<void> {
  const needle = JSON.stringify(id);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (!line.includes(needle)) continue;
    let v: ResultRecord;
    try {
      v = JSON.parse(line) as ResultRecord;
    } catch {
      continue;
    }
    if (v === null || typeof v !== 'object' || v.id !== id || typeof v.status !== 'string') continue;
    found.records++;
    const ms = Date.parse(v.startedAt);
    if (found.record === null || Number.isNaN(ms) || Number.isNaN(found.startedMs) || ms >= found.startedMs) {
      found.record = v;
      found.startedMs = ms;
    }
  }
}

async function files(opts: ShowOptions): Promise<Array<string | null>> {
  const out: Array<string | null> = [];
  for (const input of await resolveInputs(opts.inputs.length > 0 ? opts.inputs : ['-'], opts.cwd)) {
    if (input.kind === 'stdin') out.push(null);
    else if (input.kind === 'file') out.push(input.path);
    else out.push(...(await readRunFolder(input.dir, input.label)).resultFiles);
  }
  return out;
}

/** The story text; InputError (exit 2) when no input has a result for the id. */
export async function showTest(opts: ShowOptions): Promise<string> {
  const found: Found = { record: null, startedMs: Number.NaN, records: 0 };
  for (const path of await files(opts)) await scan(path === null ? opts.stdin : createReadStream(path), opts.id, found);
  const r = found.record;
  if (r === null) throw new InputError(`--show ${opts.id}`, undefined, 'no result for this id in the inputs');
  let text = formatStory(r, r.debug);
  if (!r.debug && (r.status === 'failed' || r.status === 'error') && r.attempts > 0)
    text += '* this result has no debug part: written by a capi-exec before --trace, or read from a cleaned run\n';
  if (found.records > 1)
    text += `* ${found.records} records of this id; this is the one merge keeps (the later start)\n`;
  return text;
}
