import type { HistoryStore, StoredRun } from './store.ts';

/** `bench history export`: the stored history as CSV or JSON, produced line by line (a long history does not fit a string). */

export interface ExportFilter {
  suite?: string;
  board?: string;
}

export const CSV_COLUMNS = [
  'run_id', 'content_id', 'suite', 'board', 'target', 'host', 'runner', 'runtime', 'model_hash', 'precisions', 'power_mode',
  'git_commit', 'commit_date', 'started_at', 'cell_id', 'ran_on', 'metric', 'unit', 'iteration', 'value',
] as const;

/** RFC 4180: quote a field holding a comma, quote or line break, doubling its quotes. */
function csvField(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per stored iteration value, runs in commit-date order. */
export function* exportCsv(store: HistoryStore, filter: ExportFilter): Generator<string> {
  yield `${CSV_COLUMNS.join(',')}\n`;
  const runs = new Map(store.runs(filter).map((r) => [r.key, r]));
  const series = new Map(store.series(filter).map((s) => [s.id, s]));
  // ran_on: the board that measured the cell in a run merged from a pool's shards (empty otherwise).
  const boardsOfRun = new Map<number, Map<string, string | null>>();
  const ranOn = (run: number, cellId: string): string | null => {
    let boards = boardsOfRun.get(run);
    if (!boards) boardsOfRun.set(run, (boards = new Map(store.cellsOf(run).map((c) => [c.cellId, c.ranOn]))));
    return boards.get(cellId) ?? null;
  };
  for (const v of store.allSamples(filter)) {
    const r = runs.get(v.run)!;
    const s = series.get(v.series)!;
    const row = [r.runId, r.id, r.suite, r.board, r.target, r.host, r.runner, r.runtime, r.modelHash, r.precisions, r.powerMode, r.gitCommit, r.commitDate, r.startedAt, s.cellId, ranOn(v.run, s.cellId), s.metric, s.unit, v.iteration, v.value];
    yield `${row.map(csvField).join(',')}\n`;
  }
}

function runJson(store: HistoryStore, run: StoredRun): string {
  const { key, ...provenance } = run;
  const cells = store.cellsOf(key);
  const points = store.pointsOfRun(key);
  const samples = new Map<number, number[]>();
  for (const p of points) samples.set(p.series, store.samples(p.series, [key]).get(key) ?? []);
  const out = {
    ...provenance,
    cells: cells.map((c) => ({
      ...c,
      metrics: Object.fromEntries(
        points.filter((p) => p.cellId === c.cellId).map((p) => [p.metric, { unit: p.unit, median: p.median, ...(p.note ? { note: p.note } : {}), values: samples.get(p.series)! }]),
      ),
    })),
  };
  return JSON.stringify(out);
}

/** `{"format": ..., "runs": [...]}` with one object per run: provenance, cells, and per metric its median and every value. */
export function* exportJson(store: HistoryStore, filter: ExportFilter): Generator<string> {
  yield '{"format":"vlm-edge-bench/history-export@1","runs":[\n';
  let first = true;
  for (const run of store.runs(filter)) {
    yield `${first ? '' : ',\n'}${runJson(store, run)}`;
    first = false;
  }
  yield '\n]}\n';
}
