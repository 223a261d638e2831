/**
 * Errors that carry enough context for a user to fix their input: which file, which field or
 * line, and what was expected. The CLI maps them to exit code 2 ("bad input").
 */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/**
 * At most `max` characters of a text for an error message: the start and the end, with the
 * number of characters left out, so a 10 MB line or a 400 KB JSON header is never echoed.
 */
export function shortExcerpt(text: string, max = 200): string {
  if (text.length <= max) return text;
  const tail = Math.min(40, Math.floor(max / 5));
  return `${text.slice(0, max - tail)} … (${text.length - max} characters left out) … ${text.slice(text.length - tail)}`;
}

/** Longest reason a ParseError quotes (the start and end of a longer one are kept). */
const MAX_REASON = 400;

/** A log or tool output that does not match the format a parser expects. */
export class ParseError extends InputError {
  readonly reason: string;
  constructor(
    readonly source: string,
    readonly line: number | undefined,
    reason: string,
  ) {
    const short = shortExcerpt(reason, MAX_REASON);
    super(`${source}${line !== undefined ? `:${line}` : ''}: ${short}`);
    this.reason = short;
    this.name = 'ParseError';
  }
}

/** A suite file (or suite object) that fails validation. */
export class SuiteError extends InputError {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly expected: string,
  ) {
    super(`${file}: field "${field}": ${expected}`);
    this.name = 'SuiteError';
  }
}
