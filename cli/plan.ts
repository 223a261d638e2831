import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { errorMessage, InputError, shortExcerpt } from '../core/errors.ts';
import { MiB, readBoundedFile } from '../core/bounded-read.ts';
import type { LoadedSuite } from '../core/suite-types.ts';
import { checkBoardLabel, checkPlanFor, parseShardCount, plannedCellIds, planShards, type ShardPlan } from '../harness/shard.ts';
import { loadSuite } from '../harness/suite-loader.ts';
import { cellWorkFromHistory } from '../history/cell-costs.ts';
import { DB_ENV, HistoryStore, resolveDbPath } from '../history/store.ts';
import { intOption } from './options.ts';

export interface PlanSettings {
  filters: readonly string[];
  iterations?: number;
  warmup?: number;
  /** Adaptive runs measure as many iterations as they needed last time. */
  adaptive?: boolean;
  /** --db; without it $BENCH_HISTORY_DB or results/history.sqlite when that file exists. */
  db?: string;
  /** Costs from this board's series only (default: the newest of any board). */
  historyBoard?: string;
}

/**
 * Expected seconds of each planned cell from the history: load once, then warm-up and measured
 * iterations at the median end-to-end request time of the newest stored run. Cells the history
 * does not know have none. A history named with --db must exist; the default one may be absent.
 */
export function expectedCellSeconds(suite: LoadedSuite, cellIds: readonly string[], s: PlanSettings): Map<string, number> {
  const explicit = s.db !== undefined || process.env[DB_ENV] !== undefined;
  const file = resolveDbPath(s.db);
  if (!explicit && !existsSync(file)) return new Map();
  const store = HistoryStore.open(file, { create: false });
  try {
    const work = cellWorkFromHistory(store, suite.suite.name, s.historyBoard);
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
  } finally {
    store.close();
  }
}

/** The suite's plan split into `count` shards, balanced by the history's costs where it has them. */
export function planSuite(suite: LoadedSuite, count: number, s: PlanSettings): ShardPlan {
  const cellIds = plannedCellIds(suite.suite, s.filters);
  return planShards({ suiteHash: suite.hash, cellIds, count, costs: expectedCellSeconds(suite, cellIds, s) });
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

/** Board labels given with --boards: one shard per board. */
export function parseBoards(text: string): string[] {
  const boards = text.split(',').map((b) => b.trim()).filter(Boolean);
  if (boards.length === 0) throw new InputError('--boards expects a comma-separated list of board labels');
  for (const b of boards) checkBoardLabel(b, '--boards');
  if (new Set(boards).size !== boards.length) throw new InputError('--boards lists a board twice');
  return boards;
}

/** The plan as printed by --json: what a CI workflow's `fromJSON` reads. */
export function planJson(suite: LoadedSuite, plan: ShardPlan, boards?: readonly string[]): object {
  return {
    suite: suite.suite.name,
    suiteHash: plan.suiteHash,
    planHash: plan.planHash,
    count: plan.count,
    costBasis: plan.costBasis,
    // Seconds the history expects for the cells it knows; cells it does not know are counted apart.
    expectedSeconds: plan.shards.reduce((s, x) => s + x.expectedSeconds, 0),
    unknownCostCells: plan.shards.reduce((s, x) => s + x.unknownCostCells, 0),
    // strategy.matrix: ${{ fromJSON(needs.plan.outputs.matrix) }} gives one job per shard (on its own board with --boards).
    matrix: boards ? { include: plan.shards.map((s, i) => ({ shard: s.label, board: boards[i]! })) } : { shard: plan.shards.map((s) => s.label) },
    shards: plan.shards,
    cells: plan.cells,
  };
}

function renderPlan(suite: LoadedSuite, plan: ShardPlan): string {
  const basis = { history: 'expected seconds from the history', 'history+median': 'expected seconds from the history (the median for cells it does not know)', count: 'cell count (no history for these cells)' }[plan.costBasis];
  const lines = [`suite ${suite.suite.name}: ${plan.cells.length} cell(s) in ${plan.count} shard(s), balanced by ${basis}; plan ${plan.planHash}`];
  for (const s of plan.shards) {
    const cost = s.unknownCostCells === s.cells.length ? 'no expected cost' : `expected ${Math.round(s.expectedSeconds)} s${s.unknownCostCells ? ` + ${s.unknownCostCells} cell(s) of unknown cost` : ''}`;
    lines.push(`  --shard ${s.label}: ${s.cells.length} cell(s), ${cost}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description('Print a suite\'s cells split into shards (bench run --shard K/N) with their expected cost; --json for a CI matrix.')
    .requiredOption('-s, --suite <name|file>', 'suite name or file')
    .option('--shards <n>', 'number of shards (boards)', intOption('--shards'))
    .option('--boards <labels>', 'comma-separated board labels, one shard each (the CI matrix then pins shard K to board K)')
    .option('-f, --filter <key=value>', 'select cells as bench run does (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
    .option('-n, --iterations <n>', 'measured iterations per cell, as the run will use (for the expected cost)', intOption('--iterations'))
    .option('-w, --warmup <n>', 'warm-up iterations per cell, as the run will use', intOption('--warmup', 0))
    .option('--db <file>', `history database with earlier runs (default $${DB_ENV} or results/history.sqlite when it exists)`)
    .option('--history-board <label>', 'take expected costs from this board\'s runs only (default: the newest run of any board)')
    .option('--json', 'print the plan as JSON (suite, planHash, matrix.shard, shards, cells, expected seconds)')
    .action((flags: { suite: string; shards?: number; boards?: string; filter: string[]; iterations?: number; warmup?: number; db?: string; historyBoard?: string; json?: boolean }) => {
      const suite = loadSuite(flags.suite);
      const boards = flags.boards !== undefined ? parseBoards(flags.boards) : undefined;
      if (boards && flags.shards !== undefined && flags.shards !== boards.length) throw new InputError(`--shards ${flags.shards} and --boards with ${boards.length} board(s) disagree: give one of them`);
      const plan = planSuite(suite, parseShardCount(boards?.length ?? flags.shards ?? 1), {
        filters: flags.filter,
        iterations: flags.iterations,
        warmup: flags.warmup,
        db: flags.db,
        historyBoard: flags.historyBoard,
      });
      process.stdout.write(flags.json ? `${JSON.stringify(planJson(suite, plan, boards))}\n` : renderPlan(suite, plan));
    });
}
