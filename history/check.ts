import { InputError } from '../core/errors.ts';
import { HEADLINE_METRICS } from '../core/metric-registry.ts';
import { median } from '../core/stats.ts';
import { metricDirection } from '../analysis/cell-values.ts';
import { DEFAULT_CONFIDENCE, testShift, type ShiftTestOutcome } from '../analysis/compare-runs.ts';
import type { Direction } from '../analysis/comparison-types.ts';
import { DEFAULT_EDIVISIVE, eDivisive, type EDivisiveOptions } from './e-divisive.ts';
import type { CellRecord, RunRecord } from './record.ts';
import type { HistoryStore, Point, PointKey, SeriesRow } from './store.ts';

/**
 * `bench history check`: is a run part of a change nobody has accepted yet? Per cell and metric:
 * E-divisive means over the run medians since the last accepted change (at most `window` of
 * them, ending at the run), and the two-run test of the run's iterations against the runs of
 * the last stable level before it.
 */

export interface HistoryCheckOptions {
  /** Metrics to check; default those of `bench compare` the run has. */
  metrics?: string[];
  /** A change smaller than this (in %) is reported but never fails the gate. */
  thresholdPct: number;
  /** Confidence of the two-run test. */
  confidence?: number;
  detector?: Partial<EDivisiveOptions>;
  /** Most run medians analysed per series (the newest, ending at the checked run). */
  window?: number;
  /** Most runs of the stable level pooled for the two-run test. */
  stableRuns?: number;
  /** Fail the gate on the two-run test alone too (default: only a change point fails it). */
  gateTwoRun?: boolean;
  /** Where the result was read from, shown in the output. */
  source?: string;
}

export const DEFAULT_WINDOW = 100;
export const DEFAULT_STABLE_RUNS = 20;
export const METHOD =
  'E-divisive means (Matteson & James 2014) on log run medians with a seeded permutation test; ' +
  'two-run test: Mann-Whitney U and Hodges-Lehmann shift (Moses interval) of the run against its stable window';

export interface DetectedChange {
  /** Commit (and run) where the new level begins. */
  commit: string | null;
  runId: string;
  date: string;
  /** Median of run medians of the level before and of the level from this change on. */
  beforeMedian: number;
  afterMedian: number;
  /** afterMedian / beforeMedian - 1, in %, in the metric's own terms. */
  changePct: number;
  pValue: number;
  /** Runs measured at the new level (the change begins at the first of them). */
  runsSince: number;
  /**
   * The change sits as close to the newest run as a level may (min size): it may have begun
   * at one of the later runs, and its commit can still move as runs are added.
   */
  mayBeLater: boolean;
  /** Worse beyond the threshold. */
  regression: boolean;
  improvement: boolean;
}

export type RowStatus = 'regression' | 'improvement' | 'change' | 'ok' | 'insufficient history';

export interface TwoRunTest extends ShiftTestOutcome {
  /** Runs pooled as the stable window, and their iteration count. */
  baseRuns: number;
  baseN: number;
  candN: number;
  baseMedian: number | null;
  /** Candidate median / stable window median - 1, in %. */
  changePct: number | null;
}

export interface HistoryRow {
  cellId: string;
  metric: string;
  unit: string;
  direction: Direction;
  /** Run medians analysed (ending at the checked run). */
  points: number;
  /** The accepted change the window starts at, when there is one. */
  acceptedFrom: { commit: string | null; runId: string } | null;
  candidateMedian: number | null;
  /** Unaccepted changes in the window, oldest first. */
  changes: DetectedChange[];
  twoRun: TwoRunTest;
  status: RowStatus;
  /** Fails the gate. */
  regression: boolean;
  note?: string;
}

export interface CandidateRef {
  id: string;
  runId: string;
  gitCommit: string | null;
  commitDate: string;
  startedAt: string;
  /** Whether the run is in the database (a check does not add it). */
  stored: boolean;
  source?: string;
}

export interface HistoryCheck {
  format: 'vlm-edge-bench/history-check@1';
  db: string;
  suite: string;
  board: string;
  candidate: CandidateRef;
  /** Runs of this suite and board in the database. */
  storedRuns: number;
  thresholdPct: number;
  confidence: number;
  detector: EDivisiveOptions;
  window: number;
  gateTwoRun: boolean;
  method: string;
  metrics: string[];
  rows: HistoryRow[];
  /** Cells that failed in the run. */
  failedCells: Array<{ cellId: string; error: string; newlyFailing: boolean }>;
  /** Cells with a row that fails the gate, in run order. */
  regressedCells: string[];
  summary: { checked: number; regressions: number; improvements: number; changes: number; insufficient: number; newlyFailing: number };
}

/** FNV-1a: a per-series permutation seed, so that every series is shuffled differently but reproducibly. */
function seriesSeed(base: number, key: string): number {
  let h = 0x811c9dc5 ^ base;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const worse = (direction: Direction, changePct: number) => (direction === 'lower is better' ? changePct : -changePct);

/** Segments [start, end) between change points of a window of n points. */
function segments(n: number, changeIndexes: readonly number[]): Array<[number, number]> {
  const bounds = [0, ...changeIndexes, n];
  return bounds.slice(0, -1).map((b, i) => [b, bounds[i + 1]!]);
}

export interface JudgeOptions {
  thresholdPct: number;
  confidence: number;
  stableRuns: number;
  gateTwoRun: boolean;
  detector: EDivisiveOptions;
}

export interface SeriesInput {
  /** Run medians in series order; the last is the checked run. */
  medians: readonly number[];
  direction: Direction;
  /** The checked run's iteration values (and why they cannot be tested, if so). */
  candidate: { values: readonly number[]; note?: string };
  /** Iteration values of the runs at these indexes, pooled (the stable window). */
  samplesOf: (indexes: readonly number[]) => number[];
  /** Why stored runs' values cannot be tested, if one of them says so. */
  noteOf?: (indexes: readonly number[]) => string | undefined;
}

export interface SeriesJudgement {
  changes: Array<Omit<DetectedChange, 'commit' | 'runId' | 'date'> & { index: number }>;
  /** Indexes [from, to) of the stable window. */
  stable: [number, number];
  twoRun: TwoRunTest;
  regression: boolean;
}

/**
 * The decision for one series, apart from the database: change points of the medians, the
 * size of each change, the stable window before the checked run and the two-run test against it.
 * `bench history check` and the quality benchmark both use it, so what is measured is what runs.
 */
export function judgeSeries(input: SeriesInput, opts: JudgeOptions): SeriesJudgement {
  const { medians, direction, candidate } = input;
  const n = medians.length;
  // E-divisive on log medians: a 10% slowdown is the same step at 10 ms and at 1,000 ms.
  const positive = medians.every((v) => v > 0);
  const values = positive ? medians.map(Math.log) : medians;
  const found = n >= 2 * opts.detector.minSize ? eDivisive(values, opts.detector) : [];
  const segs = segments(
    n,
    found.map((c) => c.index),
  );
  const medianOf = ([a, b]: [number, number]) => median(medians.slice(a, b))!;
  const changes = found.map((c, i) => {
    const beforeMedian = medianOf(segs[i]!);
    const afterMedian = medianOf(segs[i + 1]!);
    const changePct = (afterMedian / beforeMedian - 1) * 100;
    const w = worse(direction, changePct);
    return {
      index: c.index,
      beforeMedian,
      afterMedian,
      changePct,
      pValue: c.pValue,
      runsSince: n - c.index,
      mayBeLater: n - c.index === opts.detector.minSize,
      regression: w > opts.thresholdPct,
      improvement: -w > opts.thresholdPct,
    };
  });
  // The stable window: the runs before the checked one at its level, or the level before when it begins a new one.
  const last = segs[segs.length - 1]!;
  const level: [number, number] = last[1] - 1 > last[0] ? [last[0], last[1] - 1] : segs.length > 1 ? segs[segs.length - 2]! : [0, 0];
  const stable: [number, number] = [Math.max(level[0], level[1] - opts.stableRuns), level[1]];
  const indexes = Array.from({ length: stable[1] - stable[0] }, (_, i) => stable[0] + i);
  const cand = median(candidate.values) ?? medians[n - 1]!;
  const baseMedian = indexes.length ? medianOf(stable) : null;
  const changePct = baseMedian !== null && baseMedian !== 0 ? (cand / baseMedian - 1) * 100 : null;
  const base = indexes.length ? input.samplesOf(indexes) : [];
  const note = candidate.note ?? (indexes.length ? input.noteOf?.(indexes) : undefined);
  const test: ShiftTestOutcome = !indexes.length
    ? { ciPct: null, shiftPct: null, pValue: null, verdict: 'insufficient data', regression: false, improvement: false, note: 'no earlier run of this cell and metric' }
    : note
      ? { ciPct: null, shiftPct: null, pValue: null, verdict: 'insufficient data', regression: false, improvement: false, note }
      : testShift(base, candidate.values, { baseMedian, changePct, direction, thresholdPct: opts.thresholdPct, confidence: opts.confidence });
  const twoRun: TwoRunTest = { ...test, baseRuns: indexes.length, baseN: base.length, candN: candidate.values.length, baseMedian, changePct };
  return { changes, stable, twoRun, regression: changes.some((c) => c.regression) || (opts.gateTwoRun && twoRun.regression) };
}

interface SeriesToCheck {
  cell: CellRecord;
  metric: string;
  series: SeriesRow | undefined;
  candidatePoint: Point;
}

function checkSeries(store: HistoryStore, input: SeriesToCheck, opts: JudgeOptions & { window: number }): HistoryRow {
  const { cell, metric, series, candidatePoint } = input;
  const m = cell.metrics.get(metric)!;
  const direction = metricDirection(metric);
  const row: HistoryRow = {
    cellId: cell.cellId,
    metric,
    unit: m.unit,
    direction,
    points: 1,
    acceptedFrom: null,
    candidateMedian: m.median,
    changes: [],
    twoRun: { ciPct: null, shiftPct: null, pValue: null, verdict: 'insufficient data', regression: false, improvement: false, baseRuns: 0, baseN: 0, candN: m.values.length, baseMedian: null, changePct: null },
    status: 'insufficient history',
    regression: false,
  };
  if (!series) {
    row.note = 'first run of this cell and metric on this board';
    return row;
  }
  const stored = candidatePoint.run >= 0;
  // An unstored run sorts after stored runs of the same dates.
  const upTo: PointKey = stored ? candidatePoint : { ...candidatePoint, run: Number.MAX_SAFE_INTEGER };
  const accepted = store.lastAccepted(series.id, upTo);
  if (accepted) row.acceptedFrom = { commit: accepted.gitCommit, runId: accepted.runId };
  const points = store.window(series.id, { ...(accepted ? { from: accepted } : {}), to: upTo, last: stored ? opts.window : opts.window - 1 });
  if (!stored) points.push(candidatePoint);
  row.points = points.length;
  const n = points.length;
  const detector = { ...opts.detector, seed: seriesSeed(opts.detector.seed, `${series.suite}\u0000${series.board}\u0000${series.cellId}\u0000${series.metric}`) };
  const judged = judgeSeries(
    {
      medians: points.map((p) => p.median),
      direction,
      candidate: { values: m.values, ...(m.note ? { note: m.note } : {}) },
      samplesOf: (idx) => {
        const runs = idx.map((i) => points[i]!.run);
        const byRun = store.samples(series.id, runs);
        return runs.flatMap((r) => byRun.get(r) ?? []);
      },
      noteOf: (idx) => idx.map((i) => points[i]!.note).find((x) => x !== null) ?? undefined,
    },
    { ...opts, detector },
  );
  row.changes = judged.changes.map(({ index, ...c }) => ({ commit: points[index]!.gitCommit, runId: points[index]!.runId, date: points[index]!.commitDate, ...c }));
  row.twoRun = judged.twoRun;
  row.regression = judged.regression;
  if (row.regression) row.status = 'regression';
  else if (row.changes.some((c) => c.improvement)) row.status = 'improvement';
  else if (row.changes.length) row.status = 'change';
  else if (n < 2 * detector.minSize) {
    row.status = 'insufficient history';
    row.note = `${n} run${n === 1 ? '' : 's'} since ${accepted ? 'the accepted change' : 'the first'}: change points need at least ${2 * detector.minSize}`;
  } else row.status = 'ok';
  return row;
}

/** Checks a run (stored or not) against the history of its suite and board. */
export function checkRun(store: HistoryStore, record: RunRecord, options: HistoryCheckOptions): HistoryCheck {
  const p = record.provenance;
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  if (!Number.isFinite(options.thresholdPct) || options.thresholdPct < 0) throw new InputError(`threshold must be a percentage >= 0, got ${options.thresholdPct}`);
  const detector: EDivisiveOptions = { ...DEFAULT_EDIVISIVE, ...options.detector };
  const opts = {
    thresholdPct: options.thresholdPct,
    confidence,
    window: options.window ?? DEFAULT_WINDOW,
    stableRuns: options.stableRuns ?? DEFAULT_STABLE_RUNS,
    gateTwoRun: options.gateTwoRun ?? false,
    detector,
  };
  const storedRun = store.runById(p.id);
  const storedRuns = store.countRuns(p.suite, p.board);
  if (storedRuns - (storedRun ? 1 : 0) === 0) {
    const boards = store.boardsOf(p.suite);
    throw new InputError(
      `${store.file}: no other run of suite "${p.suite}" on board "${p.board}" to judge against` +
        (boards.length ? ` (boards with runs of this suite: ${boards.join(', ')}; pass --board)` : ` (add runs with \`bench history add\`)`),
    );
  }
  const available = new Set(record.cells.flatMap((c) => [...c.metrics.keys()]));
  let metrics: string[];
  if (options.metrics?.length) {
    const missing = options.metrics.filter((m) => !available.has(m));
    if (missing.length) throw new InputError(`metric ${missing.map((m) => `"${m}"`).join(', ')} is not in the run; available: ${[...available].sort().join(', ')}`);
    metrics = [...new Set(options.metrics)];
  } else {
    metrics = HEADLINE_METRICS.filter((m) => available.has(m));
  }
  const candidateKey = { run: storedRun ? storedRun.key : -1, commitDate: p.commitDate, startedAt: p.startedAt };
  const seriesByKey = new Map(store.series({ suite: p.suite, board: p.board }).map((s) => [`${s.cellId}\u0000${s.metric}`, s]));
  const byMetric = metrics.map((): HistoryRow[] => []);
  for (const cell of record.cells) {
    if (cell.status !== 'ok') continue;
    metrics.forEach((metric, i) => {
      const m = cell.metrics.get(metric);
      if (!m) return;
      const candidatePoint: Point = { ...candidateKey, runId: p.runId, gitCommit: p.gitCommit, median: m.median, n: m.values.length, note: m.note ?? null };
      byMetric[i]!.push(checkSeries(store, { cell, metric, series: seriesByKey.get(`${cell.cellId}\u0000${metric}`), candidatePoint }, opts));
    });
  }
  const rows = byMetric.flat();
  const failedCells = record.cells
    .filter((c) => c.status !== 'ok')
    .map((c) => {
      const before = store.lastCellStatus(p.suite, p.board, c.cellId, candidateKey);
      return { cellId: c.cellId, error: c.error ?? 'no error recorded', newlyFailing: before === 'ok' };
    });
  const regressed = new Set(rows.filter((r) => r.regression).map((r) => r.cellId));
  for (const f of failedCells) if (f.newlyFailing) regressed.add(f.cellId);
  return {
    format: 'vlm-edge-bench/history-check@1',
    db: store.file,
    suite: p.suite,
    board: p.board,
    candidate: { id: p.id, runId: p.runId, gitCommit: p.gitCommit, commitDate: p.commitDate, startedAt: p.startedAt, stored: storedRun !== undefined, ...(options.source ? { source: options.source } : {}) },
    storedRuns,
    thresholdPct: opts.thresholdPct,
    confidence,
    detector,
    window: opts.window,
    gateTwoRun: opts.gateTwoRun,
    method: METHOD,
    metrics,
    rows,
    failedCells,
    regressedCells: record.cells.map((c) => c.cellId).filter((id) => regressed.has(id)),
    summary: {
      checked: rows.length,
      regressions: rows.filter((r) => r.regression).length,
      improvements: rows.filter((r) => r.status === 'improvement').length,
      changes: rows.reduce((s, r) => s + r.changes.length, 0),
      insufficient: rows.filter((r) => r.status === 'insufficient history').length,
      newlyFailing: failedCells.filter((f) => f.newlyFailing).length,
    },
  };
}

/** Whether the check fails a CI gate: an unaccepted regression, or a cell that newly fails. */
export function historyGateFails(c: HistoryCheck): boolean {
  return c.regressedCells.length > 0;
}
