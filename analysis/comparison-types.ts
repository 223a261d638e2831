import type { FigureSource } from '../core/figure-source.ts';
/** What `compareRuns` returns; the JSON output is this object as is (see formatComparisonJson). */

export type Verdict = 'faster' | 'slower' | 'no significant change' | 'insufficient data';

export type Direction = 'lower is better' | 'higher is better';

export interface SideFigures {
  /** Measured iterations whose values entered the test. */
  n: number;
  /** Median of the per-iteration values (the values the test used); null when there are none. */
  median: number | null;
}

export interface MetricComparison {
  cellId: string;
  metric: string;
  unit: string;
  direction: Direction;
  base: SideFigures;
  cand: SideFigures;
  /** (cand median / base median - 1) x 100, in the metric's own terms (a tokens/s drop is negative). */
  changePct: number | null;
  /** Confidence interval of the change in %, from the Hodges-Lehmann shift (Moses interval). */
  ciPct: [number, number] | null;
  /** Hodges-Lehmann estimate of the change in %. */
  shiftPct: number | null;
  /** Two-sided Mann-Whitney p-value. */
  pValue: number | null;
  /** faster/slower only when the interval excludes zero. */
  verdict: Verdict;
  /** Slower beyond the threshold AND significant. */
  regression: boolean;
  /** Faster beyond the threshold AND significant. */
  improvement: boolean;
  /** Why the verdict is "insufficient data", or other facts a reader needs beside the row. */
  note?: string;
  /** Which side's cell was flagged throttled by the run (its figures are suspect). */
  throttled?: 'base' | 'cand' | 'both';
  /**
   * How each side's figure was obtained (core/figure-source.ts), set when either is not measured:
   * composed or tool-reported figures are compared like measured ones and labelled; figures
   * obtained differently on the two sides are not comparable (the gate cannot judge them).
   */
  source?: { base: FigureSource; cand: FigureSource };
  /**
   * The median moved beyond the threshold in the bad direction but no verdict is possible
   * (too few iterations, a metric missing): the gate cannot judge this row, so it cannot pass.
   */
  unjudged?: boolean;
  /**
   * The row would be a regression, but a cell of either run was flagged busy, steal or
   * run-queue while measured: the machine-load flags named here, and the gate cannot judge it.
   */
  disturbed?: string;
}

export type WarningKind =
  | 'suite'
  | 'target'
  | 'host'
  | 'board'
  | 'power-mode'
  | 'software'
  | 'threads'
  | 'options'
  | 'settings'
  | 'weights'
  | 'model'
  | 'throttled'
  | 'clocks'
  | 'run-status'
  | 'resolution'
  | 'energy';

export interface ContextWarning {
  kind: WarningKind;
  message: string;
  /** The cells it concerns, in matrix order, when it is about cells rather than the whole run. */
  cellIds?: string[];
}

export interface RunRef {
  runId: string;
  suite: string;
  target: string;
  host: string;
  gitRevision: string | null;
  startedAt: string;
  /** Where the result was read from, when the caller knows it. */
  source?: string;
  /** Cell id -> the board that measured it, for a result whose cells ran on several boards (bench merge); absent otherwise. */
  cellBoards?: Record<string, string>;
}

export interface FailedCell {
  cellId: string;
  /** Which side the cell failed on. */
  side: 'base' | 'cand' | 'both';
  error: string;
}

export interface ComparisonSummary {
  compared: number;
  regressions: number;
  improvements: number;
  slower: number;
  faster: number;
  unchanged: number;
  insufficient: number;
}

export type GateOutcome = 'pass' | 'fail' | 'cannot judge';

/** What makes a gate fail (exit 1) or unable to judge (exit 2), one per cell and reason. */
export type FindingKind =
  | 'regression'
  | 'newly-failing'
  | 'lost-cell'
  | 'missing-metric'
  | 'short-output'
  | 'accuracy'
  | 'identity'
  | 'machine-load'
  | 'not-judged'
  | 'nothing-compared';

export interface GateFinding {
  kind: FindingKind;
  outcome: Exclude<GateOutcome, 'pass'>;
  /** The cell concerned ('' for a finding about the whole run). */
  cellId: string;
  metric?: string;
  /** One sentence: what was seen, with the figures. */
  reason: string;
}

/** An identity field that differs, with every cell it differs in. */
export interface IdentityDifferenceRow {
  field: string;
  base: string;
  cand: string;
  /** Allowed by the user (`--allow-difference`): compared anyway, and labelled so. */
  allowed: boolean;
  cellIds: string[];
}

export interface IdentityReport {
  /** Fields the user allowed to differ. */
  allowed: string[];
  differences: IdentityDifferenceRow[];
  /** Versions that differ (runtime, suite definition, model builder): shown, never blocking. */
  versions: Array<{ name: string; base: string; cand: string }>;
}

export interface Comparison {
  /** Format marker for readers of the JSON. */
  format: 'vlm-edge-bench/comparison@1';
  base: RunRef;
  cand: RunRef;
  thresholdPct: number;
  confidence: number;
  method: string;
  metrics: string[];
  rows: MetricComparison[];
  onlyInBase: string[];
  onlyInCand: string[];
  failed: FailedCell[];
  /** Cells ok in the baseline that failed in the candidate: a gate failure of their own. */
  newlyFailedCells: string[];
  /** Cells with at least one regressed metric, in matrix order (to re-run and confirm). */
  regressedCells: string[];
  /** Cells with at least one unjudged row (see MetricComparison.unjudged), in matrix order. */
  unjudgedCells: string[];
  warnings: ContextWarning[];
  summary: ComparisonSummary;
  /** Configuration identity of the matched cells: differences (allowed or not) and versions. */
  identity: IdentityReport;
  /** Every reason the gate fails or cannot judge, in cell order; empty on a pass. */
  findings: GateFinding[];
  /** The gate's outcome (exit 0 / 1 / 2): fail if any finding fails, else cannot judge if any finding cannot judge. */
  outcome: GateOutcome;
}
