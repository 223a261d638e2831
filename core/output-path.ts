/**
 * No output ever overwrites an input. Every command that writes files names what it writes (a
 * file, or a folder it owns whole) and what it reads (result files, run folders, the history
 * database); an output that is, contains or lies inside an input is refused before anything is
 * read or written. Paths are compared after following symbolic links, so a link to an input is
 * that input.
 */
import { accessSync, constants, existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { errorMessage, fileSystemProblem, InputError } from './errors.ts';

/** The real path of `path`, or of its nearest existing ancestor joined with the rest when it does not exist yet. */
export function realPathOf(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : `${realPathOf(parent)}${sep}${basename(abs)}`.replace(/\/\/+/g, '/');
  }
}

/** Whether `inner` is `outer` or lies inside it. */
function within(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel));
}

export interface OutputCheck {
  /** The flag that named the output, for the message ("--out"). */
  flag: string;
  /** What the user typed, shown in the message. */
  given: string;
  /** The paths the command writes: a file, or a folder it replaces or fills. */
  writes: readonly string[];
  /** Everything the command reads: result files, run folders, the database. */
  reads: readonly string[];
}

/** Refuses (exit 2) when a path the command writes is, contains or lies inside one of its inputs. */
export function refuseOutputOverInput(check: OutputCheck): void {
  const inputs = check.reads.map((p) => ({ given: p, real: realPathOf(p) }));
  for (const written of check.writes.map(realPathOf)) {
    for (const input of inputs) {
      const how = written === input.real ? 'is' : within(input.real, written) ? 'contains' : within(written, input.real) ? 'lies inside' : null;
      if (how) throw new InputError(`${check.flag} ${check.given}: the output ${how} the input ${input.given}; write somewhere else (no output may overwrite an input)`);
    }
  }
}

/** Refuses (exit 2) an output file path that names an existing folder. */
export function refuseFolderAsFile(flag: string, path: string): void {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new InputError(`${flag} ${path}: is a folder; name a file to write`);
}

/** Refuses (exit 2) an output folder path that names an existing file. */
export function refuseFileAsFolder(flag: string, path: string): void {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw new InputError(`${flag} ${path}: is a file, not a folder; name a folder to write into`);
}

/**
 * mkdir -p that names the real obstacle when it fails: Node's recursive mkdir can report ENOENT
 * for a parent that exists but cannot be written; the nearest existing folder is checked for
 * write access and named instead. Errors are one line (exit 2).
 */
export function makeFolder(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    let existing = resolve(dir);
    while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
    let obstacle = fileSystemProblem(err) ?? errorMessage(err);
    try {
      accessSync(existing, constants.W_OK);
      if (!statSync(existing).isDirectory()) obstacle = `${existing}: is a file, not a folder`;
    } catch (access) {
      obstacle = fileSystemProblem(access, existing) ?? obstacle;
    }
    throw new InputError(`cannot create ${what} ${dir}: ${obstacle}`);
  }
}
