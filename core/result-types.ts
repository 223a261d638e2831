import type { Calibration } from './calibration-types.ts';
import type { IterationRecord } from './events.ts';
import type { IdleBaseline } from './energy.ts';
import type { HwSample, ProbeRun, ThermalVerdict } from './probe-types.ts';
import type { AccuracyCheck, ModelIdentity, OperatorProfile } from './runner.ts';
import type { MetricStats } from './stats.ts';
import type { AxisValue, Suite } from './suite-types.ts';

/** Bumped whenever a reader of an older result would misread a newer one. */
export const RESULT_SCHEMA_VERSION = 1;

/**
 * Adaptive iteration count: keep measuring until the 95% confidence interval of the key
 * metric's mean is within `targetCiPct` percent of the mean (each side), bounded by a maximum
 * count and a time budget per cell. `iterations` (the fixed count) becomes the minimum.
 */
export interface AdaptivePlan {
  /** Key metrics whose median intervals must all be narrow enough (default ttft_ms, tpot_ms). */
  metrics: string[];
  /** Results written before `metrics` existed had one key metric. */
  metric?: string;
  targetCiPct: number;
  maxIterations: number;
  maxCellSeconds: number;
}

/** Why a cell stopped measuring. */
export type StopRule = 'fixed count' | 'target reached' | 'max count' | 'time budget';

/** What a cell's result says about how measuring ended (CellResult.stopping). */
export interface StoppingRecord {
  rule: StopRule;
  /** Measured (non-warm-up) iterations. */
  measured: number;
  /** The adaptive target (± % of the median), null for a fixed count. */
  targetCiPct: number | null;
  /** Key metric -> half-width of the 95% interval of its median, % of the median, when measuring stopped. */
  halfWidthPct: Record<string, number | null>;
}

/**
 * How busy the machine was while a cell measured (hw-probes/machine-load.ts reads it). Fields
 * are null where the kernel does not expose them.
 */
export interface MachineState {
  cpus: number;
  loadAvg1Before: number;
  loadAvg1After: number;
  /** Steal time over all CPU time of the machine during the window, %. */
  stealPct: number | null;
  /** Wait for a CPU over (run + wait) of this process's threads during the window, %. */
  runQueueWaitPct: number | null;
}

export interface MetricSpread {
  n: number;
  /** Half-width of the 95% CI of the median, % of the median; null when n < 6. */
  ciHalfWidthPct: number | null;
  /** Interquartile range over the median, %. */
  iqrOverMedianPct: number;
}

export type CellFlagKind = 'noisy' | 'few-iterations' | 'outliers' | 'busy' | 'steal' | 'run-queue' | 'throttled' | 'clocks' | 'power-mode' | 'no-simd';

/** Why a cell's figures deserve caution (harness/cell-quality.ts decides, with its thresholds). */
export interface CellFlag {
  kind: CellFlagKind;
  /** A sentence a reader can act on, with the figure and the threshold. */
  message: string;
}

export interface ProbePlan {
  intervalMs: number;
  /** Idle sampling before each cell, for the baseline power; 0 = none. */
  baselineMs: number;
  tempLimitC?: number;
}

/** What the probes saw during one cell, as stored in the result. */
export interface CellProbeRecord {
  runs: Array<{ probe: string; intervalMs: number; samples: number; warnings: string[]; alignment: ProbeRun['alignment'] }>;
  /** The power the energy figures integrate: which rail(s), and the idle baseline. */
  power: { basis: string; points: number; baseline: IdleBaseline | null; warnings: string[] } | null;
  thermal: ThermalVerdict;
  /** Every sample, on the run clock, so reports can plot power over time with phase bands. */
  samples: HwSample[];
  /** Idle window before the cell, run-clock ms. */
  baselineWindow: { startMs: number; endMs: number } | null;
}

/** One clock domain as the board reported it, MHz (null where it did not say). */
export interface BoardClock {
  curMhz: number | null;
  /** The floor and ceiling the governor may use (equal when the clock is locked). */
  minMhz: number | null;
  maxMhz: number | null;
  governor?: string;
}

/** The board's power mode, clocks and temperatures at one moment (hw-probes/board-state.ts). */
export interface BoardStateReading {
  /** Run-clock ms of the reading. */
  tMs?: number;
  powerMode: { name: string; id?: number } | null;
  /** Domain name (gpu, emc, cpu0 from jetson_clocks; "cpu policy0" or a devfreq device from sysfs) -> clock. */
  clocks: Record<string, BoardClock>;
  /** Thermal zone -> °C. */
  temperaturesC: Record<string, number>;
  /** What answered: "nvpmodel -q", "jetson_clocks --show", "sysfs". */
  sources: string[];
}

/**
 * The board's state around one cell, read on the board through the run's transport: before the
 * measured iterations, after them, and while they ran (the board's sampler), with what differed
 * from the run's header and the sentences of the flags it set (harness/board-quality.ts).
 */
export interface CellBoardState {
  before: BoardStateReading;
  after: BoardStateReading | null;
  during: {
    /** The sampler ("tegrastats") and how many samples it gave while the cell measured. */
    source: string;
    samples: number;
    maxTempC: number | null;
    maxTempSensor: string | null;
    /** Clock -> lowest and highest MHz sampled. */
    clockRangesMhz: Record<string, [number, number]>;
  } | null;
  /** What differed from the run's header state (environment.board), one sentence each; empty when nothing did. */
  differences: string[];
}

export interface SubgraphStats {
  /** Latency of one invocation, ms. */
  perInvocation: MetricStats;
  /** Sum of this graph's invocations within one request, ms. */
  perRequest: MetricStats;
  /** Invocations per request (median over iterations). */
  invocationsPerRequest: number;
  phase: string;
}

export interface CellResult {
  id: string;
  index: number;
  params: Record<string, AxisValue>;
  status: 'ok' | 'failed';
  error?: string;
  startedAt: string;
  finishedAt: string;
  loadMs: number | null;
  model: ModelIdentity | null;
  settings: Record<string, string | number | boolean>;
  /** Measured and warm-up iterations with their raw events. */
  iterations: IterationRecord[];
  /** Metric name (DESIGN.md vocabulary) -> statistics over measured iterations. */
  metrics: Record<string, MetricStats>;
  subgraphs: Record<string, SubgraphStats>;
  /** Peak resident set size of the process while the cell ran, bytes. */
  peakRssBytes: number | null;
  /** Why measuring stopped (fixed count, adaptive CI reached, budget spent), as a sentence. */
  stopReason?: string;
  /** The same as data: which rule stopped the cell, after how many iterations, how wide the key intervals were. */
  stopping?: StoppingRecord;
  /** What the machine did while the cell measured (load, CPU steal, run-queue wait). */
  machine?: MachineState;
  /** On a board: this (driving) machine's own load, kept apart; `machine` is then the board's. */
  driverMachine?: MachineState;
  /** 'board' when `machine` was read on the board through the transport. */
  machineIs?: 'board';
  /** Spread of the key metrics: 95% CI half-width of the median and IQR, % of the median. */
  spread?: Record<string, MetricSpread>;
  /** Why this cell's figures deserve caution (noisy, busy machine, outliers, throttled); empty when none. Thresholds: harness/cell-quality.ts. */
  flags?: CellFlag[];
  /** Metric -> indexes of iterations outside Tukey's fences; marked, never dropped. */
  outliers?: Record<string, number[]>;
  /** Hardware samples, power basis and thermal verdict, when probes ran. */
  probes?: CellProbeRecord;
  /** Per-operator time of each graph (`--ort-profile`); timings of such a cell include profiler overhead. */
  operatorProfile?: OperatorProfile;
  /**
   * Quantised models: agreement with fp32 on this machine (accuracy gate). `passed: false`
   * means the cell's figures come from a numerically wrong model: tables and charts must say so.
   */
  accuracy?: AccuracyCheck;
  /** On a board: its power mode, clocks and temperatures before, during and after the measured iterations. */
  boardState?: CellBoardState;
  /** True when clocks dropped or a temperature limit was crossed during the cell. */
  throttled?: boolean;
  throttleReasons?: string[];
  /** The board the cell ran on, in a result merged from shards run on several boards. */
  board?: string;
}

export interface Environment {
  host: { hostname: string; cpu: string; cores: number; physicalCores: number; memoryBytes: number; arch: string };
  os: { platform: string; distro: string; release: string; kernel: string };
  versions: Record<string, string>;
  git: { revision: string | null; dirty: boolean | null };
  /** Board facts (power mode, clocks, BSP) when a probe knows them. */
  board?: Record<string, string>;
}

/**
 * How a sharded plan was balanced: by the history's expected seconds for every cell; by those for
 * some cells and their median for the rest ("history+median"); or by cell count.
 */
export type CostBasis = 'history' | 'history+median' | 'count';

/** What a shard's result records about its plan (`bench run --shard K/N`, harness/shard.ts). */
export interface ShardRecord {
  /** 1-based shard index and the shard count. */
  index: number;
  count: number;
  /** Hash of the suite, the planned cells, the shard count and the assignment. */
  planHash: string;
  /** The board the shard ran on (--board, $BENCH_BOARD, or the target's host). */
  board: string;
  costBasis: CostBasis;
  /** The whole plan's cells in plan order, and the shard of each, so a merge can name what is missing. */
  planCells: string[];
  planShards: number[];
}

/** What a merged result records about the shards it was joined from (`bench merge`). */
export interface MergeRecord {
  planHash: string;
  count: number;
  shards: Array<{ index: number; board: string; runId: string; host: string; status: RunResult['status']; startedAt: string; finishedAt: string | null; cells: number }>;
  /** Shards of the plan no input held. */
  missingShards: number[];
  /** Planned cells no shard recorded. */
  missingCells: string[];
}

export interface RunResult {
  schemaVersion: number;
  runId: string;
  suite: { name: string; source: string; hash: string; definition: Suite };
  target: string;
  status: 'running' | 'complete' | 'interrupted';
  startedAt: string;
  finishedAt: string | null;
  options: {
    iterations: number;
    warmup: number;
    outputTokens: number;
    threads: number;
    filters: string[];
    /** Adaptive iterations (iterations is then the minimum), or null for a fixed count. */
    adaptive?: AdaptivePlan | null;
    /** Pause between cells, seconds, to let the machine cool down. */
    cooldownSeconds?: number;
    /** A cell whose share of failed measured iterations is above this is recorded failed. */
    maxFailedFraction?: number;
    /** Cell order: as the matrix expands, or shuffled with a recorded seed. */
    order?: 'matrix' | 'shuffled';
    shuffleSeed?: number | null;
    probes?: { names: string[]; intervalMs: number; baselineMs: number; tempLimitC?: number };
    /** Runtime profiling was on (per-operator times; slower). */
    ortProfile?: boolean;
  };
  environment: Environment;
  /** Cells in matrix order; a cell is present once it has finished (ok or failed). */
  cells: CellResult[];
  /** Cells selected for this run, so a reader can tell which are still missing. */
  plannedCells: string[];
  warnings: string[];
  /** Hardware bounds per cell and phase, added when the run ends if the target has a calibration. */
  roofline?: RooflineRecord;
  /** A shard of a plan split over several boards (`bench run --shard K/N`). */
  shard?: ShardRecord;
  /** A result joined from the shards of one plan (`bench merge`); its cells name their boards. */
  merged?: MergeRecord;
}

/** Work of one phase, as the roofline counts it (reporters/roofline/costs.ts). */
export interface RooflineWork {
  bytes: number;
  matmulWeightBytes: number;
  kvBytes: number;
  linearOps: number;
  attentionOps: number;
}

/** roofline/bounds.ts ComputeRate, as a result stores it. */
export interface RooflineComputeRate {
  part: 'weight matmuls' | 'attention';
  precision: 'fp32' | 'fp16' | 'int8' | 'int4';
  via: 'fp32' | 'fp16' | 'int8' | 'int4';
  figure: string;
  gops: number;
  method: string;
}

/** One cell and phase against its bound (times in ms; null where a figure is missing). */
export interface RooflineRecordRow {
  cellId: string;
  phase: 'image_encode' | 'prefill' | 'decode';
  /** What the bound and the achieved time cover. */
  per: 'output token' | 'request';
  work: RooflineWork | null;
  memoryMs: number | null;
  computeMs: number | null;
  boundMs: number | null;
  limitedBy: 'memory' | 'compute' | null;
  /**
   * The rates the compute bound is taken at: per part, the fastest calibrated kernel that
   * computes its precision (roofline/bounds.ts). Absent in results written before it existed.
   */
  computeRates?: RooflineComputeRate[];
  /** The least time with this runtime's own kernels (decode: batch-1 kernels; prefill, image encode: its matmul rates). */
  kernelMs: number | null;
  /** Median of tpot_ms, prefill_ms or image_encode_ms. */
  achievedMs: number | null;
  percentOfBound: number | null;
  percentOfKernelCeiling: number | null;
  /** Measured faster than the bound beyond its interval: the bound is wrong. Absent in older results. */
  boundWrong?: boolean;
  /** The same against the kernel ceiling. */
  kernelCeilingWrong?: boolean;
  notes: string[];
}

export interface RooflineRecord {
  /**
   * The calibration the bounds come from, whole, so a report regenerated later or elsewhere
   * uses the figures the run was judged against.
   */
  calibration: Calibration;
  rows: RooflineRecordRow[];
}
