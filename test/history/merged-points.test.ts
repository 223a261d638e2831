/**
 * A run merged from a pool's shards in the history (issue 28): its series are the pool's (the
 * --board of `history add`), and each point knows the board that measured it; `history show`
 * names it. A history file written before the column existed is read (boards unknown) and gains
 * the column when next written.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { mergeShards } from '../../analysis/merge-shards.ts';
import { exportCsv, exportJson } from '../../history/export.ts';
import { recordFromResult } from '../../history/record.ts';
import { HistoryStore } from '../../history/store.ts';
import { formatTrendMarkdown, seriesTrend } from '../../history/trend.ts';
import { boardCells, makeResult } from '../compare/make-result.ts';
import { inputs, shardResults } from '../helpers/shard-results.ts';
import { tempDir } from '../helpers/tmp.ts';

const POOL = 'orin-pool';
const add = (store: HistoryStore, r: Parameters<typeof recordFromResult>[0], date: string) =>
  store.add(recordFromResult(r, { board: POOL, commit: 'a1b2c3d4e5f60718293a', commitDate: date }));

describe('history of merged runs: each point knows its board', () => {
  it('stores the board of each cell, reads it with every point, and history show names it', () => {
    const file = join(tempDir('bench-merged-history-'), 'history.sqlite');
    const merged = mergeShards(inputs(shardResults(2, { seed: 1 }))).result;
    const single = makeResult({ seed: 5, cells: boardCells(), runId: 'single' });
    const store = HistoryStore.open(file, { create: true });
    try {
      add(store, merged, '2026-12-01T00:00:00Z');
      add(store, single, '2026-12-02T00:00:00Z');
      const series = store.series({ suite: merged.suite.name, board: POOL, metric: 'ttft_ms' });
      expect(series.map((s) => s.cellId).sort()).toEqual(merged.cells.map((c) => c.id).sort());
      for (const s of series) {
        // The merged run and the unsharded run are one series (same configuration), each point with its board.
        const points = store.points(s.id);
        expect(points.map((p) => [p.runId, p.ranOn])).toEqual([
          [merged.runId, merged.cells.find((c) => c.id === s.cellId)!.board],
          ['single', null],
        ]);
      }
      // The export says it too: the CSV's ran_on column and each JSON cell's ranOn.
      const csv = [...exportCsv(store, {})].join('').trim().split('\n');
      const column = csv[0]!.split(',').indexOf('ran_on');
      expect(column).toBeGreaterThan(0);
      const mergedRows = csv.slice(1).filter((l) => l.startsWith(`${merged.runId},`));
      expect(mergedRows.length).toBeGreaterThan(0);
      const boardsByCell = new Map(merged.cells.map((c) => [c.id, c.board]));
      for (const row of mergedRows) {
        const cell = [...boardsByCell.keys()].find((id) => row.includes(`"${id}",`) || row.includes(`,${id},`))!;
        expect(row).toContain(`${cell.includes(',') ? `"${cell}"` : cell},${boardsByCell.get(cell)},`);
      }
      // The unsharded run's cells have no board of their own: ran_on is empty after the (quoted) cell id.
      const singleRows = csv.slice(1).filter((l) => l.startsWith('single,'));
      expect(singleRows.length).toBeGreaterThan(0);
      for (const row of singleRows) expect(row).toMatch(/",,[a-z0-9_]+,/);
      const json = JSON.parse([...exportJson(store, {})].join('')) as { runs: Array<{ runId: string; cells: Array<{ cellId: string; ranOn: string | null }> }> };
      expect(json.runs.find((r) => r.runId === merged.runId)!.cells.map((c) => [c.cellId, c.ranOn])).toEqual(merged.cells.map((c) => [c.id, c.board]));
      const shown = formatTrendMarkdown(series.map((s) => seriesTrend(store, s, 10)), 'trend');
      const firstCell = merged.cells[0]!;
      expect(shown).toMatch(new RegExp(`\\| ${firstCell.id.replace(/[=,]/g, '.')} +\\| ttft_ms +\\| +2 \\| \`a1b2c3d4\` 2026-12-01 on ${firstCell.board} +\\| \`a1b2c3d4\` 2026-12-02 +\\|`));
    } finally {
      store.close();
    }
  });

  it('reads a history file written before the column (boards unknown) and adds the column when it next writes', () => {
    const file = join(tempDir('bench-old-history-'), 'history.sqlite');
    const first = makeResult({ seed: 5, cells: boardCells(), runId: 'old' });
    const store = HistoryStore.open(file, { create: true });
    add(store, first, '2026-12-01T00:00:00Z');
    store.close();
    // The layout of a file from before: no ran_on column.
    const raw = new Database(file);
    raw.exec('ALTER TABLE cells DROP COLUMN ran_on');
    raw.close();
    const columnsOf = () => {
      const db = new Database(file, { readonly: true });
      try {
        return (db.prepare('PRAGMA table_info(cells)').all() as Array<{ name: string }>).map((c) => c.name);
      } finally {
        db.close();
      }
    };
    expect(columnsOf()).not.toContain('ran_on');

    const reader = HistoryStore.open(file, { create: false });
    const [s] = reader.series({ metric: 'ttft_ms' });
    expect(reader.points(s!.id).map((p) => p.ranOn)).toEqual([null]);
    reader.close();
    // Reading changed nothing in the file.
    expect(columnsOf()).not.toContain('ran_on');

    const writer = HistoryStore.open(file, { create: true });
    try {
      const merged = mergeShards(inputs(shardResults(2, { seed: 1 }))).result;
      add(writer, merged, '2026-12-02T00:00:00Z');
      const cellOfS = merged.cells.find((c) => c.id === s!.cellId)!;
      expect(writer.points(s!.id).map((p) => p.ranOn)).toEqual([null, cellOfS.board]);
    } finally {
      writer.close();
    }
    expect(columnsOf()).toContain('ran_on');
  });
});
