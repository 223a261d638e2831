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

/**
 * A document (suite, targets file, result, calibration, runner options) that fails validation:
 * which file, which field, what was expected. `message` may hold several issues; the fields
 * describe the first.
 */
export class ValidationError extends InputError {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly expected: string,
    message = `${file}: field "${field}": ${expected}`,
  ) {
    super(message);
    this.name = 'ValidationError';
  }
}

/** A compiled graph that could not be run on the board (tool missing, non-zero exit, no latency in its output). */
export class GraphRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphRunError';
  }
}

/**
 * A composed (Axera-method) figure that the measured subgraphs cannot give: bad input (exit 2),
 * never a crash. `missingGraphs` names the prefill graphs a row needs that were not measured.
 */
export class CompositionError extends InputError {
  constructor(
    message: string,
    readonly missingGraphs: string[] = [],
  ) {
    super(message);
    this.name = 'CompositionError';
  }
}

/** The server put an error object in its stream. */
export class StreamServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamServerError';
  }
}

export type FileReadProblem = 'missing' | 'denied' | 'other';

/** A file a probe or loader needed could not be read, and why in plain words. */
export class FileReadError extends Error {
  constructor(
    readonly path: string,
    readonly problem: FileReadProblem,
    detail: string,
  ) {
    super(`${path}: ${problem === 'missing' ? 'does not exist' : problem === 'denied' ? 'permission denied' : detail}`);
    this.name = 'FileReadError';
  }
}

/** Whatever was thrown, as an Error (a thrown string or object becomes the message). */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  try {
    return new Error(JSON.stringify(thrown));
  } catch {
    return new Error(String(thrown));
  }
}

/** The message of whatever was thrown. */
export function errorMessage(thrown: unknown): string {
  return toError(thrown).message;
}

/** Plain words for the file system errors a user can act on (space, permissions, a wrong kind of path). */
const FILE_SYSTEM_PROBLEMS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for the file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENAMETOOLONG: 'name too long',
  ENOENT: 'no such file or folder',
  EEXIST: 'already exists',
  SQLITE_FULL: 'no space left on the device (SQLite: database or disk is full)',
  SQLITE_READONLY: 'the database cannot be written (read-only file or folder)',
  SQLITE_CANTOPEN: 'the database cannot be opened (missing folder or permission denied)',
  SQLITE_IOERR: 'input/output error while writing',
  SQLITE_PERM: 'permission denied',
};

/** Errors that are always about the file being written. */
const WRITE_SIDE = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS']);

/**
 * A one-line description of a file system error (disk full, permission denied, a file where a
 * folder was expected), naming the path; null for any other error. `path` names the file when
 * the error itself does not (SQLite errors carry no path).
 */
export function fileSystemProblem(thrown: unknown, path?: string): string | null {
  if (!(thrown instanceof Error)) return null;
  const e = thrown as NodeJS.ErrnoException & { dest?: string };
  const code = typeof e.code === 'string' ? e.code : '';
  const words = FILE_SYSTEM_PROBLEMS[code] ?? (code.startsWith('SQLITE_IOERR') ? FILE_SYSTEM_PROBLEMS['SQLITE_IOERR'] : undefined);
  if (!words) return null;
  // A copy or rename that fails for space or a read-only file system failed at its destination;
  // Node names the source in `path` and the destination in `dest`.
  const where = (WRITE_SIDE.has(code) ? e.dest : undefined) ?? e.path ?? path;
  return `${where ? `${where}: ` : ''}${words} (${code})`;
}

/**
 * A file system error (disk full, permissions) turned into bad input: one line naming the path
 * and what was kept of the work (`kept`: "runs added: a, b" or "the old site is as it was").
 */
export class FileSystemError extends InputError {
  constructor(problem: string, kept: string) {
    super(`${problem}; ${kept}`);
    this.name = 'FileSystemError';
  }
}
