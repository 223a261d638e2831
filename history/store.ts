import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { fileSystemProblem, InputError } from '../core/errors.ts';
import type { RunProvenance, RunRecord } from './record.ts';

/**
 * The result history: one SQLite file (better-sqlite3). Tables:
 * - runs: one row per distinct result (id = content hash) with its provenance;
 * - cells: each run's cells (status, error, throttling, parameters; ran_on: the board that
 *   measured the cell in a run merged from a pool's shards, the series' board being the pool);
 * - series: one row per (suite, board, cell, metric, configuration identity), the unit of change
 *   detection: a series never mixes two configurations;
 * - identities: the fields of each identity key, to name what differs between two series;
 * - samples: every measured iteration's value, per series and run (the raw data);
 * - points: each run's median per series, with the date that orders the series. It is derived
 *   from samples and kept so that a check reads 10,000 medians, not 100,000 values, per series;
 * - accepted: changes someone accepted (the new level is the baseline from that run on).
 * WAL mode and a busy timeout let several CI jobs add at once: writers queue instead of failing,
 * readers never block. Every add is one IMMEDIATE transaction, so a run lands whole or not at all.
 */

export const DEFAULT_DB = 'results/history.sqlite';
export const DB_ENV = 'BENCH_HISTORY_DB';

// 2: a series is also keyed by the cell's configuration identity (analysis/identity.ts), so two
// configurations of one cell id (another scale, thread count, ...) never share a series.
const SCHEMA_VERSION = 2;
const BUSY_TIMEOUT_MS = 30_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  key INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  run_id TEXT NOT NULL,
  suite TEXT NOT NULL,
  suite_hash TEXT NOT NULL,
  board TEXT NOT NULL,
  target TEXT NOT NULL,
  host TEXT NOT NULL,
  runner TEXT NOT NULL,
  runtime TEXT NOT NULL,
  versions TEXT NOT NULL,
  model_hash TEXT,
  precisions TEXT NOT NULL,
  power_mode TEXT NOT NULL,
  git_commit TEXT,
  git_dirty INTEGER,
  commit_date TEXT NOT NULL,
  commit_date_source TEXT NOT NULL,
  started_at TEXT NOT NULL,
  status TEXT NOT NULL,
  source TEXT NOT NULL,
  added_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_board ON runs (suite, board, commit_date, started_at);
CREATE INDEX IF NOT EXISTS runs_by_run_id ON runs (run_id);
CREATE TABLE IF NOT EXISTS cells (
  run INTEGER NOT NULL REFERENCES runs (key),
  cell_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  status TEXT NOT NULL,
  error TEXT,
  throttled INTEGER NOT NULL,
  params TEXT NOT NULL,
  ran_on TEXT,
  PRIMARY KEY (run, cell_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY,
  suite TEXT NOT NULL,
  board TEXT NOT NULL,
  cell_id TEXT NOT NULL,
  metric TEXT NOT NULL,
  unit TEXT NOT NULL,
  identity TEXT NOT NULL,
  UNIQUE (suite, board, cell_id, metric, identity)
);
CREATE TABLE IF NOT EXISTS identities (
  key TEXT PRIMARY KEY,
  fields TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points (
  series INTEGER NOT NULL REFERENCES series (id),
  run INTEGER NOT NULL REFERENCES runs (key),
  commit_date TEXT NOT NULL,
  started_at TEXT NOT NULL,
  median REAL NOT NULL,
  n INTEGER NOT NULL,
  note TEXT,
  PRIMARY KEY (series, run)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS points_in_order ON points (series, commit_date, started_at, run);
CREATE TABLE IF NOT EXISTS samples (
  series INTEGER NOT NULL,
  run INTEGER NOT NULL,
  iteration INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (series, run, iteration)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS accepted (
  series INTEGER NOT NULL REFERENCES series (id),
  run INTEGER NOT NULL REFERENCES runs (key),
  git_commit TEXT,
  accepted_at TEXT NOT NULL,
  note TEXT NOT NULL,
  PRIMARY KEY (series, run)
) WITHOUT ROWID;
`;

export interface StoredRun extends RunProvenance {
  key: number;
  addedAt: string;
}

export interface SeriesKey {
  suite: string;
  board: string;
  cellId: string;
  metric: string;
  /** Key of the cell's configuration identity (analysis/identity.ts identityKey). */
  identity: string;
}

export interface SeriesRow extends SeriesKey {
  id: number;
  unit: string;
}

/** One run's median of one series, in series order. */
export interface Point {
  run: number;
  runId: string;
  gitCommit: string | null;
  commitDate: string;
  startedAt: string;
  median: number;
  n: number;
  note: string | null;
  /** The board that measured the point, in a run merged from a pool's shards (the series' board is the pool); null otherwise. */
  ranOn: string | null;
}

/** Where a point sits in its series. */
export type PointKey = Pick<Point, 'commitDate' | 'startedAt' | 'run'>;

const POINT_COLUMNS =
  'p.run AS run, r.run_id AS runId, r.git_commit AS gitCommit, p.commit_date AS commitDate, p.started_at AS startedAt, p.median AS median, p.n AS n, p.note AS note';

/** cells.ran_on came after schema version 2's first files: added when such a file is next written, read as null until then. */
function hasRanOn(db: Database.Database): boolean {
  return (db.prepare('PRAGMA table_info(cells)').all() as Array<{ name: string }>).some((c) => c.name === 'ran_on');
}

function addRanOnColumn(db: Database.Database): void {
  if (!hasRanOn(db)) db.exec('ALTER TABLE cells ADD COLUMN ran_on TEXT');
}

export interface AcceptedChange {
  series: number;
  run: number;
  gitCommit: string | null;
  acceptedAt: string;
  note: string;
}

interface RunRow {
  key: number;
  id: string;
  run_id: string;
  suite: string;
  suite_hash: string;
  board: string;
  target: string;
  host: string;
  runner: string;
  runtime: string;
  versions: string;
  model_hash: string | null;
  precisions: string;
  power_mode: string;
  git_commit: string | null;
  git_dirty: number | null;
  commit_date: string;
  commit_date_source: RunProvenance['commitDateSource'];
  started_at: string;
  status: string;
  source: string;
  added_at: string;
}

function toStoredRun(r: RunRow): StoredRun {
  return {
    key: r.key,
    id: r.id,
    runId: r.run_id,
    suite: r.suite,
    suiteHash: r.suite_hash,
    board: r.board,
    target: r.target,
    host: r.host,
    runner: r.runner,
    runtime: r.runtime,
    versions: r.versions,
    modelHash: r.model_hash,
    precisions: r.precisions,
    powerMode: r.power_mode,
    gitCommit: r.git_commit,
    gitDirty: r.git_dirty === null ? null : r.git_dirty === 1,
    commitDate: r.commit_date,
    commitDateSource: r.commit_date_source,
    startedAt: r.started_at,
    status: r.status,
    source: r.source,
    addedAt: r.added_at,
  };
}

/** The database file named by --db, else $BENCH_HISTORY_DB, else results/history.sqlite. */
export function resolveDbPath(flag: string | undefined): string {
  return resolve(flag ?? process.env[DB_ENV] ?? DEFAULT_DB);
}

/** The database and the files SQLite keeps beside it: what no output of a history command may be. */
export function databaseFiles(db: string): string[] {
  return [db, `${db}-wal`, `${db}-shm`, `${db}-journal`];
}

export interface OpenOptions {
  /** Create the file (and its folder) when missing; readers pass false so a typo is an error, not an empty history. */
  create: boolean;
}

export interface AddOutcome {
  added: boolean;
  run: StoredRun;
}

/** A lock another job held while this one opened the file: worth another try. */
class BusyAtOpen extends Error {
  constructor(readonly reported: InputError) {
    super(reported.message);
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

export class HistoryStore {
  /** Prepared statements by SQL text: compiling a statement costs more than running it on an index. */
  private readonly statements = new Map<string, Database.Statement>();

  /** Whether the file has cells.ran_on (added at open when the store may write; read as null otherwise). */
  private readonly hasRanOn: boolean;
  /** A point's columns, with the board its cell ran on (from the run's cell row, where the file has that column). */
  private readonly pointColumns: string;
  /** Joins the point's cell (`p` the point) for its ran_on column. */
  private readonly pointCell: string;

  private constructor(
    readonly file: string,
    private readonly db: Database.Database,
  ) {
    this.hasRanOn = hasRanOn(db);
    this.pointColumns = `${POINT_COLUMNS}, ${this.hasRanOn ? 'c.ran_on' : 'NULL'} AS ranOn`;
    this.pointCell = this.hasRanOn ? 'LEFT JOIN cells c ON c.run = p.run AND c.cell_id = (SELECT s.cell_id FROM series s WHERE s.id = p.series)' : '';
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  static open(file: string, opts: OpenOptions): HistoryStore {
    const path = resolve(file);
    if (!existsSync(path)) {
      if (!opts.create) throw new InputError(`history database ${file}: no such file (create it with \`bench history add RESULT --db ${file}\`)`);
      mkdirSync(dirname(path), { recursive: true });
    }
    // SQLite does not call the busy handler for every lock (a journal-mode switch, a read racing
    // another job's first write to a fresh file): those answer SQLITE_BUSY at once, so the whole
    // open is tried again, with a pause, until the same timeout the busy handler has.
    const deadline = Date.now() + BUSY_TIMEOUT_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        return HistoryStore.openOnce(file, path, opts);
      } catch (err) {
        if (!(err instanceof BusyAtOpen) || Date.now() >= deadline) throw err instanceof BusyAtOpen ? err.reported : err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(20 * attempt, 250));
      }
    }
  }

  private static openOnce(file: string, path: string, opts: OpenOptions): HistoryStore {
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { fileMustExist: !opts.create, timeout: BUSY_TIMEOUT_MS });
      // Nothing is changed in the file (journal mode, tables) before it is known to be a bench
      // history, or an empty file this command creates: another program's SQLite file is left as it was.
      const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
      const fresh = tables.size === 0;
      if (!fresh) {
        if (!tables.has('runs') || !tables.has('meta')) {
          throw new InputError(`history database ${file}: an SQLite file, but not a bench history (no ${tables.has('runs') ? 'meta' : 'runs'} table); it was left unchanged`);
        }
        // A damaged file answers wrongly rather than failing: checked before anything is read.
        // SQLite's report holds line breaks ("*** in database main ***\nTree 13 page 13 ..."): one line here.
        const problems = (db.pragma('quick_check(5)') as { quick_check: string }[]).map((r) => r.quick_check.replace(/\s*\n\s*/g, ' '));
        if (problems.length !== 1 || problems[0] !== 'ok') {
          throw new InputError(`history database ${file}: damaged (SQLite quick_check: ${problems.slice(0, 3).join('; ')}); restore it from a copy or rebuild it with \`bench history add\``);
        }
        // An older layout is refused before the schema below adds a table to it.
        const version = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
        if (version && Number(version.value) !== SCHEMA_VERSION) {
          throw new InputError(
            `history database ${file}: schema version ${version.value}, this bench reads version ${SCHEMA_VERSION} (series are now kept per configuration identity); it was left unchanged: add the runs to a new database`,
          );
        }
      } else if (!opts.create) {
        throw new InputError(`history database ${file}: an empty SQLite file, not a bench history; add runs with \`bench history add\``);
      }
      if (opts.create) {
        // WAL is a property of the file: set once, on a file that is ours.
        if (fresh) db.pragma('journal_mode = WAL');
        // Two jobs creating a fresh file at once: the schema is created inside a write transaction.
        db.transaction(() => {
          db!.exec(SCHEMA);
          addRanOnColumn(db!);
        }).immediate();
      }
      // NORMAL is durable in WAL mode across application crashes; only a power cut can lose the last commit.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
    } catch (err) {
      db?.close();
      if (err instanceof InputError) throw err;
      const problem = fileSystemProblem(err, file);
      const reported = new InputError(problem ? `history database ${problem}` : `history database ${file}: cannot open it as SQLite (${(err as Error).message})`);
      throw isBusy(err) ? new BusyAtOpen(reported) : reported;
    }
    const store = new HistoryStore(path, db);
    store.checkSchemaVersion(opts.create);
    return store;
  }

  private checkSchemaVersion(writing: boolean): void {
    const row = this.stmt('SELECT value FROM meta WHERE key = ?').get('schema_version') as { value: string } | undefined;
    if (!row) {
      if (!writing) return;
      this.stmt('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run('schema_version', String(SCHEMA_VERSION));
    } else if (Number(row.value) !== SCHEMA_VERSION) {
      throw new InputError(`history database ${this.file}: schema version ${row.value}, this bench reads version ${SCHEMA_VERSION}`);
    }
  }

  close(): void {
    this.db.close();
  }

  /**
   * Stores a run unless a run of the same run id is already there (the same run read twice, or
   * read again after `bench run --resume` finished it): a run is stored once. One transaction.
   */
  add(record: RunRecord, now = new Date()): AddOutcome {
    const p = record.provenance;
    const insertRun = this.stmt(`INSERT OR IGNORE INTO runs (id, run_id, suite, suite_hash, board, target, host, runner, runtime, versions,
      model_hash, precisions, power_mode, git_commit, git_dirty, commit_date, commit_date_source, started_at, status, source, added_at)
      VALUES (@id, @runId, @suite, @suiteHash, @board, @target, @host, @runner, @runtime, @versions, @modelHash, @precisions, @powerMode,
      @gitCommit, @gitDirty, @commitDate, @commitDateSource, @startedAt, @status, @source, @addedAt)`);
    const insertCell = this.stmt('INSERT INTO cells (run, cell_id, position, status, error, throttled, params, ran_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const findSeries = this.stmt('SELECT id FROM series WHERE suite = ? AND board = ? AND cell_id = ? AND metric = ? AND identity = ?');
    const insertSeries = this.stmt('INSERT INTO series (suite, board, cell_id, metric, unit, identity) VALUES (?, ?, ?, ?, ?, ?)');
    const insertIdentity = this.stmt('INSERT OR IGNORE INTO identities (key, fields) VALUES (?, ?)');
    const insertPoint = this.stmt('INSERT INTO points (series, run, commit_date, started_at, median, n, note) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const insertSample = this.stmt('INSERT INTO samples (series, run, iteration, value) VALUES (?, ?, ?, ?)');
    const seriesIds = new Map<string, number>();
    const sameRun = this.stmt('SELECT id FROM runs WHERE run_id = ? LIMIT 1');
    let storedId = p.id;
    const tx = this.db.transaction((): boolean => {
      const stored = sameRun.get(p.runId) as { id: string } | undefined;
      if (stored) {
        storedId = stored.id;
        return false;
      }
      const info = insertRun.run({ ...p, gitDirty: p.gitDirty === null ? null : p.gitDirty ? 1 : 0, addedAt: now.toISOString() });
      if (info.changes === 0) return false;
      const run = Number(info.lastInsertRowid);
      for (const [position, cell] of record.cells.entries()) {
        insertCell.run(run, cell.cellId, position, cell.status, cell.error ?? null, cell.throttled ? 1 : 0, JSON.stringify(cell.params), cell.ranOn ?? null);
        if (cell.metrics.size) insertIdentity.run(cell.identityKey, JSON.stringify(cell.identity.fields));
        for (const [metric, m] of cell.metrics) {
          const key = `${cell.cellId}\u0000${metric}`;
          let series = seriesIds.get(key);
          if (series === undefined) {
            const found = findSeries.get(p.suite, p.board, cell.cellId, metric, cell.identityKey) as { id: number } | undefined;
            series = found ? found.id : Number(insertSeries.run(p.suite, p.board, cell.cellId, metric, m.unit, cell.identityKey).lastInsertRowid);
            seriesIds.set(key, series);
          }
          insertPoint.run(series, run, p.commitDate, p.startedAt, m.median, m.values.length, m.note ?? null);
          m.values.forEach((v, i) => insertSample.run(series, run, i, v));
        }
      }
      return true;
    });
    const added = tx.immediate();
    return { added, run: this.runById(added ? p.id : storedId)! };
  }

  runById(id: string): StoredRun | undefined {
    const row = this.stmt('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row ? toStoredRun(row) : undefined;
  }

  /** Runs in series order (commit date, then start), optionally of one suite and board. */
  runs(filter: { suite?: string; board?: string } = {}): StoredRun[] {
    const where: string[] = [];
    const args: string[] = [];
    for (const col of ['suite', 'board'] as const) {
      const v = filter[col];
      if (v === undefined) continue;
      where.push(`${col} = ?`);
      args.push(v);
    }
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY suite, board, commit_date, started_at, key`;
    return (this.stmt(sql).all(...args) as RunRow[]).map(toStoredRun);
  }

  countRuns(suite: string, board: string): number {
    return (this.stmt('SELECT count(*) AS n FROM runs WHERE suite = ? AND board = ?').get(suite, board) as { n: number }).n;
  }

  boardsOf(suite: string): string[] {
    return (this.stmt('SELECT DISTINCT board FROM runs WHERE suite = ? ORDER BY board').all(suite) as Array<{ board: string }>).map((r) => r.board);
  }

  series(filter: Partial<SeriesKey> = {}): SeriesRow[] {
    const cols: Array<[keyof SeriesKey, string]> = [['suite', 'suite'], ['board', 'board'], ['cellId', 'cell_id'], ['metric', 'metric'], ['identity', 'identity']];
    const where = cols.filter(([k]) => filter[k] !== undefined);
    const sql = `SELECT id, suite, board, cell_id AS cellId, metric, unit, identity FROM series ${where.length ? `WHERE ${where.map(([, c]) => `${c} = ?`).join(' AND ')}` : ''} ORDER BY suite, board, id`;
    return this.stmt(sql).all(...where.map(([k]) => filter[k])) as SeriesRow[];
  }

  findSeries(key: SeriesKey): SeriesRow | undefined {
    return this.series(key)[0];
  }

  /** The identity fields stored under a key (analysis/identity.ts), undefined for an unknown key. */
  identityFields(key: string): Record<string, string> | undefined {
    const row = this.stmt('SELECT fields FROM identities WHERE key = ?').get(key) as { fields: string } | undefined;
    return row ? (JSON.parse(row.fields) as Record<string, string>) : undefined;
  }

  /** The distinct stored commits of a suite and board that begin with `prefix`, sorted. */
  commitsWithPrefix(suite: string, board: string, prefix: string): string[] {
    return (
      this.stmt('SELECT DISTINCT git_commit AS c FROM runs WHERE suite = ? AND board = ? AND git_commit IS NOT NULL AND substr(git_commit, 1, length(?)) = ? ORDER BY git_commit').all(
        suite,
        board,
        prefix,
        prefix,
      ) as Array<{ c: string }>
    ).map((r) => r.c);
  }

  /** The newest stored run of a suite and board before a position (the run a check's candidate follows). */
  previousRun(suite: string, board: string, before: PointKey): StoredRun | undefined {
    const row = this.db
      .prepare(
        `SELECT * FROM runs WHERE suite = ? AND board = ? AND (commit_date, started_at, key) < (?, ?, ?)
         ORDER BY commit_date DESC, started_at DESC, key DESC LIMIT 1`,
      )
      .get(suite, board, before.commitDate, before.startedAt, before.run < 0 ? Number.MAX_SAFE_INTEGER : before.run) as RunRow | undefined;
    return row ? toStoredRun(row) : undefined;
  }

  /** The points of a series in order; with `last`, only the newest that many. */
  points(series: number, last?: number): Point[] {
    return this.window(series, { last: last ?? -1 });
  }

  /**
   * The points of a series between two positions (both included), in order, at most the newest
   * `last` of them (-1: all). Positions order by commit date, then start, then insertion.
   */
  window(series: number, range: { from?: PointKey; to?: PointKey; last: number }): Point[] {
    const where = ['p.series = ?'];
    const args: Array<string | number> = [series];
    if (range.from) {
      where.push('(p.commit_date, p.started_at, p.run) >= (?, ?, ?)');
      args.push(range.from.commitDate, range.from.startedAt, range.from.run);
    }
    if (range.to) {
      where.push('(p.commit_date, p.started_at, p.run) <= (?, ?, ?)');
      args.push(range.to.commitDate, range.to.startedAt, range.to.run);
    }
    const rows = this.db
      .prepare(`SELECT ${this.pointColumns} FROM points p JOIN runs r ON r.key = p.run ${this.pointCell} WHERE ${where.join(' AND ')}
        ORDER BY p.commit_date DESC, p.started_at DESC, p.run DESC LIMIT ?`)
      .all(...args, range.last) as Point[];
    return rows.reverse();
  }

  /** The status of a cell in the newest run of the suite and board before `before` that has it. */
  lastCellStatus(suite: string, board: string, cellId: string, before: PointKey): string | undefined {
    const row = this.db
      .prepare(
        `SELECT c.status AS status FROM cells c JOIN runs r ON r.key = c.run WHERE r.suite = ? AND r.board = ? AND c.cell_id = ?
         AND (r.commit_date, r.started_at, r.key) < (?, ?, ?) ORDER BY r.commit_date DESC, r.started_at DESC, r.key DESC LIMIT 1`,
      )
      .get(suite, board, cellId, before.commitDate, before.startedAt, before.run < 0 ? Number.MAX_SAFE_INTEGER : before.run) as { status: string } | undefined;
    return row?.status;
  }

  /** The stored per-iteration values of a series for the given runs, by run. */
  samples(series: number, runs: readonly number[]): Map<number, number[]> {
    const out = new Map<number, number[]>(runs.map((r) => [r, []]));
    if (!runs.length) return out;
    // One statement for the whole window: the run list travels as a JSON array.
    const rows = this.stmt('SELECT run, value FROM samples WHERE series = ? AND run IN (SELECT value FROM json_each(?)) ORDER BY run, iteration').all(series, JSON.stringify(runs)) as Array<{ run: number; value: number }>;
    for (const r of rows) out.get(r.run)!.push(r.value);
    return out;
  }

  /** A run's cells as stored. */
  cellsOf(run: number): Array<{ cellId: string; status: string; error: string | null; throttled: boolean; params: Record<string, unknown>; ranOn: string | null }> {
    const ranOn = this.hasRanOn ? 'ran_on' : 'NULL AS ran_on';
    return (this.stmt(`SELECT cell_id, status, error, throttled, params, ${ranOn} FROM cells WHERE run = ? ORDER BY position`).all(run) as Array<{
      cell_id: string;
      status: string;
      error: string | null;
      throttled: number;
      params: string;
      ran_on: string | null;
    }>).map((c) => ({ cellId: c.cell_id, status: c.status, error: c.error, throttled: c.throttled === 1, params: JSON.parse(c.params) as Record<string, unknown>, ranOn: c.ran_on }));
  }

  /** A run's median of every series, with the series. */
  pointsOfRun(run: number): Array<{ series: number; cellId: string; metric: string; unit: string; median: number; n: number; note: string | null }> {
    return this.db
      .prepare('SELECT p.series AS series, s.cell_id AS cellId, s.metric AS metric, s.unit AS unit, p.median AS median, p.n AS n, p.note AS note FROM points p JOIN series s ON s.id = p.series WHERE p.run = ? ORDER BY p.series')
      .all(run) as Array<{ series: number; cellId: string; metric: string; unit: string; median: number; n: number; note: string | null }>;
  }

  /** Every stored value of the matching series (for export), in series order. */
  *allSamples(filter: { suite?: string; board?: string }): IterableIterator<{ run: number; series: number; iteration: number; value: number }> {
    const where: string[] = [];
    const args: string[] = [];
    for (const col of ['suite', 'board'] as const) {
      const v = filter[col];
      if (v === undefined) continue;
      where.push(`s.${col} = ?`);
      args.push(v);
    }
    const sql = `SELECT v.run AS run, v.series AS series, v.iteration AS iteration, v.value AS value FROM samples v JOIN series s ON s.id = v.series
      JOIN runs r ON r.key = v.run ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY r.commit_date, r.started_at, r.key, v.series, v.iteration`;
    yield* this.stmt(sql).iterate(...args) as IterableIterator<{ run: number; series: number; iteration: number; value: number }>;
  }

  /** The newest accepted change of a series at or before `to`: the point where the accepted level begins. */
  lastAccepted(series: number, to?: PointKey): Point | undefined {
    const bound = to ? 'AND (p.commit_date, p.started_at, p.run) <= (?, ?, ?)' : '';
    const args: Array<string | number> = to ? [series, to.commitDate, to.startedAt, to.run] : [series];
    return this.db
      .prepare(
        `SELECT ${this.pointColumns} FROM accepted a CROSS JOIN points p ON p.series = a.series AND p.run = a.run JOIN runs r ON r.key = a.run ${this.pointCell}
         WHERE a.series = ? ${bound} ORDER BY p.commit_date DESC, p.started_at DESC, p.run DESC LIMIT 1`,
      )
      .get(...args) as Point | undefined;
  }

  accepted(series: number): AcceptedChange[] {
    return this.db
      .prepare('SELECT series, run, git_commit AS gitCommit, accepted_at AS acceptedAt, note FROM accepted WHERE series = ? ORDER BY accepted_at')
      .all(series) as AcceptedChange[];
  }

  /**
   * Accepts, in each series, the level that begins at the first run of `commit` (a full hash or
   * a prefix): from that run on, the series is judged against its new level. Returns the series
   * it applied to; series with no run of that commit are left alone.
   */
  accept(series: readonly SeriesRow[], commit: string, note: string, now = new Date()): Array<{ series: SeriesRow; point: Point }> {
    const first = this.stmt(
      `SELECT ${this.pointColumns} FROM points p JOIN runs r ON r.key = p.run ${this.pointCell} WHERE p.series = @series AND substr(r.git_commit, 1, length(@commit)) = @commit ORDER BY p.commit_date, p.started_at, p.run LIMIT 1`,
    );
    const insert = this.stmt('INSERT OR REPLACE INTO accepted (series, run, git_commit, accepted_at, note) VALUES (?, ?, ?, ?, ?)');
    const done: Array<{ series: SeriesRow; point: Point }> = [];
    this.db
      .transaction(() => {
        for (const s of series) {
          const point = first.get({ series: s.id, commit }) as Point | undefined;
          if (!point) continue;
          insert.run(s.id, point.run, point.gitCommit, now.toISOString(), note);
          done.push({ series: s, point });
        }
      })
      .immediate();
    return done;
  }

  /** For benchmarks: many adds in one transaction (a CI job adds one run at a time). */
  addMany(records: Iterable<RunRecord>, now = new Date()): number {
    let added = 0;
    this.db.transaction(() => {
      for (const r of records) if (this.add(r, now).added) added++;
    })();
    return added;
  }
}
