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

/** A log or tool output that does not match the format a parser expects. */
export class ParseError extends InputError {
  constructor(
    readonly source: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(`${source}${line !== undefined ? `:${line}` : ''}: ${reason}`);
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
