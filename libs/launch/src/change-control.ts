import {
  CapiError,
  CONCURRENCY_MAX,
  CONCURRENCY_MIN,
  checkRate,
  ExitCode,
  isNoRate,
  type RunControl,
  shellQuote,
  UsageError,
} from '@capi/core';
import { updateControl } from './control-file.js';
import { lookAtRun, type Manifest, mayRun, supervisedNow, updateManifest } from './manifest.js';

/**
 * Live changes of docs/run-folder.md control.json; workers pick them up within a second.
 * Under control.json.lock: the supervisor rewrites the file too (`workers`), and an
 * unlocked read-modify-write of either would undo the other's change. Both files are
 * written holding run.json.lock, and `action` (`--set`, `--pause`, `--continue`) is
 * checked again there: a run whose supervisor wrote its end after the first check
 * (`refuseNotRunning`, `pauseNote`) is refused then, with neither file changed.
 */
export async function changeControl(
  runDir: string,
  change: Partial<RunControl>,
  action?: '--set' | '--pause' | '--continue',
  notes: (t: string) => void = () => {},
): Promise<RunControl> {
  let next: RunControl | undefined;
  await updateManifest(
    runDir,
    async (m) => {
      if (action) refuseNow(runDir, m, action);
      next = await updateControl(runDir, (c) => ({ ...c, ...change }));
      // run.json's rate and concurrency: copied from the control.json just written, as by
      // every run.json write (manifest.ts withLiveLimits)
      return {};
    },
    () => notes(`waiting for ${runDir}/run.json.lock (the supervisor is writing run.json)`),
  );
  return next as RunControl;
}

/** The checks of `refuseNotRunning` and `pauseNote`, on run.json as it is under its lock. */
function refuseNow(runDir: string, m: Manifest, action: '--set' | '--pause' | '--continue'): void {
  if (action === '--set') {
    if (mayRun(m.state) && supervisedNow(runDir, m)) return;
    throw notRunningError(runDir, m, action);
  }
  if (m.state !== 'stopped' && !mayRun(m.state)) throw endedError(m, action);
}

/** `rate=50/s`, `concurrency=16` → a control change; `rate=0` or `rate=none`: no limit (control.json `rate: null`). */
export function parseSetting(text: string): Partial<RunControl> {
  const m = /^(rate|concurrency)=(.+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--set takes rate=N/s, rate=N/m, rate=none or concurrency=N (got "${text}")`);
  if (m[1] === 'rate') {
    const v = (m[2] as string).trim();
    if (isNoRate(v)) return { rate: null };
    try {
      return { rate: checkRate(v, '--set rate') };
    } catch {
      throw new UsageError(
        `--set rate takes N/s or N/m, or none (or 0) for no limit (got "${v}"); N/h and a bare N (per second) work too`,
      );
    }
  }
  const n = Number(m[2]);
  if (!Number.isSafeInteger(n) || n < CONCURRENCY_MIN || n > CONCURRENCY_MAX)
    throw new UsageError(
      `--set concurrency= takes a whole number from ${CONCURRENCY_MIN} to ${CONCURRENCY_MAX}, as capi-exec's --concurrency (got "${m[2]}")`,
    );
  return { concurrency: n };
}

/**
 * `--set` changes a live run: only a live supervisor's workers read control.json. A run
 * that is not running is refused (exit 2), saying so.
 */
export async function refuseNotRunning(runDir: string, action: string): Promise<void> {
  const { alive, manifest: m } = await lookAtRun(runDir);
  if (mayRun(m.state) && alive) return;
  throw notRunningError(runDir, m, action);
}

const notRunningError = (runDir: string, m: Manifest, action: string) =>
  new CapiError(
    `${action}: run ${m.id} is not running (${notRunning(m.state)}): ${action} changes a live run; resume it (capi-launch --resume ${shellQuote(runDir)}), then ${action}`,
    ExitCode.badInput,
  );

const endedError = (m: Manifest, action: '--set' | '--pause' | '--continue') =>
  new CapiError(
    `${action}: run ${m.id} has ended (${m.state}): there is nothing to ${action === '--pause' ? 'pause' : 'continue'}`,
    ExitCode.badInput,
  );

/**
 * `--pause` and `--continue` also change a run that is stopped or whose supervisor is
 * gone: its resume starts paused, or not, which the returned note says (null: the run is
 * live). A completed or failed run is refused (exit 2): there is nothing to pause.
 */
export async function pauseNote(runDir: string, action: '--pause' | '--continue'): Promise<string | null> {
  const { alive, manifest: m } = await lookAtRun(runDir);
  if (mayRun(m.state) && alive) return null;
  if (m.state === 'stopped' || mayRun(m.state))
    return `run ${m.id} is not running (${notRunning(m.state)}): capi-launch --resume ${shellQuote(runDir)} starts it ${action === '--pause' ? 'paused' : 'not paused'}`;
  throw endedError(m, action);
}

/** Why a run that is not live is not: its state, or, where run.json says it may run, its supervisor's end. */
const notRunning = (state: string) => (mayRun(state) ? 'its supervisor is gone' : state);
