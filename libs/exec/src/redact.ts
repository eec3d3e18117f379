/**
 * Secrets never reach stdout, the journal, the heartbeat or logs. Two kinds are known:
 * values that came from `{{env.NAME}}` or from a credential header, collected while the
 * run goes, and credential header values by name (docs/formats.md).
 */

export const CREDENTIAL_HEADERS = new Set([
  'authorization',
  'cookie',
  'proxy-authorization',
  'x-api-key',
  'x-auth-token',
]);

export const REDACTED = '[redacted]';

export interface SecretSet {
  add(value: string): void;
  redact(text: string): string;
  readonly size: number;
}

export function createSecretSet(): SecretSet {
  const values = new Set<string>();
  let sorted: string[] = [];
  return {
    add(value: string) {
      if (value === '' || values.has(value)) return;
      values.add(value);
      // Longest first, so a secret that contains another is replaced whole.
      sorted = [...values].sort((a, b) => b.length - a.length);
    },
    redact(text: string) {
      let out = text;
      for (const s of sorted) if (out.includes(s)) out = out.replaceAll(s, REDACTED);
      return out;
    },
    get size() {
      return values.size;
    },
  };
}

/** Adds the values of credential headers (`Authorization: Bearer x` → `Bearer x` and `x`). */
export function addCredentialHeaders(secrets: { add(value: string): void }, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!CREDENTIAL_HEADERS.has(name.toLowerCase())) continue;
    secrets.add(value);
    const space = value.indexOf(' ');
    if (space > 0 && space < value.length - 1) secrets.add(value.slice(space + 1).trim());
  }
}
