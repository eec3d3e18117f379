/** What stderr can show a person: colour and live lines only on a TTY, never with NO_COLOR. */

export function useColor(stream: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  if ('NO_COLOR' in env && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

export function isLive(stream: NodeJS.WriteStream = process.stderr, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

const codes = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1, cyan: 36 } as const;
export type Color = keyof typeof codes;

export function paint(on: boolean) {
  return (color: Color, text: string) => (on ? `\x1b[${codes[color]}m${text}\x1b[0m` : text);
}

/** Rewrites one status line in place on a TTY. */
export function liveLine(stream: NodeJS.WriteStream) {
  let shown = false;
  return {
    update(text: string) {
      const width = stream.columns ? stream.columns - 1 : 120;
      stream.write(`\r\x1b[2K${text.slice(0, width)}`);
      shown = true;
    },
    clear() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)}m`;
  // Round the minutes first: 7190 s is 2h00m, not 1h60m.
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** `1 test`, `2 tests`; `1 batch`, `2 batches`: counts in messages for people. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
