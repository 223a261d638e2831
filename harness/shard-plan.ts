/**
 * Planning a suite's shards for `bench plan` and `bench run --shard K/N`: the suite's cells,
 * their expected cost, the balanced split (shard.ts), or a plan file written by `bench plan
 * --json`. The costs come from the history, which this layer may not read: the caller passes
 * what the history knows about each cell (history/cell-costs.ts reads it), so nothing here
 * reaches back up into the history or the CLI.
 */
import { errorMessage, InputError, shortExcerpt } from '../core/errors.ts';
import { MiB, readBoundedFile } from '../core/bounded-read.ts';
import type { LoadedSuite } from '../core/suite-types.ts';
import { checkPlanFor, plannedCellIds, planShards, type ShardPlan } from './shard.ts';

/** What an earlier run measured of one cell: enough to expect how long it takes again. */
export interface CellWork {
  /** Median end-to-end time of one request (e2e_ms) in the newest run that has the cell. */
  e2eMs: number;
  /** Measured iterations of that run (what an adaptive cell needed last time). */
  measured: number;
  /** Median model load time of that run, when stored. */
  loadMs: number | null;
}

/** Earlier runs' figures per cell id of a suite; empty when there are none. */
export type CellWorkOf = (suiteName: string) => ReadonlyMap<string, CellWork> | Promise<ReadonlyMap<string, CellWork>>;

export interface PlanSettings {
  filters: readonly string[];
  iterations?: number;
  warmup?: number;
  /** Adaptive runs measure as many iterations as they needed last time. */
  adaptive?: boolean;
}

/**
 * Expected seconds of each planned cell: load once, then warm-up and measured iterations at the
 * median end-to-end request time of the newest earlier run. Cells with no earlier run have none.
 */
export function expectedCellSeconds(suite: LoadedSuite, cellIds: readonly string[], work: ReadonlyMap<string, CellWork>, s: PlanSettings): Map<string, number> {
  const warmup = s.warmup ?? suite.suite.defaults.warmup;
  const iterations = s.iterations ?? suite.suite.defaults.iterations;
  const adaptive = s.adaptive ?? Boolean(suite.suite.defaults.adaptive);
  const out = new Map<string, number>();
  for (const id of cellIds) {
    const w = work.get(id);
    if (!w) continue;
    const measured = adaptive ? Math.max(iterations, w.measured) : iterations;
    out.set(id, ((w.loadMs ?? 0) + w.e2eMs * (warmup + measured)) / 1000);
  }
  return out;
}

/** The suite's plan split into `count` shards, balanced by earlier runs' costs where there are any. */
export function planSuite(suite: LoadedSuite, count: number, s: PlanSettings, work: ReadonlyMap<string, CellWork> = new Map()): ShardPlan {
  const cellIds = plannedCellIds(suite.suite, s.filters);
  return planShards({ suiteHash: suite.hash, cellIds, count, costs: expectedCellSeconds(suite, cellIds, work, s) });
}

/** A plan file written by `bench plan --json`, checked against the suite and filters of this run. */
export function readPlanFile(file: string, suite: LoadedSuite, filters: readonly string[]): ShardPlan {
  // A plan of the largest allowed suite is a few MiB; a device, a pipe or a huge file is refused.
  const bytes = readBoundedFile(file, 64 * MiB, '--plan: cannot read');
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new InputError(`--plan ${file}: not a readable JSON plan (${shortExcerpt(errorMessage(err), 200)})`);
  }
  return checkPlanFor(doc, suite.hash, plannedCellIds(suite.suite, filters), `--plan ${file}`);
}
