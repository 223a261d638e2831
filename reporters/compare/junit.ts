import type { Comparison, GateFinding, MetricComparison } from '../../analysis/comparison-types.ts';
import { renderJunit, type JunitCase, type JunitCaseOutcome } from '../render/junit.ts';
import { allowedDifferencesLine, findingOutcome, OWN_CASE_FINDINGS, fmtCiPct, fmtMedian, fmtPct, gateLine, verdictText } from './verdict-text.ts';

function rowDetail(r: MetricComparison, c: Comparison): string {
  return (
    `${r.metric} (${r.direction}): base median ${fmtMedian(r.base.median, r.unit)} (n=${r.base.n}), ` +
    `candidate median ${fmtMedian(r.cand.median, r.unit)} (n=${r.cand.n}), change ${fmtPct(r.changePct)}, ` +
    `${c.confidence * 100}% CI ${fmtCiPct(r.ciPct)}, verdict: ${verdictText(r, c.thresholdPct)}`
  );
}

/** The finding about this row, if the gate has one (missing metric, not judged, busy machine). */
function rowFinding(r: MetricComparison, c: Comparison): GateFinding | undefined {
  return c.findings.find((f) => f.cellId === r.cellId && f.metric === r.metric && f.kind !== 'regression');
}

function rowOutcome(r: MetricComparison, c: Comparison): JunitCaseOutcome {
  const detail = rowDetail(r, c);
  if (r.regression) {
    const message =
      `slower by ${fmtPct(r.changePct)} (threshold ${c.thresholdPct}%, ${c.confidence * 100}% CI ${fmtCiPct(r.ciPct)})` +
      (r.throttled ? '; a cell was flagged throttled: re-run to confirm' : '');
    return { kind: 'failure', type: 'regression', message, detail };
  }
  const f = rowFinding(r, c);
  if (f) return findingOutcome(f, detail);
  if (r.verdict === 'insufficient data') return { kind: 'skipped', message: `insufficient data: ${r.note ?? 'too few iterations'}` };
  return { kind: 'passed', output: detail };
}

function properties(c: Comparison): Array<[string, string]> {
  const allowed = allowedDifferencesLine(c);
  return [
    ['base.runId', c.base.runId],
    ['cand.runId', c.cand.runId],
    ['base.source', c.base.source ?? ''],
    ['cand.source', c.cand.source ?? ''],
    ['thresholdPct', String(c.thresholdPct)],
    ['confidence', String(c.confidence)],
    ['method', c.method],
    ['outcome', c.outcome],
    ...(allowed ? [['identity.allowed', allowed] as [string, string]] : []),
    ...c.identity.versions.map((v): [string, string] => [`version.${v.name}`, `base ${v.base}, candidate ${v.cand}`]),
    ...c.warnings.map((w, i): [string, string] => [`warning.${i + 1}.${w.kind}`, w.cellIds ? `${w.message} (${w.cellIds.length === 1 ? `cell ${w.cellIds[0]!}` : `${w.cellIds.length} cells`})` : w.message]),
  ];
}


/**
 * JUnit XML (reporters/render/junit.ts): one testsuite per metric, one testcase per cell ×
 * metric (regressions and missing metrics fail, rows the gate cannot judge are errors,
 * insufficient data that gates nothing is skipped); a "cell status" suite for failed cells; a
 * "gate" suite with every other finding (lost cell, fewer output tokens, accuracy, another
 * configuration). The same findings as the Markdown and the JSON.
 */
export function formatComparisonJunit(c: Comparison): string {
  const props = properties(c);
  const suites = c.metrics.map((metric) => ({
    name: `${c.cand.suite}: ${metric}`,
    properties: props,
    cases: c.rows
      .filter((r) => r.metric === metric)
      .map((r): JunitCase => ({ classname: `${c.cand.suite}.${metric}`, name: r.cellId, outcome: rowOutcome(r, c) })),
  }));
  const statusCases = c.failed.map((f): JunitCase => {
    const classname = `${c.cand.suite}.cell-status`;
    if (f.side === 'cand') return { classname, name: f.cellId, outcome: { kind: 'error', type: 'cell failed', message: `newly failing in the candidate run: ${f.error}` } };
    if (f.side === 'both') return { classname, name: f.cellId, outcome: { kind: 'skipped', message: `failed in both runs: ${f.error}` } };
    return { classname, name: f.cellId, outcome: { kind: 'passed', output: `failed in the base run, ok in the candidate: ${f.error}` } };
  });
  const gateCases = c.findings
    .filter((f) => OWN_CASE_FINDINGS.has(f.kind))
    .map((f): JunitCase => ({ classname: `${c.cand.suite}.gate.${f.kind}`, name: f.cellId || c.cand.suite, outcome: findingOutcome(f) }));
  return renderJunit({
    name: `bench compare ${c.cand.suite}: ${gateLine(c)}`,
    suites: [...suites, { name: `${c.cand.suite}: cell status`, cases: statusCases }, { name: `${c.cand.suite}: gate`, properties: props, cases: gateCases }],
  });
}
