import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { errorMessage, fileSystemProblem, FileSystemError, InputError, shortExcerpt } from '../core/errors.ts';
import { RESULT_SCHEMA_VERSION, type CellResult, type RunResult } from '../core/result-types.ts';
import { fsyncDir, removeStaleTempFiles, writeFileAtomic } from '../core/atomic-write.ts';
import { makeFolder } from '../core/output-path.ts';
import { MiB, readBoundedFile } from '../core/bounded-read.ts';
import { checkResult } from './result-schema.ts';

export const RESULT_FILE = 'result.json';
export { removeStaleTempFiles, writeFileAtomic };
/**
 * Finished cells not yet folded into result.json, one JSON line each (append-only, fsynced per
 * cell). A reader of a run folder takes result.json and then this journal: a later line of an
 * id replaces the earlier record (a failed cell run again).
 */
export const CELL_JOURNAL_FILE = 'cells.jsonl';
/**
 * The largest result.json (and cells.jsonl) read: a result file is untrusted, and JSON text
 * past V8's longest string (just under 512 MiB) cannot be parsed anyway; reading a bigger file
 * whole first cost 36 s and 4 GiB before the refusal. The largest plan a run takes without --yes
 * writes a few tens of MiB.
 */
export const MAX_RESULT_BYTES = 512 * MiB;
/** The journal is folded into result.json once it is this large and larger than result.json. */
const COMPACT_MIN_BYTES = 1 << 20;

/** Run ids sort by time and stay unique when two runs start in the same second. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

interface JournalRead {
  cells: CellResult[];
  /** Byte length of the complete lines; anything after is a torn write of a killed process. */
  validBytes: number;
  totalBytes: number;
}

/** Reads the journal's complete lines. A last line without its newline was never acknowledged. */
function readJournal(file: string): JournalRead {
  if (!existsSync(file)) return { cells: [], validBytes: 0, totalBytes: 0 };
  const buf = readBoundedFile(file, MAX_RESULT_BYTES, 'cell journal');
  const end = buf.lastIndexOf(0x0a) + 1;
  const cells: CellResult[] = [];
  let start = 0;
  let lineNo = 0;
  while (start < end) {
    const nl = buf.indexOf(0x0a, start);
    lineNo += 1;
    const line = buf.subarray(start, nl).toString('utf8');
    start = nl + 1;
    if (line.trim() === '') continue;
    try {
      cells.push(JSON.parse(line) as CellResult);
    } catch (err) {
      throw new InputError(`${file}:${lineNo}: not a readable cell record (${shortExcerpt(errorMessage(err), 200)})`);
    }
  }
  return { cells, validBytes: end, totalBytes: buf.length };
}

/** result.json's cells with the journal's replacing or adding records, in matrix order. */
function mergeCells(base: CellResult[], journal: CellResult[]): CellResult[] {
  if (journal.length === 0) return base;
  const byId = new Map(base.map((c) => [c.id, c]));
  for (const c of journal) byId.set(c.id, c);
  return [...byId.values()].sort((a, b) => a.index - b.index);
}

export class ResultStore {
  /** Position of each cell id in result.cells, so recording a cell costs O(1), not O(cells). */
  private readonly positions = new Map<string, number>();
  private journalFd: number | null = null;
  private journalBytes = 0;
  private compactedBytes = 0;
  /** result.cells is in record order since the last compaction, not matrix order. */
  private unsorted = false;

  private constructor(
    readonly runDir: string,
    readonly result: RunResult,
  ) {
    result.cells.forEach((c, i) => this.positions.set(c.id, i));
  }

  static create(outDir: string, result: Omit<RunResult, 'runId' | 'schemaVersion'>): ResultStore {
    const runId = newRunId();
    const runDir = resolve(outDir, result.suite.name, runId);
    makeFolder(runDir, 'the run folder');
    const store = new ResultStore(runDir, { schemaVersion: RESULT_SCHEMA_VERSION, runId, ...result });
    store.flush();
    return store;
  }

  /**
   * Opens an existing run folder to finish it: removes temp files of a killed writer and reads
   * result.json with the journal (a torn last line is cut off at the first append; the next
   * flush folds the journal into result.json).
   */
  static open(runDir: string): ResultStore {
    const dir = resolve(runDir);
    const file = join(dir, RESULT_FILE);
    if (!existsSync(file)) throw new InputError(`--resume ${runDir}: no ${RESULT_FILE} in that folder`);
    removeStaleTempFiles(dir, RESULT_FILE);
    return new ResultStore(dir, readResult(file));
  }

  get file(): string {
    return join(this.runDir, RESULT_FILE);
  }

  get journalFile(): string {
    return join(this.runDir, CELL_JOURNAL_FILE);
  }

  /**
   * Records a finished cell (replacing an earlier record of the same cell): one fsynced line
   * appended to the journal, so its cost is that of the cell, not of the run. The journal is
   * folded into result.json when it has grown as large as result.json (amortised O(1) per cell).
   */
  addCell(cell: CellResult): void {
    const line = Buffer.from(`${JSON.stringify(cell)}\n`, 'utf8');
    this.writing(this.journalFile, () => {
      const fd = this.openJournal();
      // A write may take only part of the line (a disk filling up); the rest is written in turn,
      // so a cell is counted only once its whole line is on disk (the next write then fails).
      for (let at = 0; at < line.length; ) at += writeSync(fd, line, at);
      fsyncSync(fd);
    });
    this.journalBytes += line.length;
    const at = this.positions.get(cell.id);
    if (at === undefined) {
      this.positions.set(cell.id, this.result.cells.length);
      const last = this.result.cells[this.result.cells.length - 1];
      if (last && last.index > cell.index) this.unsorted = true;
      this.result.cells.push(cell);
    } else {
      this.result.cells[at] = cell;
    }
    if (this.journalBytes >= Math.max(COMPACT_MIN_BYTES, this.compactedBytes)) this.flush();
  }

  /**
   * Writes the whole result atomically (result.json, fsynced) and then empties the journal. A
   * kill between the two leaves journal lines that repeat result.json's records: read back,
   * they replace identical records.
   */
  flush(): void {
    if (this.unsorted) {
      this.result.cells.sort((a, b) => a.index - b.index);
      this.positions.clear();
      this.result.cells.forEach((c, i) => this.positions.set(c.id, i));
      this.unsorted = false;
    }
    const text = `${JSON.stringify(this.result, null, 1)}\n`;
    this.writing(this.file, () => writeFileAtomic(this.file, text));
    this.compactedBytes = Buffer.byteLength(text);
    this.writing(this.journalFile, () => {
      const fd = this.openJournal();
      ftruncateSync(fd, 0);
      fsyncSync(fd);
    });
    this.journalBytes = 0;
    // Closed until the next cell: a finished run holds no file open.
    this.close();
  }

  /**
   * A write of the run's files; a file system error (disk full, read-only, permissions) becomes
   * one line naming the file and what is kept: every cell recorded before it is in result.json
   * and the journal (a torn last journal line is cut off when the run is resumed).
   */
  private writing(file: string, write: () => void): void {
    try {
      write();
    } catch (err) {
      const problem = fileSystemProblem(err, file);
      if (!problem) throw err;
      const recorded = this.result.cells.length;
      throw new FileSystemError(
        `bench run: ${problem}`,
        `kept: ${recorded} finished cell(s) in ${this.runDir}; free space (or fix the folder) and resume with: bench run --resume ${this.runDir}`,
      );
    }
  }

  /** Closes the journal file (the store can still flush: it reopens it). */
  close(): void {
    if (this.journalFd !== null) closeSync(this.journalFd);
    this.journalFd = null;
  }

  private openJournal(): number {
    if (this.journalFd !== null) return this.journalFd;
    const isNew = !existsSync(this.journalFile);
    // 'a': every write goes to the end, whatever the position.
    this.journalFd = openSync(this.journalFile, 'a');
    const { validBytes, totalBytes } = readJournal(this.journalFile);
    // A torn last line (killed mid-append) is cut off, so the next record starts on its own line.
    if (validBytes < totalBytes) ftruncateSync(this.journalFd, validBytes);
    this.journalBytes = fstatSync(this.journalFd).size;
    if (isNew) fsyncDir(this.runDir);
    return this.journalFd;
  }
}

/**
 * Reads and validates a result file; errors name the file and the field. A run folder's
 * journal (cells.jsonl beside result.json) is folded in, so a reader sees every finished cell
 * of a run still going or killed.
 */
export function readResult(file: string): RunResult {
  const bytes = readBoundedFile(file, MAX_RESULT_BYTES, 'result file');
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new InputError(`${file}: not a readable JSON result (${shortExcerpt(errorMessage(err), 200)})`);
  }
  const result = checkResult(doc, file);
  if (basename(file) !== RESULT_FILE) return result;
  const journal = readJournal(join(dirname(file), CELL_JOURNAL_FILE));
  if (journal.cells.length === 0) return result;
  result.cells = mergeCells(result.cells, journal.cells);
  return checkResult(result, `${file} + ${CELL_JOURNAL_FILE}`);
}
