/**
 * Header names (and, for issue 13, captured value names) that carry credentials, by
 * pattern rather than a list: `Authorization`, `X-Vault-Token`, `Private-Token`,
 * `Ocp-Apim-Subscription-Key`, `Cookie`, `X-Amz-Signature`... A list of five let the rest
 * reach the journal in clear (docs/capi-exec.md, "Secrets").
 */
export const CREDENTIAL_NAME = /auth|token|key|secret|session|cookie|signature|password|passwd|credential|jwt/i;

export function isCredentialName(name: string): boolean {
  return CREDENTIAL_NAME.test(name);
}
