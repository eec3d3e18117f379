import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CapiError, isErrnoException, type RunControl, readIfExists, writeFileAtomic } from '@capi/core';
import { updateControl } from './control-file.js';
import type { Manifest } from './manifest.js';

/**
 * What a `--resume` changes, handed to the supervisor it starts (docs/run-folder.md
 * "resume.json"): the resume writes nothing of run.json or control.json itself, so a
 * supervisor that never starts leaves the run as it was. Removing the file decides who
 * has it: the supervisor taking the run, or a capi-launch giving up, whichever is first.
 */
export interface ResumeTake {
  /** run.json fields the resume replaces (options, parallel, method, session). */
  manifest: Partial<Manifest>;
  /** control.json fields (`--rate`, `--concurrency`), written as `--set` writes them. */
  control: Partial<RunControl>;
}

export const resumeFile = (runDir: string) => join(runDir, 'resume.json');

/** Written atomically, 0600 (it holds capi-exec flags), before the supervisor is started. */
export const offerResume = (runDir: string, take: ResumeTake): Promise<void> =>
  writeFileAtomic(resumeFile(runDir), `${JSON.stringify({ version: 1, ...take })}\n`);

/** Removes `path`: true if this call removed it, false if it was already gone. */
async function removeFirst(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if (isErrnoException(err) && err.code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * The supervisor's side: the resume's changes, or null when the capi-launch that started
 * it gave up first (the file is gone): the run is then not this supervisor's to take.
 */
export async function takeResume(runDir: string): Promise<ResumeTake | null> {
  const file = resumeFile(runDir);
  const text = await readIfExists(file);
  if (text === null || !(await removeFirst(file))) return null;
  let parsed: Partial<ResumeTake> & { version?: number };
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CapiError(`${file}: malformed JSON: ${(err as Error).message}`);
  }
  return { manifest: parsed.manifest ?? {}, control: parsed.control ?? {} };
}

/** capi-launch's side when its supervisor did not start: true if the run stays as it was. */
export const abandonResume = (runDir: string): Promise<boolean> => removeFirst(resumeFile(runDir));

/** Has the supervisor taken the resume (the file is gone)? */
export const resumeTaken = async (runDir: string): Promise<boolean> =>
  (await readIfExists(resumeFile(runDir))) === null;

/** control.json's part of a resume, under its lock as `--set` writes it. */
export async function applyResumeControl(runDir: string, control: Partial<RunControl>): Promise<void> {
  if (Object.keys(control).length > 0) await updateControl(runDir, (c) => ({ ...c, ...control }));
}
