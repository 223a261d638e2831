import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorMessage, InputError } from '../core/errors.ts';
import { RESULT_SCHEMA_VERSION, type CellResult, type RunResult } from '../core/result-types.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { checkResult } from './result-schema.ts';

export const RESULT_FILE = 'result.json';

/** Run ids sort by time and stay unique when two runs start in the same second. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

export class ResultStore {
  private constructor(
    readonly runDir: string,
    readonly result: RunResult,
  ) {}

  static create(outDir: string, result: Omit<RunResult, 'runId' | 'schemaVersion'>): ResultStore {
    const runId = newRunId();
    const runDir = resolve(outDir, result.suite.name, runId);
    mkdirSync(runDir, { recursive: true });
    const store = new ResultStore(runDir, { schemaVersion: RESULT_SCHEMA_VERSION, runId, ...result });
    store.flush();
    return store;
  }

  /** Opens an existing run folder to finish it. */
  static open(runDir: string): ResultStore {
    const dir = resolve(runDir);
    const file = join(dir, RESULT_FILE);
    if (!existsSync(file)) throw new InputError(`--resume ${runDir}: no ${RESULT_FILE} in that folder`);
    return new ResultStore(dir, readResult(file));
  }

  get file(): string {
    return join(this.runDir, RESULT_FILE);
  }

  /** Records a finished cell (replacing an earlier record of the same cell) and persists it. */
  addCell(cell: CellResult): void {
    const cells = this.result.cells.filter((c) => c.id !== cell.id);
    cells.push(cell);
    cells.sort((a, b) => a.index - b.index);
    this.result.cells = cells;
    this.flush();
  }

  flush(): void {
    writeFileAtomic(this.file, `${JSON.stringify(this.result, null, 1)}\n`);
  }
}

/** Reads and validates a result file; errors name the file and the field. */
export function readResult(file: string): RunResult {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(`${file}: not a readable JSON result (${errorMessage(err)})`);
  }
  return checkResult(doc, file);
}
