import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, readFile, rename, rm, stat, symlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  type BatchIndex,
  CapiError,
  DIR_MODE,
  ExitCode,
  type ExitCodeValue,
  FILE_MODE,
  isBatchName,
  makeDir,
  newRunId,
  type RunControl,
  runPaths,
  setAsideNote,
} from '@capi/core';
import { hasBaseUrl, refuseRelativeUrls } from './base-url.js';
import { envMarkScanner, refuseMissingEnv } from './env-refs.js';
import { type LaunchOptions, type Manifest, writeControl, writeManifest } from './manifest.js';
import { type SplitShape, splitFlags } from './split-flags.js';
import { toolBin } from './tools.js';

export type Method = 'nohup' | 'screen' | 'tmux' | 'foreground';

export interface CreateRunOptions {
  suite: string;
  runsDir: string;
  method: Method;
  parallel: number;
  batchSize: number;
  /** capi-split `--max-batch-size`: batches grow from `batchSize` to this (null: all `batchSize`). */
  maxBatchSize?: number | null;
  launch: LaunchOptions;
  /** Names already taken elsewhere (a tmux or screen session): the run id avoids them. */
  taken?: (id: string) => boolean;
  /** Fills batches/ (default: capi-split of the suite); `--rerun-failed` writes its own. */
  fill?: (batchesDir: string) => Promise<void>;
  /** The sha256 recorded for the suite (default: computed from the file). */
  suiteSha256?: string;
  /** capi-split `--lenient`: bad rows are skipped, each named in a warning, instead of refused at the first. */
  lenient?: boolean;
  /** Messages for the person launching: capi-split's warnings (the rows `lenient` skipped). */
  notes?: (text: string) => void;
  env?: NodeJS.ProcessEnv;
  /**
   * Started once the folder exists, before the split (the early workers of a foreground
   * launch); on failure its `undo` is awaited before the folder is removed, so nothing it
   * started writes into a folder that is gone.
   */
  alongside?: (runDir: string) => { undo(): Promise<void> };
}

/** The sha256 of a file, hex (run.json `suite.sha256`). */
export function fileSha256(file: string): Promise<string> {
  return hashFile(file);
}

/** The sha256 of a file, hex; `also` sees each chunk as it is hashed. */
async function hashFile(file: string, also?: (chunk: Buffer) => void, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, signal ? { signal } : {})) {
    hash.update(chunk as Buffer);
    also?.(chunk as Buffer);
  }
  return hash.digest('hex');
}

/** What one read of the suite says: its sha256, and whether its bytes may spell `{{env.…}}` (envMarkScanner). */
export interface SuiteLook {
  sha256: string;
  mayUseEnv: boolean;
}

/**
 * Reads the suite once: the sha256 run.json keeps and the env marks. A launch reads it while
 * capi-split does (the launching process is idle until the split ends), so that neither
 * waits for the split: for 1,000,000 tests the env check no longer reads 1,250 batch files
 * after it, only the 19 MB suite during it.
 */
export async function lookAtSuite(file: string, signal?: AbortSignal): Promise<SuiteLook> {
  const marks = envMarkScanner();
  const sha256 = await hashFile(file, (chunk) => marks.push(chunk), signal);
  return { sha256, mayUseEnv: marks.found };
}

/**
 * The look taken while the suite was split, if the suite is still the file capi-split was
 * given: the same size and mtime after the split as before its spawn (`before`). Null
 * otherwise, or when the read failed: the caller then computes what it did before.
 */
async function lookStill(
  file: string,
  look: Promise<SuiteLook> | null,
  before: { size: number; mtimeMs: number },
): Promise<SuiteLook | null> {
  const seen = await look?.catch(() => null);
  if (!seen) return null;
  const now = await stat(file).catch(() => null);
  return now && now.size === before.size && now.mtimeMs === before.mtimeMs ? seen : null;
}

/** Makes `capi_test_…` (with `_2`, `_3`… when the second is taken) as a fresh 0700 folder. */
async function makeRunFolder(runsDir: string, taken: (id: string) => boolean): Promise<string> {
  await makeDir(runsDir);
  const base = newRunId();
  for (let n = 1; n < 1000; n++) {
    const id = n === 1 ? base : `${base}_${n}`;
    if (taken(id)) continue;
    try {
      await mkdir(join(runsDir, id), { mode: DIR_MODE });
      return join(runsDir, id);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new CapiError(`${runsDir}: could not find a free run id`);
}

/**
 * capi-split's error in one line: its last line that is not a stack frame (warnings may
 * come first), e.g. `cannot write RUN/batches/batch_0003.ndjson: no space left on the device`.
 */
export function splitError(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !/^\s/.test(l) && !l.startsWith('Try '));
  return (lines.at(-1) ?? '').replace(/^capi-split: /, '').trim();
}

/** capi-split's warnings (`warning: suite.csv:31: … (row skipped)`) and its count of skipped rows, without its prefix. */
export function splitWarnings(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.replace(/^capi-split: /, '').trim())
    .filter((l) => l.startsWith('warning: ') || /^skipped \d+ bad rows?$/.test(l));
}

interface SplitOptions extends SplitShape {
  maxBatchSize: number | null;
  /** Each warning line, as it comes. */
  warn: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /** Aborted when the launch is interrupted: capi-split is sent SIGTERM (its end is still awaited). */
  stop: AbortSignal;
}

/** capi-split's command line (after node) for a run's batches; `--dry-run` prints it too. */
export function splitArgs(
  suite: string,
  batchSize: number,
  outDir: string,
  o: SplitShape & { maxBatchSize?: number | null; env: NodeJS.ProcessEnv },
) {
  const args = [toolBin('split', o.env), suite, '--batch-size', String(batchSize)];
  if (o.maxBatchSize && o.maxBatchSize > batchSize) args.push('--max-batch-size', String(o.maxBatchSize));
  args.push('--out', outDir, ...splitFlags(o));
  return args;
}

/**
 * Runs capi-split into the run's batches folder; its error is passed on in one line. It
 * stops at the first bad row, so the message says how to have them all named.
 */
function split(suite: string, batchSize: number, outDir: string, o: SplitOptions): Promise<void> {
  const args = splitArgs(suite, batchSize, outDir, o);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: o.env });
  if (o.stop.aborted) child.kill('SIGTERM');
  else o.stop.addEventListener('abort', () => child.kill('SIGTERM'), { once: true });
  let stderr = '';
  let pending = '';
  child.stderr.on('data', (b: Buffer) => {
    const text = b.toString('utf8');
    if (stderr.length < 64 * 1024) stderr += text;
    // warnings are passed on line by line, however many (a big suite may skip thousands)
    const lines = (pending + text).split('\n');
    pending = lines.pop() ?? '';
    for (const w of splitWarnings(lines.join('\n'))) o.warn(w);
  });
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => {
      for (const w of splitWarnings(pending)) o.warn(w);
      if (code === 0) return done();
      // capi-split's advice (--lenient, --auto-id) names flags capi-launch passes on as they are
      const text = splitError(stderr) || `capi-split exited with ${code}`;
      const hint =
        code === 2 && !o.lenient && /:\d+: /.test(text)
          ? ' (the first bad row; --lenient skips bad rows and names each)'
          : '';
      fail(new CapiError(`splitting ${basename(suite)}: ${text}${hint}`, (code === 2 ? 2 : 3) as ExitCodeValue));
    });
  });
}

/** Points `latest` at the run by renaming a new link over the old one (atomic). */
export async function pointLatest(runsDir: string, id: string): Promise<void> {
  const tmp = join(runsDir, `.latest-${process.pid}-${Date.now()}`);
  await symlink(id, tmp);
  await rename(tmp, join(runsDir, 'latest'));
}

export async function readBatchIndex(runDir: string): Promise<BatchIndex> {
  const file = runPaths(runDir).batchIndex;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    // a capi-split --force killed half-way leaves batches/ set aside: named, with its remedy
    const aside = await setAsideNote(runPaths(runDir).batches);
    throw new CapiError(aside ?? `${file}: no batch index (did capi-split write its batches?)`);
  }
  let index: BatchIndex;
  try {
    index = JSON.parse(text) as BatchIndex;
  } catch (err) {
    throw new CapiError(`${file}: malformed JSON: ${(err as Error).message}`, ExitCode.badInput);
  }
  if (!Array.isArray(index?.batches)) throw new CapiError(`${file}: field "batches": not a list`, ExitCode.badInput);
  index.batches.forEach((b, i) => {
    if (!isBatchName(b?.batch))
      throw new CapiError(
        `${file}: field "batches[${i}].batch": ${JSON.stringify(b?.batch)} is not a batch name (batch_NNNN)`,
        ExitCode.badInput,
      );
  });
  return index;
}

/** The signals that stop a launch while its run folder is made (Ctrl-C, `kill`, a closed terminal). */
const INTERRUPTS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const INTERRUPT_CODE = { SIGINT: ExitCode.sigint, SIGTERM: ExitCode.sigterm, SIGHUP: ExitCode.sighup } as const;

/**
 * Creates a run folder, splits the suite into it and writes run.json and control.json.
 * On any failure the folder is removed: no half-made run is left behind. So it is when
 * SIGINT, SIGTERM or SIGHUP comes before run.json is written: capi-split is stopped, the
 * folder removed, and the launch ends with 130, 143 or 129, saying so (docs/capi-launch.md
 * "A launch that ends before its supervisor takes the run"). `latest` is moved by the
 * caller once the run has really started.
 */
export async function createRun(o: CreateRunOptions): Promise<Manifest> {
  const stop = new AbortController();
  const seen: { sig: (typeof INTERRUPTS)[number] | null } = { sig: null };
  const onInterrupt = (sig: (typeof INTERRUPTS)[number]) => {
    seen.sig ??= sig;
    stop.abort();
  };
  for (const sig of INTERRUPTS) process.on(sig, onInterrupt);
  try {
    // makeRun looks at `stop` last after run.json is written, and returns with no wait
    // between: a signal after that look is handled once the handlers below are gone
    return await makeRun(o, stop.signal);
  } catch (err) {
    if (!seen.sig) throw err;
    throw new CapiError(
      `${seen.sig}: the launch was interrupted before its run was made: capi-split stopped, the run folder removed, nothing started`,
      INTERRUPT_CODE[seen.sig],
    );
  } finally {
    for (const sig of INTERRUPTS) process.off(sig, onInterrupt);
  }
}

/** `createRun`'s work; `stop` aborted: interrupted, the folder is removed as on any failure. */
async function makeRun(o: CreateRunOptions, stop: AbortSignal): Promise<Manifest> {
  const suite = resolve(o.suite);
  const env = o.env ?? process.env;
  const info = await stat(suite).catch(() => null);
  if (!info?.isFile()) throw new CapiError(`${o.suite}: no such file`, ExitCode.badInput);
  const runDir = await makeRunFolder(o.runsDir, o.taken ?? (() => false));
  let started: { undo(): Promise<void> } | undefined;
  // the suite read for its sha256 and env marks while capi-split runs (not with --rerun-failed's own batches)
  let look: Promise<SuiteLook> | null = null;
  // a refused split ends the launch: the look is not read to its end first
  const stopLook = new AbortController();
  try {
    const paths = runPaths(runDir);
    for (const dir of [paths.batches, paths.logs, paths.results, paths.status, paths.claims]) await makeDir(dir);
    if (o.fill) {
      started = o.alongside?.(runDir);
      await o.fill(paths.batches);
    } else {
      const warnings: string[] = [];
      const warn = (w: string) => {
        warnings.push(w);
        o.notes?.(w);
      };
      const splitting = split(suite, o.batchSize, paths.batches, {
        lenient: o.lenient === true,
        maxBatchSize: o.maxBatchSize ?? null,
        varsColumns: o.launch.varsColumns ?? [],
        autoId: o.launch.autoId === true,
        warn,
        env,
        stop,
      });
      // after capi-split's spawn: each spawn blocks this process some 10-40 ms, the split goes first
      try {
        started = o.alongside?.(runDir);
      } catch (err) {
        // the folder is removed below: not while capi-split still writes into it
        await splitting.catch(() => {});
        throw err;
      }
      look = lookAtSuite(suite, stopLook.signal);
      // a failed read is not this run's failure: the sha256 is then computed after the split, as before
      look.catch(() => {});
      await splitting;
      // kept with the run: a background run's launch output may be gone by morning
      if (warnings.length)
        await appendFile(paths.mainLog, warnings.map((w) => `capi-split: ${w}\n`).join(''), { mode: FILE_MODE });
    }
    if (stop.aborted) throw new CapiError('interrupted');
    const index = await readBatchIndex(runDir);
    const seen = await lookStill(suite, look, info);
    // before anything runs: otherwise every worker refuses it and every batch is given up
    if (!hasBaseUrl(o.launch.execArgs, env)) await refuseRelativeUrls(runDir, index, o.suite);
    await refuseMissingEnv({
      runDir,
      index,
      suite: o.suite,
      execArgs: o.launch.execArgs,
      env,
      notes: o.notes,
      // batches capi-split made from a suite with no env marks: none to read
      batchesMayUseEnv: seen?.mayUseEnv ?? true,
    });
    const manifest: Manifest = {
      id: basename(runDir),
      method: o.method,
      suite: {
        file: suite,
        sha256: o.suiteSha256 ?? seen?.sha256 ?? (await fileSha256(suite)),
        // for --resume's env check: without marks it need not read the batches again
        ...(seen ? { envMarks: seen.mayUseEnv } : {}),
      },
      total: index.total,
      batchSize: o.batchSize,
      ...(o.maxBatchSize && o.maxBatchSize > o.batchSize ? { maxBatchSize: o.maxBatchSize } : {}),
      batches: index.batches.length,
      parallel: o.parallel,
      options: o.launch,
      created: new Date().toISOString(),
      pid: null,
      session: o.method === 'tmux' || o.method === 'screen' ? basename(runDir) : null,
      state: 'created',
      verdict: null,
      finished: null,
    };
    const control: RunControl = {
      paused: false,
      rate: o.launch.rate,
      concurrency: o.launch.concurrency,
      workers: o.parallel,
    };
    if (stop.aborted) throw new CapiError('interrupted');
    await writeControl(runDir, control);
    await writeManifest(runDir, manifest);
    // a signal during the writes: the run is removed as if it had come before them
    if (stop.aborted) throw new CapiError('interrupted');
    return manifest;
  } catch (err) {
    stopLook.abort();
    await started?.undo();
    await rm(runDir, { recursive: true, force: true });
    throw err;
  }
}
