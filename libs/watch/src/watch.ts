import { realpath } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '@capi/core';
import type { Presenter } from './presenters.js';
import { createRunReader } from './run-reader.js';
import { startRunWatch } from './run-watch.js';
import { type Snapshot, snapshot } from './snapshot.js';
import { findWatchTarget, type TargetOptions, type WatchTarget } from './watch-target.js';

export interface WatchOptions extends TargetOptions {
  stallAfterS: number;
  follow: boolean;
  /** How often files are read and the dashboard may redraw. */
  tickMs?: number;
}

export interface WatchIO {
  now: () => number;
  stdout: Writable;
  /** `--summary`'s messages for people (a run being made, waited for); the others use the presenter's. */
  note?: (text: string) => void;
}

async function targetOrWait(opts: WatchOptions, presenter: Presenter, skip: string | null) {
  let waiting = false;
  for (;;) {
    const target = await findWatchTarget(opts, (text) => presenter.note(text));
    if (target && (target.kind === 'exec' || target.dir !== skip)) return realTarget(target);
    if (!opts.follow) throw new UsageError(`no run found under ${opts.runsDir}`);
    if (!waiting) presenter.note(skip ? 'waiting for the next run' : `waiting for a run under ${opts.runsDir}`);
    waiting = true;
    if (await quitWithin(presenter, 1000)) return null;
  }
}

async function realTarget(target: WatchTarget): Promise<WatchTarget> {
  return target.kind === 'run' ? { ...target, dir: await realpath(target.dir) } : target;
}

async function quitWithin(presenter: Presenter, ms: number): Promise<boolean> {
  if (!presenter.quit) return sleep(ms).then(() => false);
  // the wait is cancelled on a quit: a pending timer would hold the process for the rest of it
  const wait = new AbortController();
  const quit = await Promise.race([
    presenter.quit.then(() => true),
    sleep(ms, false, { signal: wait.signal }).catch(() => false),
  ]);
  wait.abort();
  return quit;
}

/** Prints the state of the run once (--summary). */
export async function watchSummary(opts: WatchOptions, io: WatchIO, format: (s: Snapshot) => string): Promise<number> {
  const target = await findWatchTarget(opts, io.note);
  if (!target) throw new UsageError(`no run found under ${opts.runsDir}`);
  const reader = createRunReader(await realTarget(target));
  await reader.readAll();
  await reader.close();
  const s = snapshot(reader.state, { now: io.now(), stallAfterS: opts.stallAfterS });
  io.stdout.write(format(s));
  return s.exitCode ?? 0;
}

/** Watches until the run ends (and, with --follow, the next ones); returns the exit code. */
export async function watchRuns(opts: WatchOptions, presenter: Presenter, io: WatchIO): Promise<number> {
  if (opts.follow && (opts.status || opts.journal))
    throw new UsageError('--follow watches runs, not --status/--journal');
  let code = 0;
  let skip: string | null = null;
  try {
    for (;;) {
      // After the first run, --follow takes the newest run, whatever RUN named first.
      const target = await targetOrWait(skip ? { ...opts, run: undefined } : opts, presenter, skip);
      if (!target) return code;
      // The dashboard stays on the ended run until q, unless it follows the next one.
      const stayOpen = presenter.quit !== null && !opts.follow;
      const result = await watchOne(target, opts, presenter, io, stayOpen);
      code = result.code;
      if (result.quit) return code;
      if (!opts.follow) {
        if (presenter.quit) await presenter.quit;
        return code;
      }
      skip = target.kind === 'run' ? target.dir : null;
    }
  } finally {
    presenter.close();
  }
}

function watchOne(target: WatchTarget, opts: WatchOptions, presenter: Presenter, io: WatchIO, stayOpen: boolean) {
  return new Promise<{ code: number; quit: boolean }>((resolve, reject) => {
    let settling = false;
    let done = false;
    let endCode: number | null = null;
    let lastError = '';
    const snap = (state: Parameters<typeof snapshot>[0]) =>
      snapshot(state, { now: io.now(), stallAfterS: opts.stallAfterS, failureFilter: presenter.failureFilter });
    const finish = (watch: Awaited<ReturnType<typeof startRunWatch>>, result: { code: number; quit: boolean }) => {
      if (!result.quit && stayOpen) {
        endCode = result.code;
        return;
      }
      if (done) return;
      done = true;
      watch.close().then(() => resolve(result), reject);
    };
    const onTick = (state: Parameters<typeof snapshot>[0], changed: boolean) => {
      if (settling || done || !watch) return;
      const s = snap(state);
      if (s.exitCode === null || endCode !== null) return presenter.show(s, changed, false);
      // Read everything once more before the verdict: run.json may be newer than the pid check.
      settling = true;
      const w = watch;
      w.rescan()
        .then(() => {
          const again = snap(w.state);
          presenter.show(again, true, again.exitCode !== null);
          if (again.exitCode !== null) finish(w, { code: again.exitCode, quit: false });
          settling = false;
        })
        .catch(reject);
    };
    let watch: Awaited<ReturnType<typeof startRunWatch>> | null = null;
    startRunWatch(target, {
      tickMs: opts.tickMs ?? 250,
      onTick,
      onError: (err) => {
        // Said once, not on every tick while a file stays unreadable.
        const text = `read error: ${err instanceof Error ? err.message : String(err)}`;
        if (text !== lastError) presenter.note(text);
        lastError = text;
      },
    }).then((w) => {
      watch = w;
      // The first look takes the same way to a verdict as every later one: read again first.
      onTick(w.state, true);
      presenter.quit?.then(() => finish(w, { code: endCode ?? snap(w.state).exitCode ?? 0, quit: true }));
    }, reject);
  });
}
