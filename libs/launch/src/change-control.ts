import { CapiError, ExitCode, readPidFile, shellQuote, UsageError } from '@capi/core';
import { updateControl } from './control-file.js';
import { type Control, mayRun, readManifest, updateManifest } from './manifest.js';
import { isAlive, supervisorOf } from './process.js';

/**
 * Live changes of docs/run-folder.md control.json; workers pick them up within a second.
 * Under control.json.lock: the supervisor rewrites the file too (`workers`), and an
 * unlocked read-modify-write of either would undo the other's change.
 */
export async function changeControl(runDir: string, change: Partial<Control>): Promise<Control> {
  const next = await updateControl(runDir, (c) => ({ ...c, ...change }));
  const m = await readManifest(runDir);
  const options = { ...m.options };
  if (change.rate !== undefined) options.rate = change.rate;
  if (change.concurrency !== undefined) options.concurrency = change.concurrency;
  await updateManifest(runDir, { options });
  return next;
}

/**
 * capi-exec's rate grammar (libs/exec/src/rate.ts): `20/s`, `600/m`, `3600/h` or a bare
 * number per second. Checked here so a typo is refused at once, not by every worker;
 * the text itself goes to control.json, where capi-exec parses it again.
 */
export function checkRate(text: string, flag = '--rate'): string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|m|min|h|hour))?\s*$/i.exec(text);
  if (!m || !(Number(m[1]) > 0))
    throw new UsageError(
      flag === '--set rate'
        ? `--set rate takes N/s or N/m, or none (or 0) for no limit (got "${text}"); N/h and a bare N (per second) work too`
        : `${flag} takes a rate like 20/s, 600/m, 3600/h or 20 (per second) (got "${text}")`,
    );
  return text.trim();
}

/** `rate=50/s`, `concurrency=16` → a control change; `rate=0` or `rate=none`: no limit (control.json `rate: null`). */
export function parseSetting(text: string): Partial<Control> {
  const m = /^(rate|concurrency)=(.+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--set takes rate=N/s, rate=N/m, rate=none or concurrency=N (got "${text}")`);
  if (m[1] === 'rate') {
    const v = (m[2] as string).trim();
    if (/^(none|0+(\.0*)?(\s*\/\s*[a-z]+)?)$/i.test(v)) return { rate: null };
    return { rate: checkRate(v, '--set rate') };
  }
  const n = Number(m[2]);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`--set concurrency= takes a whole number >= 1 (got "${m[2]}")`);
  return { concurrency: n };
}

/**
 * `--pause`, `--continue` and `--set` change a live run: only a live supervisor's
 * workers read control.json. A run that is not running is refused (exit 2), saying so.
 */
export async function refuseNotRunning(runDir: string, action: string): Promise<void> {
  const m = await readManifest(runDir);
  if (mayRun(m.state) && isAlive(readPidFile(runDir), supervisorOf(runDir))) return;
  const state = mayRun(m.state) ? 'its supervisor is gone' : m.state;
  throw new CapiError(
    `${action}: run ${m.id} is not running (${state}): ${action} changes a live run; resume it (capi-launch --resume ${shellQuote(runDir)}), then ${action}`,
    ExitCode.badInput,
  );
}
