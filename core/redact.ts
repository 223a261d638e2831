/**
 * Secrets a user may put in a URL's query string (`?api_key=...`, `&token=...`) are never
 * written to a result: they are replaced by REDACTED, as the API key of a header is never
 * recorded at all (issue 18, "Also").
 */
import type { Suite } from './suite-types.ts';

export const REDACTED = 'REDACTED';

/** Query parameter names that carry credentials. */
const SECRET_PARAM = String.raw`(?:api[_-]?key|apikey|key|token|access[_-]?token|auth|auth[_-]?token|authorization|secret|client[_-]?secret|password|passwd|pwd|sig|signature|x-api-key)`;
const SECRET_QUERY = new RegExp(String.raw`([?&;]${SECRET_PARAM}=)[^&#\s"']*`, 'gi');

/** The text with every secret query value (in any URL it holds) replaced by REDACTED. */
export function redactQuerySecrets(text: string): string {
  return text.replace(SECRET_QUERY, `$1${REDACTED}`);
}

/** True when the text held a query secret that redaction replaced. */
export function hasRedactedSecret(text: string): boolean {
  return new RegExp(String.raw`[?&;]${SECRET_PARAM}=${REDACTED}(?:[&#\s"']|$)`, 'i').test(text);
}

function redactDeep(value: unknown): unknown {
  if (typeof value === 'string') return redactQuerySecrets(value);
  if (Array.isArray(value)) return value.map(redactDeep);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)]));
  return value;
}

/** The suite as recorded: every string option with its URL query secrets redacted. */
export function redactSuite(suite: Suite): Suite {
  return suite.options ? { ...suite, options: redactDeep(suite.options) as Record<string, unknown> } : suite;
}
