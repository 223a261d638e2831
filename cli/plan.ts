import type { Command } from 'commander';
import { InputError } from '../core/errors.ts';
import type { LoadedSuite } from '../core/suite-types.ts';
import { checkBoardLabel, parseShardCount, type ShardPlan } from '../harness/shard.ts';
import { planSuite } from '../harness/shard-plan.ts';
import { loadSuite } from '../harness/suite-loader.ts';
import { historyCellWork } from '../history/cell-costs.ts';
import { DB_ENV } from '../history/store.ts';
import { intOption } from './options.ts';

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
    .action(async (flags: { suite: string; shards?: number; boards?: string; filter: string[]; iterations?: number; warmup?: number; db?: string; historyBoard?: string; json?: boolean }) => {
      const suite = loadSuite(flags.suite);
      const boards = flags.boards !== undefined ? parseBoards(flags.boards) : undefined;
      if (boards && flags.shards !== undefined && flags.shards !== boards.length) throw new InputError(`--shards ${flags.shards} and --boards with ${boards.length} board(s) disagree: give one of them`);
      const count = parseShardCount(boards?.length ?? flags.shards ?? 1);
      const work = await historyCellWork({ db: flags.db, board: flags.historyBoard })(suite.suite.name);
      const plan = planSuite(suite, count, { filters: flags.filter, iterations: flags.iterations, warmup: flags.warmup }, work);
      process.stdout.write(flags.json ? `${JSON.stringify(planJson(suite, plan, boards))}\n` : renderPlan(suite, plan));
    });
}
