import { createClock } from '../core/clock.ts';
import { figureSourceOf, type FigureSource } from '../core/figure-source.ts';
import { errorMessage, InputError } from '../core/errors.ts';
import { captureLocalEnvironment } from './environment.ts';
import type { IterationRecord } from '../core/events.ts';
import { applyFilters, cellRunnerName, expandMatrix, parseFilters, suiteRunnerNames } from '../core/matrix.ts';
import { cellOutcome, checkPlanSize, DEFAULT_MAX_FAILED_FRACTION, plannedCellCount } from './run-plan.ts';
import { startPeakRssWindow, type PeakRssWindow } from './peak-rss.ts';
import type { CellResult, RunResult } from '../core/result-types.ts';
import { adaptiveStop, DEFAULT_ADAPTIVE_METRICS, keyMetricWidths, markOutliers, shuffleCells } from './methodology.ts';
import { cellFlags, cellSpread, metricFlags } from './cell-quality.ts';
import { harnessOverheadPct } from '../core/overhead.ts';
import { metricDefinition, METRICS } from '../core/metric-registry.ts';
import { startMachineWindow } from '../hw-probes/machine-load.ts';
import { startBoardWindow } from '../hw-probes/board-load.ts';
import { BOARD_SAMPLE_INTERVAL_MS, headerWithPowerMode, judgeBoardState, ownBoardSampler, startBoardStateWindow, type BoardJudgement, type BoardStateWindow } from './board-quality.ts';
import { monitorCell, type CellMonitor } from './cell-probes.ts';
import type { AdaptivePlan, CellFlag, MachineState, ProbePlan, StoppingRecord } from '../core/result-types.ts';
import { detectProbes, snapshotAll, type DetectedProbe } from '../hw-probes/detect.ts';
import { isProbeName, probeNames } from '../hw-probes/registry.ts';
import { LocalTransport, type CommandTransport } from '../targets/command-transport.ts';
import { finishRun, markInterrupted, STOP_SIGNALS, type RooflinePolicy } from './finish-run.ts';
import { prebuildZooModels } from './prebuild.ts';
import { ResultStore } from './result-store.ts';
import { redactQuerySecrets, redactSuite } from '../core/redact.ts';
import type { AccuracyCheck, OperatorProfile, PreparedCell, Runner, RunnerContext } from '../core/runner.ts';
import { summarize, type MetricStats } from '../core/stats.ts';
import type { Cell, LoadedSuite, Suite } from '../core/suite-types.ts';
import { cellMetrics, subgraphStats } from '../core/metrics.ts';
import { PowerModeController } from './power-mode.ts';
import { shardCellIds, type ShardRecord } from './shard.ts';

/** What the run loop tells the user while it works (a TTY display or plain lines). */
export interface ProgressSink {
  /** `failedKept`: cells of a resumed run that failed before and are not run again (no --retry-failed). */
  runStart(info: { suite: string; runDir: string; cells: number; alreadyDone: number; failedKept?: number }): void;
  cellStart(info: { position: number; total: number; cell: Cell }): void;
  /** Before each iteration, so a display can say what is running. */
  iterationStart(info: { index: number; total: number; warmups: number; warmup: boolean }): void;
  /**
   * index counts warm-ups first; warmups = their number; total = warm-ups + planned measured
   * iterations. wallMs: the time the iteration took (monotonic clock, around the runner's
   * call); figureSource: how the record's own times were obtained (a composed or tool-reported
   * record spans the tool's figures, not the wall time).
   */
  iteration(info: { index: number; total: number; warmups: number; warmup: boolean; record: IterationRecord; wallMs: number; figureSource: FigureSource }): void;
  cellDone(result: CellResult): void;
  log(message: string): void;
  runDone(): void;
}

export interface RunRequest {
  suite?: LoadedSuite;
  target: string;
  filters: string[];
  /** Run only these cells (by id), e.g. to confirm regressions. */
  cellIds?: string[];
  /** Run only this shard's cells of the plan, and record the shard (harness/shard.ts). */
  shard?: ShardRecord;
  iterations?: number;
  warmup?: number;
  threads?: number;
  /** Overrides of the suite's methodology (CLI flags). */
  adaptive?: { targetCiPct: number; metric?: string; metrics?: string[]; maxIterations?: number; maxCellSeconds?: number };
  cooldownSeconds?: number;
  /** Shuffle cells with this seed. */
  shuffleSeed?: number;
  /** Per-operator profiling by the runtime (slower; timings are marked). */
  ortProfile?: boolean;
  /** Probes to sample during each cell (overrides the suite's list). */
  probes?: string[];
  probeIntervalMs?: number;
  baselineSeconds?: number;
  tempLimitC?: number;
  outDir: string;
  resumeDir?: string;
  runners: Record<string, Runner>;
  progress: ProgressSink;
  /** How probes reach the target (default: this machine). */
  transport?: CommandTransport;
  /** Where the board lists its power modes (default /etc/nvpmodel.conf). */
  nvpmodelConf?: string;
  /** With resumeDir: run failed cells again as well as missing ones. */
  retryFailed?: boolean;
  /** Run a plan beyond PLAN_LIMITS (harness/run-plan.ts) without refusing it. */
  confirmPlan?: boolean;
  /** A cell whose share of failed measured iterations is above this is failed (default 0). */
  maxFailedFraction?: number;
  /** Called once the run folder exists. */
  onStore?: (store: ResultStore) => void;
  /** Facts a preflight read off the board, merged into the result's environment. */
  boardFacts?: Record<string, string>;
  /** Build the suite's missing synthetic models in parallel before the first cell (a first local run). */
  prebuildModels?: boolean;
  /** Record roofline bounds when the run ends (absent: none). */
  roofline?: RooflinePolicy;
  /**
   * With this set, SIGINT and SIGTERM during the run mark the result interrupted (finished
   * cells stay on disk) and then call it; the caller decides how the process ends.
   */
  onInterrupted?: (signal: NodeJS.Signals, store: ResultStore) => void;
}

export interface RunOutcome {
  store: ResultStore;
  failedCells: number;
}

/** Every runner the suite names must exist before any cell runs (a typo is bad input, not N failed cells). */
function checkRunners(suite: Suite, runners: Record<string, Runner>): void {
  const names = suiteRunnerNames(suite);
  if (names.length === 0) throw new InputError(`suite "${suite.name}": no runner (set runner, or a matrix.runner axis)`);
  for (const name of names) {
    if (!runners[name]) throw new InputError(`suite "${suite.name}": unknown runner "${name}"; available: ${Object.keys(runners).join(', ')}`);
  }
}

/** The suite's runners exist and each accepts the suite and every cell it will run (Runner.checkPlan). */
function checkRunnable(suite: Suite, cells: readonly Cell[], runners: Record<string, Runner>): void {
  checkRunners(suite, runners);
  for (const name of suiteRunnerNames(suite)) {
    runners[name]!.checkPlan?.(suite, cells.filter((c) => cellRunnerName(suite, c.params) === name));
  }
}

/**
 * What the cells will call is on the target (Runner.checkTarget: program, model and image files,
 * a writable work folder): else the run is refused before its first cell, naming each missing thing.
 */
async function checkTargets(suite: Suite, cells: readonly Cell[], runners: Record<string, Runner>, target: string): Promise<void> {
  const problems: string[] = [];
  for (const name of suiteRunnerNames(suite)) {
    const mine = cells.filter((c) => cellRunnerName(suite, c.params) === name);
    if (mine.length) problems.push(...((await runners[name]?.checkTarget?.(suite, mine)) ?? []));
  }
  if (problems.length) {
    throw new InputError(`target ${target} lacks what suite "${suite.name}" will call; nothing was run:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

async function openOrCreate(req: RunRequest): Promise<{ store: ResultStore; cells: Cell[] }> {
  if (req.resumeDir) {
    const store = ResultStore.open(req.resumeDir);
    const stored = store.result.suite;
    checkRunnable(stored.definition, expandMatrix(stored.definition.matrix), req.runners);
    if (req.suite && req.suite.hash !== stored.hash) {
      throw new InputError(`--resume ${req.resumeDir}: that run is of a different suite definition (${stored.source}); resume without --suite or with the same suite`);
    }
    const done = new Set(store.result.cells.filter((c) => !(req.retryFailed && c.status === 'failed')).map((c) => c.id));
    const byId = new Map(expandMatrix(stored.definition.matrix).map((c) => [c.id, c]));
    // plannedCells holds the run's order (shuffled or not); resume keeps it.
    const cells = store.result.plannedCells.filter((id) => !done.has(id)).map((id) => byId.get(id)!).filter(Boolean);
    await checkTargets(stored.definition, cells, req.runners, store.result.target);
    store.result.status = 'running';
    store.result.finishedAt = null;
    store.result.warnings.push(`resumed at ${new Date().toISOString()} with ${cells.length} cell(s) left`);
    store.flush();
    return { store, cells };
  }
  if (!req.suite) throw new InputError('no suite given');
  const { suite } = req.suite;
  const filters = parseFilters(req.filters, suite.matrix);
  const shardCells = req.shard ? new Set(shardCellIds(req.shard)) : null;
  const adaptiveSpecEarly = req.adaptive ?? suite.defaults.adaptive;
  const iterationsEarly = req.iterations ?? suite.defaults.iterations;
  // Sized before the matrix is expanded: 10^9 cells must be refused, not built.
  checkPlanSize(
    {
      cells: Math.min(plannedCellCount(suite.matrix, req.filters), req.cellIds?.length ?? Infinity, shardCells?.size ?? Infinity),
      warmup: req.warmup ?? suite.defaults.warmup,
      iterations: iterationsEarly,
      adaptive: adaptiveSpecEarly
        ? { maxIterations: Math.max(iterationsEarly, adaptiveSpecEarly.maxIterations ?? 30), maxCellSeconds: adaptiveSpecEarly.maxCellSeconds ?? 300 }
        : null,
    },
    req.confirmPlan === true,
  );
  const selected = applyFilters(expandMatrix(suite.matrix), filters).filter((c) => (!req.cellIds || req.cellIds.includes(c.id)) && (!shardCells || shardCells.has(c.id)));
  // Bad input is refused before the run folder exists: unknown runner, model, missing files,
  // unset variables, values the model cannot take.
  checkRunnable(suite, selected, req.runners);
  await checkTargets(suite, selected, req.runners, req.target);
  const shuffleSeed = req.shuffleSeed ?? (suite.defaults.shuffle ? Date.now() % 2 ** 31 : null);
  const cells = shuffleSeed === null ? selected : shuffleCells(selected, shuffleSeed);
  const adaptiveSpec = req.adaptive ?? suite.defaults.adaptive;
  const minIterations = req.iterations ?? suite.defaults.iterations;
  const adaptive: AdaptivePlan | null = adaptiveSpec
    ? {
        metrics: adaptiveSpec.metrics?.length ? adaptiveSpec.metrics : adaptiveSpec.metric ? [adaptiveSpec.metric] : [...DEFAULT_ADAPTIVE_METRICS],
        targetCiPct: adaptiveSpec.targetCiPct,
        maxIterations: Math.max(minIterations, adaptiveSpec.maxIterations ?? 30),
        maxCellSeconds: adaptiveSpec.maxCellSeconds ?? 300,
      }
    : null;
  if (adaptive) {
    const unknown = adaptive.metrics.filter((m) => metricDefinition(m)?.scope !== 'iteration');
    if (unknown.length) {
      const allowed = METRICS.filter((m) => m.scope === 'iteration').map((m) => m.name);
      throw new InputError(`${req.suite.source}: defaults.adaptive.metrics (or --adaptive-metric): ${unknown.join(', ')} is not a per-iteration metric; allowed: ${allowed.join(', ')}`);
    }
  }
  if (cells.length === 0 && req.shard) throw new InputError(`--shard ${req.shard.index}/${req.shard.count}: this shard of the plan has no cell (the plan has ${req.shard.planCells.length} cell(s)); use fewer shards`);
  if (cells.length === 0) throw new InputError(`--filter ${req.filters.join(' ')} selects no cell of suite "${suite.name}"`);
  if (req.prebuildModels) await prebuildZooModels(suite, cells, (m) => req.progress.log(m));
  const environment = await captureLocalEnvironment();
  if (req.boardFacts && Object.keys(req.boardFacts).length) environment.board = { ...environment.board, ...req.boardFacts };
  const threads = req.threads ?? suite.defaults.threads ?? Math.max(1, environment.host.physicalCores);
  const store = ResultStore.create(req.outDir, {
    // Recorded without URL query secrets; the run itself uses the suite as given.
    suite: { name: suite.name, source: redactQuerySecrets(req.suite.source), hash: req.suite.hash, definition: redactSuite(suite) },
    target: req.target,
    status: 'running',
    startedAt: new Date().toISOString(),
    finishedAt: null,
    options: {
      iterations: minIterations,
      warmup: req.warmup ?? suite.defaults.warmup,
      outputTokens: suite.defaults.outputTokens,
      threads,
      filters: req.filters,
      adaptive,
      cooldownSeconds: req.cooldownSeconds ?? suite.defaults.cooldownSeconds ?? 0,
      maxFailedFraction: req.maxFailedFraction ?? DEFAULT_MAX_FAILED_FRACTION,
      order: shuffleSeed === null ? 'matrix' : 'shuffled',
      shuffleSeed,
      ortProfile: req.ortProfile ?? false,
      probes: {
        names: req.probes ?? suite.probes ?? [],
        intervalMs: req.probeIntervalMs ?? suite.defaults.probeIntervalMs ?? 100,
        baselineMs: 1000 * (req.baselineSeconds ?? suite.defaults.baselineSeconds ?? 2),
        ...(req.tempLimitC ?? suite.defaults.tempLimitC) !== undefined ? { tempLimitC: req.tempLimitC ?? suite.defaults.tempLimitC } : {},
      },
    },
    environment,
    cells: [],
    plannedCells: cells.map((c) => c.id),
    warnings: [],
    ...(req.shard ? { shard: req.shard } : {}),
  });
  return { store, cells };
}

function probePlan(result: RunResult): ProbePlan {
  const p = result.options.probes!;
  return { intervalMs: p.intervalMs, baselineMs: p.baselineMs, ...(p.tempLimitC !== undefined ? { tempLimitC: p.tempLimitC } : {}) };
}

/**
 * Finds the probes the run asked for on this machine. A probe that cannot read anything here is
 * a warning in the result, never a failed run; board facts (power mode, clocks, BSP) go into
 * the environment.
 */
async function detectRunProbes(result: RunResult, progress: ProgressSink, transport: CommandTransport): Promise<DetectedProbe[]> {
  const names = result.options.probes?.names ?? [];
  if (names.length === 0) return [];
  const unknown = names.filter((n) => !isProbeName(n));
  if (unknown.length) throw new InputError(`unknown probe(s) ${unknown.join(', ')}; known: ${probeNames().join(', ')}`);
  const detected = await detectProbes(transport, { only: names });
  for (const d of detected) {
    if (!d.available) {
      const msg = `probe ${d.name} unavailable: ${d.reason}`;
      if (!result.warnings.includes(msg)) result.warnings.push(msg);
      progress.log(msg);
    }
  }
  const available = detected.filter((d) => d.available);
  if (available.length) {
    const { facts } = await snapshotAll(available);
    if (Object.keys(facts).length) result.environment.board = { ...result.environment.board, ...facts };
  }
  return available;
}

async function cooldown(seconds: number, progress: ProgressSink): Promise<void> {
  if (seconds <= 0) return;
  progress.log(`cooling down ${seconds} s`);
  await new Promise((r) => setTimeout(r, seconds * 1000));
}

/**
 * Warm-up iterations, then the fixed count, or (adaptive) until the key metrics' median
 * intervals are narrow enough, the maximum count is reached or the cell's time budget is spent.
 */
async function measureCell(
  prepared: PreparedCell,
  options: RunResult['options'],
  iterations: IterationRecord[],
  progress: ProgressSink,
): Promise<{ reason: string; stopping: StoppingRecord }> {
  const { warmup, iterations: minimum, adaptive } = options;
  const planned = warmup + (adaptive ? adaptive.maxIterations : minimum);
  const started = Date.now();
  for (let i = 0; i < planned; i++) {
    const isWarmup = i < warmup;
    progress.iterationStart({ index: i, total: planned, warmups: warmup, warmup: isWarmup });
    const calledAt = performance.now();
    const rec = await prepared.runIteration(i, isWarmup);
    const wallMs = performance.now() - calledAt;
    iterations.push(rec);
    progress.iteration({ index: i, total: planned, warmups: warmup, warmup: isWarmup, record: rec, wallMs, figureSource: figureSourceOf(prepared.settings) });
    if (isWarmup || !adaptive) continue;
    const decision = adaptiveStop(iterations, i + 1 - warmup, minimum, adaptive, Date.now() - started);
    if (decision.stop) {
      return {
        reason: decision.reason,
        stopping: { rule: decision.rule!, measured: i + 1 - warmup, targetCiPct: adaptive.targetCiPct, halfWidthPct: decision.halfWidthPct },
      };
    }
  }
  const measured = iterations.filter((r) => !r.warmup).length;
  const halfWidthPct = keyMetricWidths(iterations, adaptive?.metrics ?? DEFAULT_ADAPTIVE_METRICS);
  return adaptive
    ? { reason: `reached ${adaptive.maxIterations} iterations`, stopping: { rule: 'max count', measured, targetCiPct: adaptive.targetCiPct, halfWidthPct } }
    : { reason: `fixed count of ${minimum} iterations`, stopping: { rule: 'fixed count', measured, targetCiPct: null, halfWidthPct } };
}

/**
 * Runs every selected cell of a suite, one after another, writing the result after each cell
 * so that an interrupted run keeps what it measured and can be resumed. A cell that fails
 * records its error and the run goes on.
 */
export async function runSuite(req: RunRequest): Promise<RunOutcome> {
  // Before the run folder exists: a runner typo leaves nothing behind.
  if (req.suite) checkRunners(req.suite.suite, req.runners);
  const { store, cells } = await openOrCreate(req);
  req.onStore?.(store);
  const suite = store.result.suite.definition;
  const { onInterrupted } = req;
  let power: PowerModeController | null = null;
  let signalled = false;
  // Installed in the same tick as onStore, before anything can run on the board. Every stop
  // signal (a terminal's Ctrl-C, `kill`, `timeout`, a closed session) and any repeat of it (a
  // signal to the process group reaches this process and its `timeout` parent, which forwards
  // it again) ends the run once: marked interrupted, the board's power mode restored, then the
  // caller ends the process.
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    markInterrupted(store, signal);
    const restored = power ? power.restore().then((warning) => warning && req.progress.log(warning)) : Promise.resolve();
    void restored.finally(() => onInterrupted?.(signal, store));
  };
  if (onInterrupted) for (const s of STOP_SIGNALS) process.on(s, onSignal);
  try {
    power = await PowerModeController.open(
      req.transport ?? new LocalTransport(),
      suite,
      cells,
      { jetsonClocks: suite.defaults.jetsonClocks ?? false, settleSeconds: suite.defaults.powerModeSettleSeconds ?? 5, ...(req.nvpmodelConf ? { confPath: req.nvpmodelConf } : {}) },
      (m) => req.progress.log(m),
    );
    return await runCells(req, store, cells, power);
  } finally {
    for (const s of STOP_SIGNALS) process.removeListener(s, onSignal);
    const warning = await power?.restore();
    if (warning) req.progress.log(warning);
  }
}

/**
 * The runner's accuracy gate before the cell's window (`window` was opened just before): the
 * verdict with its cost, as the runner measured it when the check ran in its own process (the
 * ORT runner's does), else as this window saw it.
 */
async function runAccuracyGate(
  check: NonNullable<Runner['checkAccuracy']>,
  cell: Cell,
  suite: Suite,
  ctx: RunnerContext,
  window: PeakRssWindow,
): Promise<AccuracyCheck | null> {
  const start = performance.now();
  const verdict = await check(cell, suite, ctx);
  if (!verdict) return null;
  // A gate that ran in its own process measured its own cost there (this window saw none of it).
  if (verdict.gateCost) return verdict;
  const peak = window.read();
  return { ...verdict, gateCost: { ms: performance.now() - start, peakRssBytes: peak.bytes, scope: peak.scope } };
}

async function runCells(req: RunRequest, store: ResultStore, cells: readonly Cell[], power: PowerModeController | null): Promise<RunOutcome> {
  const result = store.result;
  // The suite as given (with any URL secret) when there is one; on a bare --resume, the recorded one.
  const suite = req.suite?.suite ?? result.suite.definition;
  checkRunners(suite, req.runners);
  const clock = createClock();
  const { progress } = req;
  // Cells run again (--retry-failed) are counted where they run, not also among those done.
  const alreadyDone = result.plannedCells.length - cells.length;
  const pending = new Set(cells.map((c) => c.id));
  const failedKept = result.cells.filter((c) => c.status === 'failed' && !pending.has(c.id)).length;
  progress.runStart({ suite: suite.name, runDir: store.runDir, cells: result.plannedCells.length, alreadyDone, failedKept });
  const probes = await detectRunProbes(result, progress, req.transport ?? new LocalTransport());
  // Cells that run on a board over ssh: the board's load is what qualifies their figures.
  const onBoard = req.transport !== undefined && req.transport.name.startsWith('ssh:');
  // Its power mode, clocks and temperatures are read around each cell; tegrastats samples it while
  // measuring when no probe of the run already does.
  const boardSampler = onBoard ? await ownBoardSampler(req.transport!, probes.map((p) => p.name)) : null;

  let position = alreadyDone;
  for (const cell of cells) {
    position += 1;
    // Cool down between cells, not before the first one of this invocation.
    if (cell !== cells[0]) await cooldown(result.options.cooldownSeconds ?? 0, progress);
    progress.cellStart({ position, total: result.plannedCells.length, cell });
    const startedAt = new Date().toISOString();
    let rss = startPeakRssWindow();
    const iterations: IterationRecord[] = [];
    let stopReason = '';
    let stopping: StoppingRecord | undefined;
    let record: CellResult;
    const runnerName = cellRunnerName(suite, cell.params);
    const runner = req.runners[runnerName]!;
    try {
      const { warmup, iterations: minimum, adaptive } = result.options;
      const plan = { warmup, maxIterations: adaptive ? adaptive.maxIterations : minimum };
      const powerSettings = power ? await power.apply(cell) : {};
      const context = { clock, threads: result.options.threads, log: (m: string) => progress.log(m), plan, profile: result.options.ortProfile ?? false };
      // The accuracy gate runs its fp32 twin before the cell's memory window opens (it once put
      // 3.76 GB into the first cell of each precision; the ORT runner's runs in a child process,
      // so none of it stays in this one); its own cost is recorded with its verdict.
      const gated = runner.checkAccuracy ? await runAccuracyGate(runner.checkAccuracy.bind(runner), cell, suite, context, rss) : undefined;
      if (gated !== undefined) rss = startPeakRssWindow();
      const prepared = await runner.prepare(cell, suite, gated !== undefined ? { ...context, accuracy: gated } : context);
      let monitor: CellMonitor | null = null;
      let machine: MachineState | undefined;
      let driverMachine: MachineState | undefined;
      let boardRead: Awaited<ReturnType<BoardStateWindow['finish']>> = null;
      let operatorProfile: OperatorProfile | null = null;
      let stateWindow: BoardStateWindow | null = null;
      try {
        if (probes.length) monitor = await monitorCell(probes, clock, probePlan(result));
        // The machine window covers the iterations only (the model is loaded, the runtime's
        // threads exist), so load and run-queue wait describe the measured work.
        // On a board the work is the board's: its load is read there, through the same transport;
        // this machine's own load is kept apart as the driver's.
        const boardWindow = onBoard ? await startBoardWindow(req.transport!) : null;
        stateWindow = onBoard ? await startBoardStateWindow(req.transport!, clock, { sampler: boardSampler, intervalMs: BOARD_SAMPLE_INTERVAL_MS }) : null;
        const machineWindow = startMachineWindow();
        ({ reason: stopReason, stopping } = await measureCell(prepared, result.options, iterations, progress));
        const local = machineWindow.finish();
        boardRead = (await stateWindow?.finish()) ?? null;
        if (boardWindow) {
          machine = (await boardWindow.finish()) ?? undefined;
          driverMachine = local;
        } else machine = local;
        operatorProfile = (await prepared.collectProfile?.()) ?? null;
      } finally {
        await stateWindow?.finish();
        await prepared.close();
      }
      const probed = monitor ? await monitor.finish(iterations) : null;
      if (probed) result.warnings.push(...probed.warnings.map((w) => `${cell.id}: ${w}`));
      if (onBoard && !boardRead) result.warnings.push(`${cell.id}: the board's power mode, clocks and temperatures could not be read before the cell (its board state is not recorded)`);
      result.warnings.push(...(boardRead?.warnings ?? []).map((w) => `${cell.id}: board state: ${w}`));
      // A cell of a power_mode axis runs in its own mode by design: it does not set the run's.
      if (boardRead && power === null) result.environment.board = headerWithPowerMode(result.environment.board ?? {}, boardRead.before);
      const board: BoardJudgement | null = boardRead
        ? judgeBoardState({
            window: boardRead,
            probeSamples: probed?.record.samples ?? [],
            header: result.environment.board ?? {},
            ...(typeof powerSettings['powerMode'] === 'string' ? { expectedMode: powerSettings['powerMode'] } : {}),
            ...(result.options.probes?.tempLimitC !== undefined ? { tempLimitC: result.options.probes.tempLimitC } : {}),
          })
        : null;
      // The probes' throttling watch and the board's (the same samples when a probe sampled the board).
      const throttleReasons = [...new Set([...(probed?.record.thermal.reasons ?? []), ...(board?.thermal.reasons ?? [])])];
      const throttled = probed?.record.thermal.throttled === true || board?.thermal.throttled === true;
      const wrong = prepared.accuracy && !prepared.accuracy.passed ? prepared.accuracy : null;
      if (wrong) {
        result.warnings.push(`${cell.id}: ${wrong.precision} model is NUMERICALLY WRONG on this CPU (${wrong.failures.join('; ')} vs fp32); its figures were measured but do not describe a working model`);
      }
      const failures = iterations.filter((r) => !r.warmup && r.error);
      const outcome = cellOutcome(iterations, result.options.maxFailedFraction ?? DEFAULT_MAX_FAILED_FRACTION);
      // Figures of the iterations that worked are kept even when too many failed for the cell to pass.
      const ok = iterations.some((r) => !r.warmup && !r.error);
      const peak = rss.read();
      const metrics = ok ? cellMetrics(iterations) : {};
      metrics['load_ms'] = summarize([prepared.loadMs], 'ms');
      if (ok && prepared.summarizeCell) {
        for (const [name, { value, unit }] of Object.entries(prepared.summarizeCell(iterations))) {
          if (Number.isFinite(value)) metrics[name] = summarize([value], unit);
        }
      }
      metrics['peak_rss_mb'] = summarize([peak.bytes / 2 ** 20], 'MiB');
      const overheadPct = ok ? harnessOverheadPct(iterations) : null;
      if (overheadPct !== null) metrics['harness_overhead_pct'] = summarize([overheadPct], '%');
      record = {
        id: cell.id,
        index: cell.index,
        params: cell.params,
        status: outcome.status,
        ...(failures.length
          ? {
              error:
                `${outcome.failed} of ${outcome.measured} iteration(s) failed` +
                (outcome.status === 'failed' && ok ? ` (above --max-failed-fraction ${result.options.maxFailedFraction ?? DEFAULT_MAX_FAILED_FRACTION})` : '') +
                `: ${failures[0]!.error}`,
            }
          : {}),
        startedAt,
        finishedAt: new Date().toISOString(),
        loadMs: prepared.loadMs,
        model: prepared.model,
        settings: { runner: runnerName, ...prepared.settings, ...powerSettings, peakRssScope: peak.scope },
        iterations,
        metrics,
        subgraphs: ok ? subgraphStats(iterations) : {},
        peakRssBytes: peak.bytes,
        stopReason,
        ...(stopping ? { stopping } : {}),
        outliers: markOutliers(iterations),
        ...(machine ? { machine } : {}),
        ...(driverMachine ? { driverMachine, machineIs: 'board' as const } : {}),
        ...(operatorProfile ? { operatorProfile } : {}),
        ...(prepared.accuracy ? { accuracy: prepared.accuracy } : {}),
        ...(probed ? { probes: probed.record } : {}),
        ...(board ? { boardState: board.state } : {}),
        ...(probed || board ? { throttled, throttleReasons } : {}),
      };
      if (probed) Object.assign(record.metrics, probed.metrics);
      if (ok) {
        record.spread = cellSpread(iterations);
        // An in-process runner's own compute threads count in the load average; a remote one's do not.
        const ownThreads = typeof record.settings['intraOpNumThreads'] === 'number' ? record.settings['intraOpNumThreads'] : typeof record.settings['threads'] === 'number' ? record.settings['threads'] : 0;
        record.flags = [
          ...cellFlags({ spread: record.spread, outliers: record.outliers, machine: record.machine, machineIsBoard: driverMachine !== undefined, throttled: record.throttled, throttleReasons: record.throttleReasons, ownThreads }),
          ...(board?.flags ?? []),
          ...(prepared.flags ?? []),
        ];
        const timed = Object.keys(record.metrics).filter((m) => metricDefinition(m)?.scope === 'iteration');
        // Stored on the statistic too (result.json `metrics.<name>.flags`), so every table that
        // shows the figure marks it (reporters/figures.ts reads them).
        for (const [metric, flags] of Object.entries(metricFlags(record.flags, record.spread, timed))) {
          (record.metrics[metric] as MetricStats & { flags?: CellFlag[] }).flags = flags;
        }
      }
    } catch (err) {
      record = {
        id: cell.id,
        index: cell.index,
        params: cell.params,
        status: 'failed',
        error: errorMessage(err),
        startedAt,
        finishedAt: new Date().toISOString(),
        loadMs: null,
        model: null,
        settings: { runner: runnerName },
        iterations,
        metrics: {},
        subgraphs: {},
        peakRssBytes: null,
      };
    }
    // A cell cut short by a stop signal is not recorded (its commands died with the signal): a
    // resume runs it again, instead of keeping a failure the interruption caused.
    if (result.status === 'interrupted') return { store, failedCells: result.cells.filter((c) => c.status === 'failed').length };
    store.addCell(record);
    progress.cellDone(record);
  }
  if (result.status === 'interrupted') return { store, failedCells: result.cells.filter((c) => c.status === 'failed').length };
  const powerWarning = await power?.restore();
  if (powerWarning) result.warnings.push(powerWarning);
  await finishRun(store, req.roofline, (m) => progress.log(m));
  progress.runDone();
  return { store, failedCells: result.cells.filter((c) => c.status === 'failed').length };
}
