import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorMessage, InputError } from '../core/errors.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { readResult } from './result-store.ts';
import type { RunResult } from '../core/result-types.ts';
import { checkResult } from './result-schema.ts';
import { loadResultArg } from './load-result.ts';

/**
 * Baselines: one result per suite and board, at <dir>/<suite>/<board>.json, which CI compares
 * new runs against. A baseline is a verbatim copy of a run's result.json, so every reader of
 * results reads it too.
 */
export const DEFAULT_BASELINE_DIR = join('results', 'baselines');

// Labels become path segments: no separators, no leading dot, nothing a shell would mangle.
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function checkLabel(what: string, label: string): string {
  if (!LABEL.test(label)) {
    throw new InputError(`${what} "${label}" is not usable as a file name: use letters, digits, ".", "_" and "-" (e.g. orin-nx-16gb)`);
  }
  return label;
}

export function baselinePath(dir: string, suite: string, board: string): string {
  return join(resolve(dir), checkLabel('suite name', suite), `${checkLabel('--board', board)}.json`);
}

export interface BaselineUpdate {
  file: string;
  result: RunResult;
  /** The baseline this one replaced, if any. */
  replaced: RunResult | null;
  /** Facts worth a second look before committing the new baseline. */
  warnings: string[];
}

/** Copies a result into the board's baseline slot, atomically; refuses runs that did not complete. */
export function updateBaseline(resultArg: string, board: string, opts: { dir?: string; allowIncomplete?: boolean } = {}): BaselineUpdate {
  const { result, file: source } = loadResultArg(resultArg, 'RESULT');
  const file = baselinePath(opts.dir ?? DEFAULT_BASELINE_DIR, result.suite.name, board);
  if (result.status !== 'complete' && !opts.allowIncomplete) {
    throw new InputError(
      `${source}: run status is "${result.status}" (${result.cells.length} of ${result.plannedCells.length} cells): a baseline should be a complete run; pass --allow-incomplete to use it anyway`,
    );
  }
  const warnings: string[] = [];
  const failed = result.cells.filter((c) => c.status === 'failed');
  if (failed.length) warnings.push(`${failed.length} cell(s) failed in this run and have no baseline figures: ${failed.map((c) => c.id).join(', ')}`);
  let replaced: RunResult | null = null;
  if (existsSync(file)) {
    try {
      replaced = readResult(file);
    } catch (err) {
      warnings.push(`the previous baseline was unreadable and is replaced: ${errorMessage(err)}`);
    }
  }
  if (replaced) {
    const was = replaced.environment.host;
    const now = result.environment.host;
    if (was.hostname !== now.hostname || was.cpu !== now.cpu) {
      warnings.push(`board "${board}" had a baseline from host ${was.hostname} (${was.cpu}); this run is from ${now.hostname} (${now.cpu})`);
    }
    const boardWas = JSON.stringify(replaced.environment.board ?? {});
    const boardNow = JSON.stringify(result.environment.board ?? {});
    if (boardWas !== boardNow) warnings.push(`board facts changed since the previous baseline: ${boardWas} -> ${boardNow}`);
  }
  mkdirSync(resolve(file, '..'), { recursive: true });
  // Verbatim bytes: the baseline is the run's record, not a re-serialisation of it.
  writeFileAtomic(file, readFileSync(source, 'utf8'));
  return { file, result, replaced, warnings };
}

export interface BaselineEntry {
  suite: string;
  board: string;
  file: string;
  result: RunResult | null;
  /** Why the file could not be read as a result. */
  error?: string;
}

/** Every baseline under `dir`, optionally only one suite and/or board. */
export function listBaselines(dir: string = DEFAULT_BASELINE_DIR, filter: { suite?: string; board?: string } = {}): BaselineEntry[] {
  const root = resolve(dir);
  if (!existsSync(root)) return [];
  const out: BaselineEntry[] = [];
  for (const suite of readdirSync(root).sort()) {
    const suiteDir = join(root, suite);
    if (!statSync(suiteDir).isDirectory() || (filter.suite && filter.suite !== suite)) continue;
    for (const name of readdirSync(suiteDir).sort()) {
      if (!name.endsWith('.json')) continue;
      const board = name.slice(0, -'.json'.length);
      if (filter.board && filter.board !== board) continue;
      const file = join(suiteDir, name);
      try {
        out.push({ suite, board, file, result: checkResult(JSON.parse(readFileSync(file, 'utf8')), file) });
      } catch (err) {
        out.push({ suite, board, file, result: null, error: errorMessage(err) });
      }
    }
  }
  return out;
}
