import { controlRate, type RunControl } from '@capi/core';

/** What the `--hosts` supervisor keeps of control.json's rate from push to push, across attempts. */
export interface HostControl {
  /** The last rate taken (whole run's text; null: no limit); undefined: none yet. */
  rate?: string | null;
  /** The last line said about a rate not taken: said once per change. */
  said?: string | null;
}

/**
 * control.json's text as the hosts get it. A capi-exec keeps the last rate it took when
 * control.json's is one it does not take (a hand edit: core's `controlRate`), and a local
 * worker that starts then takes run.json's; a remote job has no run.json, so such a `rate`
 * is sent as the last one taken here (before any, run.json's copy, `recorded`), and `log`
 * (the supervisor's) says so once per change. A text that is not a JSON object, or a
 * `recorded` rate not taken either, is sent as it is (the remote capi-exec then says it).
 */
export function forHosts(text: string, kept: HostControl, recorded: unknown, log: (line: string) => void): string {
  let c: unknown;
  try {
    c = JSON.parse(text);
  } catch {
    return text;
  }
  if (!c || typeof c !== 'object' || Array.isArray(c)) return text;
  const control = c as Partial<RunControl>;
  const taken = controlRate(control);
  if (taken !== undefined) {
    kept.rate = taken;
    kept.said = null;
    return text;
  }
  const rate = kept.rate !== undefined ? kept.rate : controlRate({ rate: recorded as string | null });
  if (rate === undefined) return text;
  const line = `control.json: "rate" ${control.rate === undefined ? '(missing)' : JSON.stringify(control.rate).slice(0, 60)} is not taken (a rate such as 50/s, 600/m or 3600/h, or null for no limit): the hosts get ${rate ?? 'no limit'} (${kept.rate !== undefined ? 'the last rate taken' : "run.json's options.rate"})`;
  if (kept.said !== line) log(line);
  kept.said = line;
  return `${JSON.stringify({ ...control, rate })}\n`;
}
