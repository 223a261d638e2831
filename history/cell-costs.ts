/**
 * What the history knows about how long each cell of a suite takes, for balancing shards
 * (harness/shard.ts): the newest stored run's median end-to-end request time, how many measured
 * iterations it took, and the model load time.
 */
import { existsSync } from 'node:fs';
import type { CellWork, CellWorkOf } from '../harness/shard-plan.ts';
import { DB_ENV, HistoryStore, resolveDbPath } from './store.ts';

export type { CellWork };

/** The history's figures per cell of the suite (of one board when given, else the newest of any board). */
export function cellWorkFromHistory(store: HistoryStore, suite: string, board?: string): Map<string, CellWork> {
  const newest = (metric: string) => {
    const byCell = new Map<string, { median: number; n: number; key: string }>();
    for (const s of store.series({ suite, metric, ...(board !== undefined ? { board } : {}) })) {
      const [p] = store.points(s.id, 1);
      if (!p || !Number.isFinite(p.median) || p.median < 0) continue;
      // Newest across boards: commit date, then start time.
      const key = `${p.commitDate}\u0000${p.startedAt}`;
      const had = byCell.get(s.cellId);
      if (!had || key > had.key) byCell.set(s.cellId, { median: p.median, n: p.n, key });
    }
    return byCell;
  };
  const e2e = newest('e2e_ms');
  const load = newest('load_ms');
  const out = new Map<string, CellWork>();
  for (const [cellId, p] of e2e) {
    if (p.median <= 0 || p.n < 1) continue;
    out.set(cellId, { e2eMs: p.median, measured: p.n, loadMs: load.get(cellId)?.median ?? null });
  }
  return out;
}

/**
 * The history's figures per cell as the shard planner takes them (harness/shard-plan.ts), from
 * the database `db` names (--db), else $BENCH_HISTORY_DB, else results/history.sqlite. A history
 * named with --db or the variable must exist; the default one may be absent (no costs then).
 */
export function historyCellWork(options: { db?: string; board?: string }): CellWorkOf {
  return (suite) => {
    const explicit = options.db !== undefined || process.env[DB_ENV] !== undefined;
    const file = resolveDbPath(options.db);
    if (!explicit && !existsSync(file)) return new Map();
    const store = HistoryStore.open(file, { create: false });
    try {
      return cellWorkFromHistory(store, suite, options.board);
    } finally {
      store.close();
    }
  };
}
