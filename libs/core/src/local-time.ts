/**
 * Times shown to people (terminal output, text reports, tables): local time with its UTC
 * offset, `2026-01-01 11:30:00 +01:00`, so a reader at 3 a.m. reads their own clock and
 * a log pasted elsewhere is still unambiguous. Machine fields (records, run.json, JSON
 * reports, log lines) stay ISO UTC (`…Z`). docs/formats.md, "Times".
 */
export function localTime(value: string | number | Date | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return '-';
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const zone = `${off < 0 ? '-' : '+'}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${zone}`;
}

/** The clock part alone (`11:30:05`), where a box shows the zone once in its label. */
export function localClock(value: string | number | Date): string {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return '-';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The zone as shown after local times: `+01:00`. */
export function localZone(at: Date = new Date()): string {
  return localTime(at).slice(-6);
}
