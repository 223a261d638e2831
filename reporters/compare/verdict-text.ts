import { fmt } from '../format.ts';
import type { JunitCaseOutcome } from '../render/junit.ts';
import type { Comparison, FindingKind, GateFinding, MetricComparison } from '../../analysis/comparison-types.ts';

/** "+10.3%" / "-4.0%": a sign on every change so a reader never guesses the direction. */
export function fmtPct(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const s = value.toFixed(Math.abs(value) >= 100 ? 0 : 1);
  return value >= 0 ? `+${s}%` : `${s}%`;
}

export function fmtCiPct(ci: [number, number] | null): string {
  return ci ? `${fmtPct(ci[0])} … ${fmtPct(ci[1])}` : '–';
}

export function fmtMedian(value: number | null, unit: string): string {
  return value === null ? '–' : `${fmt(value)}${unit ? ` ${unit}` : ''}`;
}

/** The verdict with what the threshold made of it, as one phrase. */
export function verdictText(row: MetricComparison, thresholdPct: number): string {
  let text: string;
  if (row.regression) text = 'slower: regression';
  else if (row.improvement) text = 'faster: improvement';
  else if (row.verdict === 'slower' || row.verdict === 'faster') text = `${row.verdict} (within ${thresholdPct}%)`;
  else text = row.verdict;
  if (row.note && row.verdict === 'insufficient data') text += ` (${row.note})`;
  if (row.unjudged) text += '; cannot judge';
  if (row.disturbed) text += `; would be a regression, but flagged ${row.disturbed}: cannot judge`;
  if (row.source) {
    const { base, cand } = row.source;
    text += base === cand ? `; ${base} figures` : `; ${base} in base, ${cand} in candidate: not comparable`;
  }
  if (row.throttled) text += `; throttled in ${row.throttled === 'both' ? 'both runs' : row.throttled === 'base' ? 'base' : 'candidate'}`;
  return text;
}

const FINDING_WORDS: Record<FindingKind, [string, string]> = {
  regression: ['regression', 'regressions'],
  'newly-failing': ['cell newly failing', 'cells newly failing'],
  'lost-cell': ['cell lost', 'cells lost'],
  'missing-metric': ['gated metric missing in the candidate', 'gated metrics missing in the candidate'],
  'short-output': ['cell with fewer output tokens than asked', 'cells with fewer output tokens than asked'],
  accuracy: ['failing or worse accuracy verdict', 'failing or worse accuracy verdicts'],
  identity: ['cell of another configuration', 'cells of another configuration'],
  'machine-load': ['would-be regression measured on a busy or throttled machine', 'would-be regressions measured on a busy or throttled machine'],
  'not-judged': ['gated metric not judged', 'gated metrics not judged'],
  'nothing-compared': ['check that compared nothing', 'checks that compared nothing'],
};

/** "4 regressions in 1 cell, 1 cell lost": counts of findings by kind, in the order they first appear. */
export function findingCounts(findings: readonly GateFinding[]): string {
  const byKind = new Map<FindingKind, GateFinding[]>();
  for (const f of findings) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f]);
  return [...byKind]
    .map(([kind, list]) => {
      const [one, many] = FINDING_WORDS[kind];
      const cells = new Set(list.map((f) => f.cellId)).size;
      const where = list.some((f) => f.metric) && kind !== 'not-judged' ? ` in ${cells} cell${cells === 1 ? '' : 's'}` : '';
      const example = kind === 'not-judged' || kind === 'identity' ? ` (${list.length > 1 ? 'e.g. ' : ''}${list[0]!.cellId}: ${list[0]!.reason})` : '';
      return `${list.length} ${list.length === 1 ? one : many}${where}${example}`;
    })
    .join(', ');
}

/** "threads" / "threads, scale (allowed)": the identity line a comparison carries wherever it appears. */
export function allowedDifferencesLine(c: Pick<Comparison, 'identity'>): string {
  const allowed = c.identity.differences.filter((d) => d.allowed);
  if (!allowed.length) return '';
  return `compared across allowed configuration differences: ${allowed.map((d) => `${d.field} (base ${d.base}, candidate ${d.cand})`).join('; ')}`;
}

/** One-line outcome of the gate, for headings and CI logs. */
export function gateLine(c: Comparison): string {
  const cond = `threshold ${c.thresholdPct}%, ${c.confidence * 100}% confidence`;
  const allowed = allowedDifferencesLine(c);
  const tail = `(${cond}${allowed ? `; ${allowed}` : ''})`;
  const fails = c.findings.filter((f) => f.outcome === 'fail');
  const cannot = c.findings.filter((f) => f.outcome === 'cannot judge');
  if (fails.length) return `FAIL: ${findingCounts(fails)}${cannot.length ? `; also cannot judge: ${findingCounts(cannot)}` : ''} ${tail}`;
  if (cannot.length) return `CANNOT JUDGE (not a pass): ${findingCounts(cannot)} ${tail}`;
  return `pass: no regression beyond ${c.thresholdPct}% ${tail}`;
}

export function summaryLine(c: Comparison): string {
  const s = c.summary;
  // Would-be regressions of a busy or throttled cell are not counted as regressions: say how many there were.
  const disturbed = c.rows.filter((r) => r.disturbed).length;
  const notJudged = disturbed ? `; ${disturbed} more beyond it on a busy or throttled machine, not judged` : '';
  return (
    `${s.compared} comparisons (cell × metric): ${s.slower} slower (${s.regressions} beyond the threshold${notJudged}), ` +
    `${s.faster} faster (${s.improvements} beyond the threshold), ${s.unchanged} no significant change, ${s.insufficient} insufficient data`
  );
}

/** One gate finding as an item of the report model's lists (its light markup: **bold**). */
export function findingText(f: GateFinding): string {
  return `**${f.outcome === 'fail' ? 'FAIL' : 'CANNOT JUDGE'}** (${f.kind})${f.cellId ? ` ${f.cellId}` : ''}: ${f.reason}`;
}

/** Findings that are a JUnit test case of their own (the others mark a metric row or a cell-status case). */
export const OWN_CASE_FINDINGS: ReadonlySet<FindingKind> = new Set(['lost-cell', 'short-output', 'accuracy', 'identity', 'nothing-compared']);

/** A finding as a JUnit outcome: a failure when it fails the gate, an error when the gate cannot judge. */
export function findingOutcome(f: GateFinding, detail?: string): JunitCaseOutcome {
  return f.outcome === 'fail'
    ? { kind: 'failure', type: f.kind, message: f.reason, ...(detail ? { detail } : {}) }
    : { kind: 'error', type: `cannot judge: ${f.kind}`, message: f.reason, ...(detail ? { detail } : {}) };
}
