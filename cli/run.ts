import type { Command } from 'commander';
import { InputError } from '../core/errors.ts';
import { terminalSafe } from '../core/terminal-text.ts';
import type { ResultStore } from '../harness/result-store.ts';
import { runSuite } from '../harness/run-suite.ts';
import { DEFAULT_SUITE, planRun, type RunFlagValues } from '../harness/plan-run.ts';
import type { RunResult } from '../core/result-types.ts';
import { describeHolder, type HeldRunLock } from '../targets/run-lock.ts';
import { takeRunLock } from './run-lock.ts';
import { renderSection } from '../reporters/render/markdown.ts';
import { writeReport } from '../reporters/write-report.ts';
import { intOption } from './options.ts';
import { createProgress } from './progress.ts';
import { loadRunners } from '../runners/registry.ts';
import { renderPreflight } from './doctor.ts';
import { preflight } from '../harness/preflight.ts';
import { signalExitCode, STOP_SIGNALS } from '../harness/finish-run.ts';
import { closeSharedTransports, sharedTransport } from '../targets/targets.ts';

export { DEFAULT_SUITE };

type RunFlags = RunFlagValues;

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(`Run a suite's matrix on a target and write result.json, report.md and charts/ (default suite: ${DEFAULT_SUITE}).`)
    .option('-s, --suite <name|file>', `suite name (see "bench list suites") or a YAML/JSON suite file (default ${DEFAULT_SUITE})`)
    .option('-t, --target <name>', 'target to run on (see "bench list targets"; default: the suite\'s target, local for local suites; on --resume the run\'s own)')
    .option('--targets <file>', 'targets file (default: $BENCH_TARGETS or ./targets.yaml)')
    .option('--no-calibrate', 'do not measure this machine for roofline bounds when no calibration exists yet')
    .option('--recalibrate', 'measure this machine for roofline bounds after the cells even when a calibration exists (a shared machine changes; about 20 s)')
    .option('--yes', 'run a plan beyond the size limits (more than 2,000 cells or 20,000 iterations) without refusing it')
    .option('--max-failed-fraction <f>', 'a cell whose share of failed measured iterations is above f (0..1) is recorded failed and the run exits 1 (default 0: any failure)', Number)
    .option('--retry-failed', 'with --resume: run the cells that failed again, not only the missing ones')
    .option('-f, --filter <key=value>', 'select cells, e.g. images=1 or precision=int8,int4 (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
    .option('-n, --iterations <n>', 'measured iterations per cell (overrides the suite)', intOption('--iterations'))
    .option('-w, --warmup <n>', 'warm-up iterations per cell, discarded (overrides the suite)', intOption('--warmup', 0))
    .option('--threads <n>', 'intra-op threads for in-process runners (default: physical cores)', intOption('--threads'))
    .option('--adaptive <pct>', 'measure until the 95% CI of the median of each key metric is within ±pct % (--iterations becomes the minimum)', Number)
    .option('--adaptive-metric <name>', 'key metric for --adaptive (repeatable; default ttft_ms and tpot_ms)', (v: string, prev: string[]) => [...prev, v], [])
    .option('--max-iterations <n>', 'upper bound for --adaptive (default 30)', intOption('--max-iterations'))
    .option('--cell-budget <seconds>', 'time budget per cell for --adaptive (default 300)', Number)
    .option('--cooldown <seconds>', 'pause between cells to let the machine cool down', Number)
    .option('--shuffle [seed]', 'run cells in a random order (seeded; the seed is recorded)')
    .option('--ort-profile', 'profile every ONNX Runtime kernel and add time per operator to the report (slower; such timings are marked)')
    .option('--probe <name>', 'sample a hardware probe during every cell (repeatable; see "bench probe")', (v: string, prev: string[]) => [...prev, v], [])
    .option('--probe-interval <ms>', 'probe sampling interval (default 100 ms)', intOption('--probe-interval', 1))
    .option('--baseline <seconds>', 'idle power sampling before each cell (default 2 s)', Number)
    .option('--temp-limit <celsius>', 'flag a cell as throttled when a sensor reaches this temperature', Number)
    .option('--endpoint <url>', 'benchmark an OpenAI-compatible server instead of a suite (the default endpoint suite)')
    .option('--model <name>', 'with --endpoint: the model name the server serves')
    .option('--images <n>', 'with --endpoint: images per request', intOption('--images', 0))
    .option('--prompt-tokens <n>', 'with --endpoint: text prompt size in tokens (calibrated with the server)', intOption('--prompt-tokens'))
    .option('--max-tokens <n>', 'with --endpoint: output tokens per request', intOption('--max-tokens'))
    .option('--concurrency <n>', 'with --endpoint: concurrent requests', intOption('--concurrency'))
    .option('--api-key-env <var>', 'with --endpoint: environment variable holding the API key (the key is never recorded)')
    .option('-o, --out <dir>', 'results folder; the run goes to <dir>/<suite>/<run-id>/', 'results')
    .option('--resume <run-dir>', 'finish an interrupted run in that folder (suite, options and cells come from its result.json)')
    .option('--shard <K/N>', 'run shard K of N of the plan (a deterministic, balanced slice; join the shards with bench merge)')
    .option('--plan <file>', 'with --shard: the plan written by `bench plan --json` (else planned here from the history)')
    .option('--board <label>', 'with --shard: the board this shard runs on, recorded (default $BENCH_BOARD, else the target\'s host)')
    .option('--db <file>', 'with --shard and no --plan: history database whose costs balance the shards (default $BENCH_HISTORY_DB or results/history.sqlite when it exists)')
    .action(async (flags: RunFlags) => {
      process.exitCode = await runCommand(flags);
    });
}

/**
 * How many cells failed and how to run them again. A resume does not retry failed cells by
 * default: a failed cell is a recorded outcome (out of memory, a tool error), and running it
 * again would replace that record; cells that failed because the board went away are run again
 * with --retry-failed, which this note gives in full.
 */
export function failedCellsNote(result: RunResult, runDir: string): string {
  const failed = result.cells.filter((c) => c.status === 'failed');
  if (failed.length === 0) return '';
  // A cell's error quotes servers, tools and logs: shown on one line, never obeyed by the terminal.
  const shown = failed.slice(0, 5).map((c) => `  ${c.id}: ${terminalSafe(c.error ?? 'failed', { oneLine: true })}`);
  return (
    `\n${failed.length} of ${result.plannedCells.length} cell(s) failed:\n${shown.join('\n')}${failed.length > shown.length ? `\n  ... and ${failed.length - shown.length} more (result.json)` : ''}\n` +
    `run them again (after fixing the cause) with: bench run --resume ${runDir} --retry-failed\n`
  );
}

async function runCommand(flags: RunFlags): Promise<number> {
  // The history (a SQLite file) is opened only when a shard is planned here without --plan.
  const cellWork = async (suite: string) => (await import('../history/cell-costs.ts')).historyCellWork({ db: flags.db })(suite);
  const { target, request, shard } = await planRun(flags, { cellWork });
  const progress = createProgress();
  // One handler for every stop signal over the whole command, so none takes the default action
  // (exit with nothing written, the ssh master and its folder left behind). While cells run,
  // runSuite's own handler marks the run interrupted and calls onInterrupted; before that nothing
  // was recorded; after it, the run is complete and only the report is missing.
  let phase: 'before' | 'running' | 'after' = 'before';
  let finished: ResultStore | undefined;
  let stopping = false;
  // The board's run lock, once taken: released on every way out, a signal included.
  let lock: HeldRunLock | undefined;
  const exitAfterClosing = (signal: NodeJS.Signals, message: string): void => {
    process.stderr.write(message);
    // Transports first: closing them stops the board's tools and removes the ssh master and its
    // /tmp/bench-ssh-* folder. A board's lock then ends with its ssh session (the holding shell
    // dies on its next write; the next run takes the lock over); releasing it first, through the
    // same connection, left the board's tool running. A local lock is released here.
    void closeSharedTransports()
      .then(() => (target.kind === 'local' ? lock?.release() : undefined))
      .finally(() => process.exit(signalExitCode(signal)));
  };
  const onInterrupted = (signal: NodeJS.Signals, store: ResultStore): void => {
    stopping = true;
    exitAfterClosing(
      signal,
      store.result.status === 'interrupted'
        ? `\n${signal}: interrupted; finished cells are in ${store.file}\nresume with: bench run --resume ${store.runDir}\n`
        : `\n${signal}: every cell is recorded in ${store.file}; write the report with: bench report ${store.file}\n`,
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping || phase === 'running') return;
    if (phase === 'after' && finished) return onInterrupted(signal, finished);
    stopping = true;
    exitAfterClosing(signal, `\n${signal}: stopped before the first cell; nothing was recorded\n`);
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  try {
    // A board is checked before any cell runs: an unreachable host, a missing tool or no free
    // memory is one clear message up front, not a failed cell each.
    let boardFacts: Record<string, string> = {};
    if (target.kind === 'ssh' && !flags.resume) {
      const report = await preflight(target, { transport: sharedTransport(target) });
      process.stderr.write(renderPreflight(report));
      if (!report.ok) {
        await closeSharedTransports();
        throw new InputError(`target ${target.name} failed its preflight (see above); fix it or check with: bench doctor --target ${target.name}`);
      }
      boardFacts = report.facts;
    }
    // One run per board: the lock lives on the board, so runs from other machines are excluded too.
    lock = await takeRunLock(target);
    if (lock.tookOver) progress.log(`took over the run lock of ${target.name} left by a run that is gone: ${describeHolder(lock.tookOver)}`);
    if (lock.warning) progress.log(lock.warning);
    try {
      const outcome = await runSuite({
        ...request,
        runners: await loadRunners(target),
        transport: target.kind === 'local' ? undefined : sharedTransport(target),
        shard,
        progress,
        boardFacts,
        onStore: () => {
          phase = 'running';
        },
        onInterrupted,
      });
      // The run is finished on disk; a signal while the report is written says how to write it again.
      finished = outcome.store;
      phase = 'after';
      const written = await writeReport(outcome.store.result, outcome.store.runDir);
      process.stdout.write(
        `\n${written.report.sections.filter((x) => x.id === 'summary' || x.id === 'ttft-shares').map(renderSection).join('\n\n')}\n\n(per-subgraph latency and full statistics: report.md)\n` +
          `result: ${outcome.store.file}\nreport: ${written.reportFile}\ncharts: ${written.charts.join(', ')}\n`,
      );
      if (outcome.failedCells > 0) process.stderr.write(failedCellsNote(outcome.store.result, outcome.store.runDir));
      return outcome.failedCells > 0 ? 1 : 0;
    } finally {
      await lock.release();
      await closeSharedTransports();
    }
  } finally {
    for (const s of STOP_SIGNALS) process.removeListener(s, onSignal);
  }
}
