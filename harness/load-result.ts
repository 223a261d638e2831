import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../core/errors.ts';
import { CELL_JOURNAL_FILE, readResult, RESULT_FILE } from './result-store.ts';
import type { RunResult } from '../core/result-types.ts';

/** A result named on the command line: a result.json (or baseline .json) file, or a run folder holding one. */
export function loadResultArg(arg: string, role: string): { result: RunResult; file: string } {
  const path = resolve(arg);
  if (!existsSync(path)) throw new InputError(`${role} ${arg}: no such file or folder`);
  let file = path;
  if (statSync(path).isDirectory()) {
    file = join(path, RESULT_FILE);
    if (!existsSync(file)) throw new InputError(`${role} ${arg}: the folder has no ${RESULT_FILE} (pass a run folder or a result file)`);
  }
  return { result: readResult(file), file };
}

/** The files reading a result touches: the file, and the cell journal beside a run folder's result.json. */
export function resultInputFiles(file: string): string[] {
  return basename(file) === RESULT_FILE ? [file, join(dirname(file), CELL_JOURNAL_FILE)] : [file];
}
