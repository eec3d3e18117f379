import {
  controlNotTaken,
  controlRate,
  controlWorkers,
  parseRunControl,
  type RunControl,
  sayOnChange,
  type TakenLimits,
  takeLimits,
} from '@capi/core';

/**
 * What the `--hosts` supervisor keeps of control.json's rate and workers from push to push,
 * across attempts: core's `TakenLimits`, the same state a capi-exec keeps, taken by the same
 * rule (`takeLimits`), never started from run.json (its copies are looked at only while
 * nothing was taken, and named so).
 */
export type HostControl = TakenLimits;

/**
 * control.json's text as the hosts get it. A capi-exec keeps the last rate and workers it
 * took when control.json's are ones it does not take (a hand edit: core's `controlRate`,
 * `controlWorkers`), and a local worker that starts then takes run.json's; a remote job has
 * no run.json, so such a field is sent as the last one taken here (before any, run.json's
 * `options.rate`, `recorded`, and the attempt's slots, `recordedWorkers`), and `log` (the
 * supervisor's) says so once per change. JSON that is no object (null, a list) is every field
 * missing, as capi-exec reads it (core `parseRunControl`). A text that is not JSON, or a
 * recorded value not taken either, is sent as it is (the remote capi-exec then says it).
 */
export function forHosts(
  text: string,
  kept: HostControl,
  recorded: unknown,
  log: (line: string) => void,
  recordedWorkers?: number,
): string {
  const file = parseRunControl(text);
  if (!('control' in file)) return text;
  const control = file.control;
  const sent: Partial<RunControl> = { ...control };
  const said: string[] = [];
  const taken = takeLimits(control, kept);
  if (taken.rate === undefined) {
    const rate = kept.rate !== undefined ? kept.rate : controlRate({ rate: recorded as string | null });
    if (rate !== undefined) {
      sent.rate = rate;
      said.push(
        `${controlNotTaken('rate', control)}: the hosts get ${rate ?? 'no limit'} (${kept.rate !== undefined ? 'the last rate taken' : "run.json's options.rate"})`,
      );
    }
  }
  if (taken.workers === undefined) {
    const workers = kept.workers ?? controlWorkers({ workers: recordedWorkers });
    if (workers !== undefined) {
      sent.workers = workers;
      said.push(
        `${controlNotTaken('workers', control)}: the hosts share the rate by ${workers} (${kept.workers !== undefined ? 'the last taken' : "the attempt's slots"})`,
      );
    }
  }
  sayOnChange(kept, said.length === 0 ? null : `control.json: ${said.join('; ')}`, log);
  return said.length === 0 ? text : `${JSON.stringify(sent)}\n`;
}
