import { InputError } from '../core/errors.ts';
import { metricFigureSource } from '../core/figure-source.ts';
import type { CellResult, RunResult } from '../core/result-types.ts';
import { HEADLINE_METRICS } from '../core/metric-registry.ts';
import { median } from '../core/stats.ts';
import { cellMetricValues, type CellValues, metricDirection, metricUnit } from './cell-values.ts';
import { cellContextWarnings, isThrottled, runContextWarnings } from './run-facts.ts';
import { estimateShift, lowerCriticalValue, minimumIterations } from '../core/rank-stats.ts';
import type {
  Comparison,
  ComparisonSummary,
  ContextWarning,
  Direction,
  FailedCell,
  GateFinding,
  GateOutcome,
  IdentityDifferenceRow,
  MetricComparison,
  RunRef,
  Verdict,
} from './comparison-types.ts';
import { cellBoards } from './merge-shards.ts';
import { cellIdentity, diffIdentities, diffVersions, describeDifference, type IdentityDifference } from './identity.ts';
import { accuracyFinding, asMeasured, machineLoadFlags, shortOutputFinding } from './gate-checks.ts';
import { energyContextWarnings } from './energy-context.ts';

export interface CompareOptions {
  /** Metrics to compare; default HEADLINE_METRICS (those present in the runs). */
  metrics?: string[];
  /** A change smaller than this (in %) is never a regression, however significant. */
  thresholdPct: number;
  /** Accepted for API stability; the rank method is exact and deterministic, so nothing is random. */
  seed?: number;
  /** Confidence level of the intervals and of significance; default 0.99 (asv gates at p < 0.002). */
  confidence?: number;
  /** Where each result was read from, shown in the output. */
  baseSource?: string;
  candSource?: string;
  /** Identity fields allowed to differ (`--allow-difference`); other differences make a cell "cannot judge". */
  allowDifferences?: ReadonlySet<string>;
}

export const DEFAULT_CONFIDENCE = 0.99;
export const METHOD = 'Mann-Whitney U, Hodges-Lehmann shift with Moses interval, on log values of the per-iteration metrics';

function runRef(r: RunResult, source: string | undefined): RunRef {
  return {
    runId: r.runId,
    suite: r.suite.name,
    target: r.target,
    host: r.environment.host.hostname,
    gitRevision: r.environment.git.revision,
    startedAt: r.startedAt,
    ...(source ? { source } : {}),
    ...cellBoardsField(r),
  };
}

/** The board of each cell, where a merged result's cells ran on more than one board. */
function cellBoardsField(r: RunResult): { cellBoards?: Record<string, string> } {
  const boards = cellBoards(r);
  return boards ? { cellBoards: Object.fromEntries(boards) } : {};
}

const toPct = (logShift: number) => (Math.exp(logShift) - 1) * 100;

export interface ShiftTestInput {
  /** Median of the base values (the reference for a relative change on the raw scale). */
  baseMedian: number | null;
  /** Change of medians in %, in the metric's own terms; the threshold applies to it. */
  changePct: number | null;
  direction: Direction;
  thresholdPct: number;
  confidence: number;
}

export type ShiftTestOutcome = Pick<MetricComparison, 'ciPct' | 'shiftPct' | 'pValue' | 'verdict' | 'regression' | 'improvement' | 'note'>;

/**
 * The two-sample test behind every verdict: Mann-Whitney and the Hodges-Lehmann shift (Moses
 * interval) of log values, or of raw values relative to the base median when some value is not
 * positive; a regression is slower with a change of medians beyond the threshold. Used by
 * `bench compare` (two runs) and `bench history check` (a run against its stable window).
 */
export function testShift(base: readonly number[], cand: readonly number[], t: ShiftTestInput): ShiftTestOutcome {
  const out: ShiftTestOutcome = { ciPct: null, shiftPct: null, pValue: null, verdict: 'insufficient data', regression: false, improvement: false };
  const m = base.length;
  const n = cand.length;
  if (m === 0 || n === 0 || lowerCriticalValue(m, n, 1 - t.confidence) < 0) {
    out.note = `${m} vs ${n} iterations: no outcome can be significant at ${t.confidence * 100}%; at least ${minimumIterations(t.confidence)} per side are needed`;
    return out;
  }
  const positive = base.every((v) => v > 0) && cand.every((v) => v > 0);
  let ci: [number, number];
  if (positive) {
    const s = estimateShift(base.map(Math.log), cand.map(Math.log), t.confidence);
    ci = [toPct(s.ci![0]), toPct(s.ci![1])];
    out.shiftPct = toPct(s.shift);
    out.pValue = s.pValue;
  } else {
    // Zero or negative values (a phase that can take 0 ms) have no ratio; shift on the raw
    // scale, expressed relative to the base median.
    const ref = t.baseMedian;
    if (ref === null || ref <= 0) {
      out.note = 'values are not all positive and the base median is not positive: no relative change';
      return out;
    }
    const s = estimateShift(base, cand, t.confidence);
    ci = [(s.ci![0] / ref) * 100, (s.ci![1] / ref) * 100];
    out.shiftPct = (s.shift / ref) * 100;
    out.pValue = s.pValue;
  }
  out.ciPct = ci;
  const increased = ci[0] > 0;
  const decreased = ci[1] < 0;
  let verdict: Verdict = 'no significant change';
  if (increased || decreased) {
    const better = t.direction === 'lower is better' ? decreased : increased;
    verdict = better ? 'faster' : 'slower';
  }
  out.verdict = verdict;
  // The threshold is on the change of medians, in the metric's bad direction (a tokens/s drop).
  const worsePct = t.changePct === null ? 0 : t.direction === 'lower is better' ? t.changePct : -t.changePct;
  out.regression = verdict === 'slower' && worsePct > t.thresholdPct;
  out.improvement = verdict === 'faster' && -worsePct > t.thresholdPct;
  return out;
}

/** The statistics of one metric of one matched cell. */
function compareMetric(
  base: CellResult,
  cand: CellResult,
  metric: string,
  bv: CellValues,
  cv: CellValues,
  thresholdPct: number,
  confidence: number,
): MetricComparison | null {
  const present = (c: CellResult, v: { values: number[] }) => v.values.length > 0 || c.metrics[metric] !== undefined;
  const inBase = present(base, bv);
  const inCand = present(cand, cv);
  // A metric a cell does not have (image_encode_ms of a text-only cell) is not a row.
  if (!inBase && !inCand) return null;
  const direction = metricDirection(metric);
  const row: MetricComparison = {
    cellId: cand.id,
    metric,
    unit: metricUnit(cand, metric) || metricUnit(base, metric),
    direction,
    base: { n: bv.values.length, median: median(bv.values) ?? base.metrics[metric]?.median ?? null },
    cand: { n: cv.values.length, median: median(cv.values) ?? cand.metrics[metric]?.median ?? null },
    changePct: null,
    ciPct: null,
    shiftPct: null,
    pValue: null,
    verdict: 'insufficient data',
    regression: false,
    improvement: false,
  };
  const sb = metricFigureSource(base.settings, metric);
  const sc = metricFigureSource(cand.settings, metric);
  if (sb !== 'measured' || sc !== 'measured') row.source = { base: sb, cand: sc };
  const tb = isThrottled(base);
  const tc = isThrottled(cand);
  if (tb || tc) row.throttled = tb && tc ? 'both' : tb ? 'base' : 'cand';
  if (row.base.median !== null && row.cand.median !== null && row.base.median !== 0) {
    row.changePct = (row.cand.median / row.base.median - 1) * 100;
  }
  if (!inBase || !inCand) {
    row.note = `${metric} missing in the ${inBase ? 'candidate' : 'base'} cell`;
    return row;
  }
  if (bv.note || cv.note) {
    row.note = bv.note ?? cv.note;
    return row;
  }
  Object.assign(row, testShift(bv.values, cv.values, { baseMedian: row.base.median, changePct: row.changePct, direction, thresholdPct, confidence }));
  return row;
}

function summarizeRows(rows: readonly MetricComparison[]): ComparisonSummary {
  const s: ComparisonSummary = { compared: rows.length, regressions: 0, improvements: 0, slower: 0, faster: 0, unchanged: 0, insufficient: 0 };
  for (const r of rows) {
    if (r.regression) s.regressions++;
    if (r.improvement) s.improvements++;
    if (r.verdict === 'slower') s.slower++;
    else if (r.verdict === 'faster') s.faster++;
    else if (r.verdict === 'no significant change') s.unchanged++;
    else s.insufficient++;
  }
  return s;
}

/** Comparisons that stayed "no significant change" although their interval reaches past the threshold on the bad side. */
function resolutionWarning(rows: readonly MetricComparison[], thresholdPct: number, confidence: number): ContextWarning | null {
  const unresolved = rows.filter((r) => {
    if (r.verdict !== 'no significant change' || !r.ciPct) return false;
    return r.direction === 'lower is better' ? r.ciPct[1] > thresholdPct : r.ciPct[0] < -thresholdPct;
  });
  if (!unresolved.length) return null;
  return {
    kind: 'resolution',
    message:
      `${unresolved.length} of ${rows.length} comparisons cannot rule out a change beyond ${thresholdPct}% ` +
      `(their ${confidence * 100}% interval reaches past it): too noisy or too few iterations to clear them`,
    cellIds: [...new Set(unresolved.map((r) => r.cellId))],
  };
}

/**
 * Compares a candidate run with a base run, cell by cell (matched by cell id) and metric by
 * metric, on the raw per-iteration values. Throws InputError when the runs cannot be compared
 * at all (different suites, no cell in common, a requested metric in neither run).
 */
export function compareRuns(base: RunResult, cand: RunResult, opts: CompareOptions): Comparison {
  const confidence = opts.confidence ?? DEFAULT_CONFIDENCE;
  if (!Number.isFinite(opts.thresholdPct) || opts.thresholdPct < 0) throw new InputError(`threshold must be a percentage >= 0, got ${opts.thresholdPct}`);
  if (!(confidence > 0 && confidence < 1)) throw new InputError(`confidence must be between 0 and 1 (e.g. 0.99), got ${confidence}`);
  const where = (src: string | undefined, side: string) => (src ? `${side} ${src}` : side);
  if (base.suite.name !== cand.suite.name) {
    throw new InputError(
      `cannot compare runs of different suites: ${where(opts.baseSource, 'base')} is suite "${base.suite.name}", ` +
        `${where(opts.candSource, 'candidate')} is suite "${cand.suite.name}" (use a published comparison table for that)`,
    );
  }
  const baseById = new Map(base.cells.map((c) => [c.id, c]));
  const candById = new Map(cand.cells.map((c) => [c.id, c]));
  const common = cand.cells.filter((c) => baseById.has(c.id));
  if (!common.length) {
    throw new InputError(
      `no cell in common between ${where(opts.baseSource, 'base')} (${base.cells.length} cells) and ` +
        `${where(opts.candSource, 'candidate')} (${cand.cells.length} cells): check the --filter of each run`,
    );
  }
  const onlyInBase = base.cells.filter((c) => !candById.has(c.id)).map((c) => c.id);
  const onlyInCand = cand.cells.filter((c) => !baseById.has(c.id)).map((c) => c.id);

  const findings: GateFinding[] = [];
  const allow = opts.allowDifferences ?? new Set<string>();
  const differences = new Map<string, IdentityDifferenceRow>();
  const versions = new Map<string, { name: string; base: string; cand: string }>();
  const noteDifference = (d: IdentityDifference, cellId: string) => {
    const key = JSON.stringify([d.field, d.base, d.cand]);
    const row = differences.get(key) ?? { field: d.field, base: d.base, cand: d.cand, allowed: d.allowed, cellIds: [] };
    row.cellIds.push(cellId);
    differences.set(key, row);
  };

  const failed: FailedCell[] = [];
  const newlyFailedCells: string[] = [];
  const pairs: Array<[CellResult, CellResult]> = [];
  // Every matched pair that ran on both sides, same configuration or not: context warnings name what differs.
  const matched: Array<[CellResult, CellResult]> = [];
  for (const candCell of common) {
    // A cell marked ok with no measured iteration measured nothing: judged as failed, by name,
    // rather than as "another configuration" because its workload reads as not recorded.
    const b = asMeasured(baseById.get(candCell.id)!);
    const c = asMeasured(candCell);
    if (b.status === 'ok' && c.status === 'ok') matched.push([b, c]);
    const bi = cellIdentity(base, b);
    const ci = cellIdentity(cand, c);
    const diffs = diffIdentities(bi, ci, allow);
    for (const d of diffs) noteDifference(d, c.id);
    for (const v of diffVersions(bi, ci)) versions.set(JSON.stringify(v), v);
    const blocking = diffs.filter((d) => !d.allowed);
    if (blocking.length) {
      // Not the same configuration: its figures say nothing about the code under test.
      findings.push({
        kind: 'identity',
        outcome: 'cannot judge',
        cellId: c.id,
        reason: `not the same configuration (${blocking.map(describeDifference).join('; ')}); allow with --allow-difference ${blocking.map((d) => d.field).join(',')}`,
      });
      continue;
    }
    if (b.status === 'ok' && c.status === 'ok') {
      pairs.push([b, c]);
      continue;
    }
    const side = b.status === 'failed' && c.status === 'failed' ? 'both' : b.status === 'failed' ? 'base' : 'cand';
    failed.push({ cellId: c.id, side, error: (side === 'base' ? b.error : c.error) ?? 'no error recorded' });
    if (side === 'cand') {
      newlyFailedCells.push(c.id);
      findings.push({ kind: 'newly-failing', outcome: 'fail', cellId: c.id, reason: `ok in the base run, failed in the candidate: ${c.error ?? 'no error recorded'}` });
    }
  }

  const available = new Set(pairs.flatMap(([b, c]) => [...Object.keys(b.metrics), ...Object.keys(c.metrics)]));
  let metrics: string[];
  if (opts.metrics?.length) {
    const missing = opts.metrics.filter((m) => !available.has(m));
    if (pairs.length && missing.length) {
      throw new InputError(`metric ${missing.map((m) => `"${m}"`).join(', ')} is in neither run; available: ${[...available].sort().join(', ')}`);
    }
    metrics = [...new Set(opts.metrics)];
  } else {
    metrics = HEADLINE_METRICS.filter((m) => available.has(m));
  }

  // Cell by cell (each cell's events are read once), then listed metric by metric.
  const byMetric = metrics.map((): MetricComparison[] => []);
  for (const [b, c] of pairs) {
    const bv = cellMetricValues(b, metrics);
    const cv = cellMetricValues(c, metrics);
    metrics.forEach((metric, i) => {
      const row = compareMetric(b, c, metric, bv.get(metric)!, cv.get(metric)!, opts.thresholdPct, confidence);
      if (row) byMetric[i]!.push(row);
    });
  }
  const rows = byMetric.flat();
  const pairById = new Map(pairs.map(([b, c]) => [c.id, [b, c] as const]));
  for (const r of rows) {
    const [b, c] = pairById.get(r.cellId)!;
    const inBase = b.metrics[r.metric] !== undefined || r.base.n > 0;
    const inCand = c.metrics[r.metric] !== undefined || r.cand.n > 0;
    if (inBase && !inCand) {
      findings.push({ kind: 'missing-metric', outcome: 'fail', cellId: r.cellId, metric: r.metric, reason: `${r.metric} was measured in the base cell but is missing in the candidate` });
      continue;
    }
    if (!inBase) {
      // A metric the base never measured gates nothing by default (listed, not judged); one the
      // user named with --metric was asked to be judged, and cannot be: never a pass.
      if (opts.metrics?.includes(r.metric)) {
        r.unjudged = true;
        findings.push({ kind: 'not-judged', outcome: 'cannot judge', cellId: r.cellId, metric: r.metric, reason: `${r.metric} not judged: the base cell has no ${r.metric} (not measured in the base run)` });
      }
      continue;
    }
    if (r.source && r.source.base !== r.source.cand) {
      // Obtained differently (e.g. composed in the base, measured in the candidate): the change
      // would be the method's, not the code's, so it is neither a pass nor a regression.
      r.unjudged = true;
      r.regression = false;
      r.improvement = false;
      findings.push({
        kind: 'not-judged',
        outcome: 'cannot judge',
        cellId: r.cellId,
        metric: r.metric,
        reason: `${r.metric} not judged: ${r.source.base} in the base run, ${r.source.cand} in the candidate (figures obtained differently are not comparable)`,
      });
      continue;
    }
    if (r.verdict === 'insufficient data') {
      // Measured on both sides but not judged: a gate that cannot see must not pass.
      r.unjudged = true;
      findings.push({ kind: 'not-judged', outcome: 'cannot judge', cellId: r.cellId, metric: r.metric, reason: `${r.metric} not judged: ${r.note ?? 'insufficient data'}` });
      continue;
    }
    if (r.regression) {
      const load = [...machineLoadFlags(b).map((k) => `${k} in the base run`), ...machineLoadFlags(c).map((k) => `${k} in the candidate run`)];
      if (load.length) {
        r.regression = false;
        r.disturbed = load.join(', ');
        findings.push({
          kind: 'machine-load',
          outcome: 'cannot judge',
          cellId: r.cellId,
          metric: r.metric,
          reason: `${r.metric} ${fmtChange(r.changePct)} would be a regression, but the cell was flagged ${r.disturbed}: re-measure on a quiet, cool machine (--confirm)`,
        });
      } else {
        findings.push({ kind: 'regression', outcome: 'fail', cellId: r.cellId, metric: r.metric, reason: `${r.metric} ${fmtChange(r.changePct)}, beyond the ${opts.thresholdPct}% threshold and significant at ${confidence * 100}%` });
      }
    }
  }
  for (const [b, c] of pairs) {
    const short = shortOutputFinding(b, c, cellIdentity(cand, c));
    if (short) findings.push(short);
    const acc = accuracyFinding(b, c);
    if (acc) findings.push(acc);
  }
  for (const id of onlyInBase) {
    findings.push({ kind: 'lost-cell', outcome: 'fail', cellId: id, reason: 'in the base run but not in the candidate: the cell was lost (not run, filtered out, or the run was interrupted)' });
  }
  const unjudged = new Set(rows.filter((r) => r.unjudged || r.disturbed).map((r) => r.cellId));
  const regressed = new Set(rows.filter((r) => r.regression).map((r) => r.cellId));
  const warnings = [...runContextWarnings(base, cand), ...cellContextWarnings(matched), ...energyContextWarnings(metrics, pairs)];
  const resolution = resolutionWarning(rows, opts.thresholdPct, confidence);
  if (resolution) warnings.push(resolution);

  return {
    format: 'vlm-edge-bench/comparison@1',
    base: runRef(base, opts.baseSource),
    cand: runRef(cand, opts.candSource),
    thresholdPct: opts.thresholdPct,
    confidence,
    method: METHOD,
    metrics,
    rows,
    onlyInBase,
    onlyInCand,
    failed,
    newlyFailedCells,
    regressedCells: pairs.map(([, c]) => c.id).filter((id) => regressed.has(id)),
    unjudgedCells: pairs.map(([, c]) => c.id).filter((id) => unjudged.has(id)),
    warnings,
    summary: summarizeRows(rows),
    identity: { allowed: [...allow], differences: [...differences.values()], versions: [...versions.values()] },
    findings: orderFindings(findings, [...base.cells.map((c) => c.id), ...onlyInCand]),
    outcome: outcomeOf(findings),
  };
}

const fmtChange = (pct: number | null) => (pct === null ? 'changed' : `changed ${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%`);

/** Findings in matrix order, run-level ones first. */
function orderFindings(findings: GateFinding[], order: readonly string[]): GateFinding[] {
  const pos = new Map(order.map((id, i) => [id, i]));
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => (pos.get(a.f.cellId) ?? -1) - (pos.get(b.f.cellId) ?? -1) || a.i - b.i)
    .map((x) => x.f);
}

/** Fail if any finding fails; else cannot judge if any cannot; else pass. */
export function outcomeOf(findings: readonly GateFinding[]): GateOutcome {
  if (findings.some((f) => f.outcome === 'fail')) return 'fail';
  return findings.length ? 'cannot judge' : 'pass';
}

/** Whether the comparison fails a CI gate (exit 1): see `Comparison.findings`. */
export function gateFails(c: Comparison): boolean {
  return c.outcome === 'fail';
}

/**
 * The gate's outcome. Fail (exit 1): a regression, a newly failing or lost cell, a gated metric
 * missing in the candidate, fewer output tokens than asked, a failing or worse accuracy
 * verdict. Cannot judge (exit 2): a cell of another configuration (identity), a gated metric
 * measured on both sides but not judged, a would-be regression measured on a busy or throttled machine.
 * Pass only when none of these holds.
 */
export function gateOutcome(c: Comparison): GateOutcome {
  return c.outcome;
}

/** Process exit code of each outcome (2 is also what a comparison that cannot be made at all exits with). */
export const GATE_EXIT_CODE: Record<GateOutcome, number> = { pass: 0, fail: 1, 'cannot judge': 2 };
