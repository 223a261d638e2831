import { InputError } from '../core/errors.ts';
import { HEADLINE_METRICS } from '../core/metric-registry.ts';
import { median } from '../core/stats.ts';
import { metricDirection } from '../analysis/cell-values.ts';
import { DEFAULT_CONFIDENCE, testShift, type ShiftTestOutcome } from '../analysis/compare-runs.ts';
import type { Direction, GateFinding, GateOutcome, IdentityDifferenceRow } from '../analysis/comparison-types.ts';
import { outcomeOf } from '../analysis/compare-runs.ts';
import { diffIdentities, describeDifference, type ConfigurationIdentity, type IdentityFieldName } from '../analysis/identity.ts';
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
  /** Identity fields allowed to differ from the stored series (`--allow-difference`): judged against it, labelled. */
  allowDifferences?: ReadonlySet<string>;
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
  /** Judged against a series of another configuration, the user allowed these fields to differ. */
  allowedDifferences?: string[];
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
  /** Identity fields that differ from the stored series (allowed or not), with the cells. */
  identity: { allowed: string[]; differences: IdentityDifferenceRow[] };
  /** The suite definition changed since the previous stored run (shown beside the verdict; never blocking). */
  suiteChanged: { from: string; to: string; runId: string } | null;
  /** Every reason the gate fails or cannot judge; empty on a pass. */
  findings: GateFinding[];
  /** Exit 0 / 1 / 2. */
  outcome: GateOutcome;
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
  const allow = options.allowDifferences ?? new Set<string>();
  const findings: GateFinding[] = [];
  const differences = new Map<string, IdentityDifferenceRow>();
  // Every stored series of this suite and board, by cell and metric; one per configuration identity.
  const seriesOf = new Map<string, SeriesRow[]>();
  for (const s of store.series({ suite: p.suite, board: p.board })) {
    const key = `${s.cellId}\u0000${s.metric}`;
    seriesOf.set(key, [...(seriesOf.get(key) ?? []), s]);
  }
  const identityCache = new Map<string, ConfigurationIdentity | undefined>();
  const storedIdentity = (key: string): ConfigurationIdentity | undefined => {
    if (!identityCache.has(key)) {
      const fields = store.identityFields(key);
      identityCache.set(key, fields ? { fields: fields as Record<IdentityFieldName, string>, versions: {}, complete: true } : undefined);
    }
    return identityCache.get(key);
  };
  /**
   * The series a cell's metric is judged against: the one of its own identity; else, when the
   * user allowed every field in which the newest other one differs, that one (labelled).
   */
  const pickSeries = (cell: CellRecord, metric: string): { series: SeriesRow | undefined; allowed?: string[]; blocking?: string } => {
    const all = seriesOf.get(`${cell.cellId}\u0000${metric}`) ?? [];
    const same = all.find((s) => s.identity === cell.identityKey);
    if (same || !all.length) return { series: same };
    const other = all[all.length - 1]!;
    const fields = storedIdentity(other.identity);
    const diffs = fields ? diffIdentities(fields, cell.identity, allow) : [];
    for (const d of diffs) {
      const key = JSON.stringify([d.field, d.base, d.cand]);
      const row = differences.get(key) ?? { field: d.field, base: d.base, cand: d.cand, allowed: d.allowed, cellIds: [] };
      if (!row.cellIds.includes(cell.cellId)) row.cellIds.push(cell.cellId);
      differences.set(key, row);
    }
    const blocking = diffs.filter((d) => !d.allowed);
    if (!fields || blocking.length) {
      const what = fields ? blocking.map(describeDifference).join('; ') : 'stored identity unreadable';
      return { series: undefined, blocking: `the stored runs of this cell are another configuration (${what}); allow with --allow-difference ${blocking.map((d) => d.field).join(',')}` };
    }
    return { series: other, allowed: diffs.map((d) => d.field) };
  };
  const byMetric = metrics.map((): HistoryRow[] => []);
  const identityFlagged = new Set<string>();
  for (const cell of record.cells) {
    if (cell.status !== 'ok') continue;
    metrics.forEach((metric, i) => {
      const m = cell.metrics.get(metric);
      const picked = pickSeries(cell, metric);
      if (picked.blocking && !identityFlagged.has(cell.cellId)) {
        identityFlagged.add(cell.cellId);
        findings.push({ kind: 'identity', outcome: 'cannot judge', cellId: cell.cellId, reason: `not the same configuration as its history: ${picked.blocking}` });
      }
      if (!m) {
        // A gated metric this cell's history measured, missing now: a broken phase, not "nothing to check".
        if (picked.series) findings.push({ kind: 'missing-metric', outcome: 'fail', cellId: cell.cellId, metric, reason: `${metric} is in this cell's history but missing in the run` });
        return;
      }
      const candidatePoint: Point = { ...candidateKey, runId: p.runId, gitCommit: p.gitCommit, median: m.median, n: m.values.length, note: m.note ?? null, ranOn: cell.ranOn ?? null };
      const row = checkSeries(store, { cell, metric, series: picked.series, candidatePoint }, opts);
      if (picked.allowed?.length) row.allowedDifferences = picked.allowed;
      if (picked.blocking) row.note = picked.blocking;
      byMetric[i]!.push(row);
    });
  }
  const rows = byMetric.flat();
  const failedCells = record.cells
    .filter((c) => c.status !== 'ok')
    .map((c) => {
      const before = store.lastCellStatus(p.suite, p.board, c.cellId, candidateKey);
      return { cellId: c.cellId, error: c.error ?? 'no error recorded', newlyFailing: before === 'ok' };
    });
  const cellById = new Map(record.cells.map((c) => [c.cellId, c]));
  let judged = 0;
  for (const r of rows) {
    const cell = cellById.get(r.cellId)!;
    if (r.regression && cell.loadFlags.length) {
      // Not a regression on this evidence alone: the run was measured on a loaded machine.
      r.regression = false;
      findings.push({
        kind: 'machine-load',
        outcome: 'cannot judge',
        cellId: r.cellId,
        metric: r.metric,
        reason: `${r.metric} would be a regression, but the cell was flagged ${cell.loadFlags.join(', ')}: re-measure on a quiet, cool machine`,
      });
      continue;
    }
    if (r.regression) {
      findings.push({ kind: 'regression', outcome: 'fail', cellId: r.cellId, metric: r.metric, reason: `${r.metric}: unaccepted change beyond the ${opts.thresholdPct}% threshold` });
      judged++;
      continue;
    }
    // With --gate-two-run the two-run test is a gate of its own: a verdict of it judges the row
    // even before the series is long enough for change points.
    if (r.status !== 'insufficient history' || (opts.gateTwoRun && r.twoRun.verdict !== 'insufficient data')) {
      judged++;
      continue;
    }
    // A series with earlier runs of this configuration that is still too short to judge: the
    // gate cannot see (a first run of a cell, with nothing before it, is listed, not blocking).
    if (r.points > 1) findings.push({ kind: 'not-judged', outcome: 'cannot judge', cellId: r.cellId, metric: r.metric, reason: `${r.metric} not judged: ${r.note ?? 'too short a history'}` });
  }
  for (const f of failedCells) {
    if (f.newlyFailing) findings.push({ kind: 'newly-failing', outcome: 'fail', cellId: f.cellId, reason: `ok in the run before, failed now: ${f.error}` });
  }
  for (const cell of record.cells) findings.push(...cell.findings);
  const previous = store.previousRun(p.suite, p.board, candidateKey);
  if (previous) {
    const now = new Set(record.cells.map((c) => c.cellId));
    for (const c of store.cellsOf(previous.key)) {
      if (!now.has(c.cellId)) findings.push({ kind: 'lost-cell', outcome: 'fail', cellId: c.cellId, reason: `in the previous stored run (${previous.runId}) but not in this one: the cell was lost` });
    }
  }
  if (judged === 0) {
    findings.push({
      kind: 'nothing-compared',
      outcome: 'cannot judge',
      cellId: '',
      reason: `no cell and metric of the run could be judged against its history (${rows.length} checked: first runs, too short a history, or another configuration): a check that compared nothing is not a pass`,
    });
  }
  const suiteChanged = previous && previous.suiteHash !== p.suiteHash ? { from: previous.suiteHash, to: p.suiteHash, runId: previous.runId } : null;
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
    identity: { allowed: [...allow], differences: [...differences.values()] },
    suiteChanged,
    findings,
    outcome: outcomeOf(findings),
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

/** Whether the check fails a CI gate (exit 1): see `HistoryCheck.findings`. */
export function historyGateFails(c: HistoryCheck): boolean {
  return c.outcome === 'fail';
}
