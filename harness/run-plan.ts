/**
 * Checks a run makes before it creates its folder (issue 18): the plan's size, and on --resume,
 * that the flags given agree with the run being finished. Part of the harness: pure functions
 * over the suite, the flags and the stored RunResult.
 */
import { InputError } from '../core/errors.ts';
import { parseFilters } from '../core/matrix.ts';
import type { IterationRecord } from '../core/events.ts';
import type { RunResult } from '../core/result-types.ts';
import type { Suite } from '../core/suite-types.ts';
import { THIS_MACHINE_TARGETS } from '../targets/targets.ts';

/** Beyond these a plan is refused unless the user confirms it (--yes). */
export const PLAN_LIMITS = { cells: 2000, iterations: 20000 } as const;
/** Never run, even with --yes: every cell's record is kept in memory while the run goes. */
export const HARD_CELL_LIMIT = 1_000_000;
/** The time estimate assumes this per iteration: a fast VLM request; real ones are slower. */
const ASSUMED_ITERATION_S = 1;

/** Cells the filters select, counted without expanding the matrix (10^9 cells must not be built). */
export function plannedCellCount(matrix: Suite['matrix'], filters: readonly string[]): number {
  const byAxis = new Map(parseFilters(filters, matrix).map((f) => [f.axis, new Set(f.values)]));
  let count = 1;
  for (const [axis, values] of Object.entries(matrix)) {
    const wanted = byAxis.get(axis);
    count *= wanted ? values.filter((v) => wanted.has(String(v))).length : values.length;
  }
  return count;
}

function hours(seconds: number): string {
  return seconds >= 3600 ? `${(seconds / 3600).toFixed(1)} h` : `${Math.ceil(seconds / 60)} min`;
}

export interface PlanSize {
  cells: number;
  warmup: number;
  /** Measured iterations per cell (the minimum when adaptive). */
  iterations: number;
  /** Adaptive plans: the most iterations and seconds a cell may take. */
  adaptive?: { maxIterations: number; maxCellSeconds: number } | null;
}

/**
 * Refuses a plan too large to be what the user meant, with its numbers, unless confirmed; a plan
 * beyond HARD_CELL_LIMIT is refused always. The time figure is labelled an estimate with its
 * assumption: no cell has run yet.
 */
export function checkPlanSize(plan: PlanSize, confirmed: boolean): void {
  const perCell = plan.warmup + (plan.adaptive ? plan.adaptive.maxIterations : plan.iterations);
  const iterations = plan.cells * perCell;
  const estimateS = plan.adaptive
    ? plan.cells * Math.min(plan.adaptive.maxCellSeconds, perCell * ASSUMED_ITERATION_S)
    : iterations * ASSUMED_ITERATION_S;
  const numbers =
    `${plan.cells.toLocaleString('en-US')} cells x ${perCell} iterations (${plan.warmup} warm-up + ${plan.adaptive ? `up to ${plan.adaptive.maxIterations}` : plan.iterations} measured) = ` +
    `${iterations.toLocaleString('en-US')} iterations; estimated ${hours(estimateS)} at ${ASSUMED_ITERATION_S} s per iteration (an assumption: no cell has run yet)`;
  if (plan.cells > HARD_CELL_LIMIT) {
    throw new InputError(`the plan has ${numbers}; more than ${HARD_CELL_LIMIT.toLocaleString('en-US')} cells is never run: narrow the matrix or select cells with --filter`);
  }
  if (!confirmed && (plan.cells > PLAN_LIMITS.cells || iterations > PLAN_LIMITS.iterations)) {
    throw new InputError(
      `the plan has ${numbers}, beyond ${PLAN_LIMITS.cells.toLocaleString('en-US')} cells or ${PLAN_LIMITS.iterations.toLocaleString('en-US')} iterations: ` +
        'narrow it with --filter or fewer --iterations, or pass --yes to run it anyway',
    );
  }
}

/** Flags of `bench run` that a resumed run takes from its result.json instead. */
export interface ResumeFlagValues {
  target?: string;
  /** Hash and source of the suite given with --suite/--endpoint. */
  suite?: { hash: string; source: string; flag: string };
  filters?: readonly string[];
  iterations?: number;
  warmup?: number;
  threads?: number;
  adaptivePct?: number;
  shuffleSeed?: number;
  ortProfile?: boolean;
  probes?: readonly string[];
  cooldownSeconds?: number;
}

/**
 * A resumed run continues on its own target with its own suite, runner, model and settings; a
 * flag that says otherwise is refused, naming the flag and the run's value. Flags equal to the
 * run's values are accepted. The host is checked too: a `local` run finished on another machine
 * would mix machines.
 */
export function checkResumeFlags(run: RunResult, flags: ResumeFlagValues, dir: string, hostname: string): void {
  const refuse = (flag: string, given: string, runValue: string): never => {
    throw new InputError(
      `--resume ${dir}: ${flag} ${given} conflicts with the run's ${runValue}; a resumed run keeps its own target, suite and settings (drop ${flag})`,
    );
  };
  const o = run.options;
  if (flags.target !== undefined && flags.target !== run.target) refuse('--target', flags.target, `target "${run.target}"`);
  if (flags.suite && flags.suite.hash !== run.suite.hash) refuse(flags.suite.flag, flags.suite.source, `suite "${run.suite.name}" (${run.suite.source})`);
  if (flags.filters && flags.filters.length && flags.filters.join(' ') !== o.filters.join(' ')) {
    refuse('--filter', flags.filters.join(' '), `filters "${o.filters.join(' ') || '(none)'}"`);
  }
  if (flags.iterations !== undefined && flags.iterations !== o.iterations) refuse('--iterations', String(flags.iterations), `iterations ${o.iterations}`);
  if (flags.warmup !== undefined && flags.warmup !== o.warmup) refuse('--warmup', String(flags.warmup), `warmup ${o.warmup}`);
  if (flags.threads !== undefined && flags.threads !== o.threads) refuse('--threads', String(flags.threads), `threads ${o.threads}`);
  if (flags.adaptivePct !== undefined && flags.adaptivePct !== o.adaptive?.targetCiPct) {
    refuse('--adaptive', String(flags.adaptivePct), o.adaptive ? `adaptive ${o.adaptive.targetCiPct}%` : 'fixed iteration count');
  }
  if (flags.shuffleSeed !== undefined && flags.shuffleSeed !== o.shuffleSeed) refuse('--shuffle', String(flags.shuffleSeed), `order ${o.order ?? 'matrix'}${o.shuffleSeed != null ? ` (seed ${o.shuffleSeed})` : ''}`);
  if (flags.ortProfile && !o.ortProfile) refuse('--ort-profile', '', 'settings (run without the profiler)');
  if (flags.probes && flags.probes.length && flags.probes.join(',') !== (o.probes?.names ?? []).join(',')) {
    refuse('--probe', flags.probes.join(','), `probes "${(o.probes?.names ?? []).join(',') || '(none)'}"`);
  }
  if (flags.cooldownSeconds !== undefined && flags.cooldownSeconds !== (o.cooldownSeconds ?? 0)) {
    refuse('--cooldown', String(flags.cooldownSeconds), `cooldown ${o.cooldownSeconds ?? 0} s`);
  }
  if (run.target === 'local' && run.environment.host.hostname !== hostname) {
    throw new InputError(
      `--resume ${dir}: the run was measured on host "${run.environment.host.hostname}" (target local); this is "${hostname}": finishing it here would mix machines`,
    );
  }
}

/** Default of --max-failed-fraction: a cell whose measured iterations did not all succeed is failed. */
export const DEFAULT_MAX_FAILED_FRACTION = 0;

/**
 * A cell's status from its measured iterations: failed when none succeeded, or when the share
 * that failed is above `maxFailedFraction` (0 = any failure fails the cell). Figures of the
 * iterations that succeeded are kept either way.
 */
export function cellOutcome(iterations: readonly IterationRecord[], maxFailedFraction: number): { status: 'ok' | 'failed'; failed: number; measured: number } {
  const measured = iterations.filter((r) => !r.warmup);
  const failed = measured.filter((r) => r.error).length;
  const ok = measured.length > failed && failed / Math.max(1, measured.length) <= maxFailedFraction;
  return { status: ok ? 'ok' : 'failed', failed, measured: measured.length };
}

/** True when every planned cell has a record: the run is complete even if its report is not written. */
export function allCellsRecorded(run: RunResult): boolean {
  const done = new Set(run.cells.map((c) => c.id));
  return run.plannedCells.every((id) => done.has(id));
}

/**
 * The target a run goes to: --target when given; on --resume the run's own; else the suite's
 * `target:` when it is not this machine ("local", or "endpoint" whose server is reached from
 * here). A suite meant for a board never silently runs on local: its target must be defined.
 */
export function chooseTargetName(opts: { explicit?: string; resumed?: RunResult; suite?: Suite; knownTargets: readonly string[]; targetsFile: string | null }): string {
  if (opts.explicit !== undefined) return opts.explicit;
  if (opts.resumed) return opts.resumed.target;
  const wanted = opts.suite?.target;
  if (wanted === undefined || THIS_MACHINE_TARGETS.includes(wanted)) return 'local';
  if (opts.knownTargets.includes(wanted)) return wanted;
  throw new InputError(
    `suite "${opts.suite!.name}" is meant for target "${wanted}", and no target of that name is defined` +
      `${opts.targetsFile ? ` in ${opts.targetsFile}` : ' (no targets file: create targets.yaml, or pass --targets FILE / set BENCH_TARGETS)'}: ` +
      `add one named "${wanted}" (see targets.example.yaml and docs/boards.md), or pass --target NAME (--target local runs it on this machine)`,
  );
}
