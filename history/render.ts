import { renderJunit, type JunitCase, type JunitCaseOutcome } from '../reporters/render/junit.ts';
import { renderMarkdown } from '../reporters/render/markdown.ts';
import { codeSpan, columns, type Report, type Section, type Table, type TableCell } from '../reporters/report-model.ts';
import { COMPARISON_HEADING_LEVEL } from '../reporters/compare/markdown.ts';
import { findingCounts, findingOutcome, findingText, fmtCiPct, fmtMedian, fmtPct, OWN_CASE_FINDINGS } from '../reporters/compare/verdict-text.ts';
import type { DetectedChange, HistoryCheck, HistoryRow } from './check.ts';

/** `bench history check` output: Markdown (step summary), JSON, JUnit, built from compare's pieces. */

const short = (commit: string | null) => (commit ? commit.slice(0, 12) : '(no commit)');
const fmtP = (p: number | null) => (p === null ? '–' : p < 0.001 ? '< 0.001' : p.toFixed(3));

/** "threads (base 2, candidate 1)": identity fields a check crossed with --allow-difference. */
function allowedLine(c: HistoryCheck): string {
  const allowed = c.identity.differences.filter((d) => d.allowed);
  return allowed.length ? `judged across allowed configuration differences: ${allowed.map((d) => `${d.field} (history ${d.base}, run ${d.cand})`).join('; ')}` : '';
}

export function historyGateLine(c: HistoryCheck): string {
  const allowed = allowedLine(c);
  const cond = `threshold ${c.thresholdPct}%, changes not accepted, E-divisive p <= ${c.detector.pValue}${c.gateTwoRun ? `, two-run test at ${c.confidence * 100}%` : ''}${allowed ? `; ${allowed}` : ''}`;
  const fails = c.findings.filter((f) => f.outcome === 'fail');
  const cannot = c.findings.filter((f) => f.outcome === 'cannot judge');
  if (fails.length) return `FAIL: ${findingCounts(fails)}${cannot.length ? `; also cannot judge: ${findingCounts(cannot)}` : ''} (${cond})`;
  if (cannot.length) return `CANNOT JUDGE (not a pass): ${findingCounts(cannot)} (${cond})`;
  return `pass: no unaccepted regression beyond ${c.thresholdPct}% (${cond})`;
}

export function historySummaryLine(c: HistoryCheck): string {
  const s = c.summary;
  return (
    `${s.checked} series (cell × metric) checked against ${c.storedRuns} stored run${c.storedRuns === 1 ? '' : 's'}: ` +
    `${s.changes} unaccepted change${s.changes === 1 ? '' : 's'} (${s.regressions} failing the gate), ${s.improvements} improved, ${s.insufficient} with too short a history`
  );
}

function statusText(r: HistoryRow): string {
  switch (r.status) {
    case 'regression':
      return r.changes.some((c) => c.regression) ? 'regression (unaccepted change)' : 'regression (two-run test)';
    case 'improvement':
      return 'improved (unaccepted change)';
    case 'change':
      return 'change within the threshold (unaccepted)';
    case 'insufficient history':
      return `insufficient history${r.note ? ` (${r.note})` : ''}`;
    default:
      return 'ok';
  }
}

function twoRunText(r: HistoryRow): string {
  const t = r.twoRun;
  if (t.verdict === 'insufficient data') return `insufficient data${t.note ? ` (${t.note})` : ''}`;
  if (t.regression) return 'slower beyond the threshold';
  if (t.improvement) return 'faster beyond the threshold';
  return t.verdict;
}

export function changeVerdict(ch: DetectedChange): string {
  return ch.regression ? 'regression' : ch.improvement ? 'improvement' : 'within threshold';
}

function changesTable(c: HistoryCheck): Table {
  const rows = c.rows.flatMap((r) =>
    r.changes.map((ch): TableCell[] => [
      { text: r.cellId },
      { text: r.metric },
      { text: `${codeSpan(short(ch.commit))}${ch.mayBeLater ? ' or later' : ''}` },
      { text: ch.date.slice(0, 10) },
      { text: fmtMedian(ch.beforeMedian, r.unit), value: ch.beforeMedian, unit: r.unit },
      { text: fmtMedian(ch.afterMedian, r.unit), value: ch.afterMedian, unit: r.unit },
      { text: fmtPct(ch.changePct), status: 'derived' },
      { text: fmtP(ch.pValue) },
      { text: String(ch.runsSince), value: ch.runsSince },
      { text: ch.regression ? '**regression**' : changeVerdict(ch) },
    ]),
  );
  return {
    id: 'changes',
    columns: columns([
      ['Cell', 'left'], ['Metric', 'left'], ['Began at commit', 'left'], ['Commit date', 'left'], ['Level before', 'right'],
      ['Level after', 'right'], ['Change', 'right'], ['p', 'right'], ['Runs since', 'right'], ['Verdict', 'left'],
    ]),
    rows,
  };
}

function metricTable(metric: string, rows: readonly HistoryRow[], c: HistoryCheck): Table {
  return {
    id: metric,
    columns: columns([
      ['Cell', 'left'], ['Runs analysed', 'right'], ['Since', 'left'], ['Run median', 'right'], ['Stable window median', 'right'],
      ['Change vs window', 'right'], [`${c.confidence * 100}% CI`, 'right'], ['Two-run test', 'left'], ['Status', 'left'],
    ]),
    rows: rows.map((r): TableCell[] => [
      { text: r.cellId },
      { text: String(r.points), value: r.points },
      { text: r.acceptedFrom ? `accepted ${codeSpan(short(r.acceptedFrom.commit))}` : 'start of history' },
      { text: fmtMedian(r.candidateMedian, r.unit), unit: r.unit, ...(r.candidateMedian === null ? {} : { value: r.candidateMedian }) },
      { text: r.twoRun.baseMedian === null ? '–' : `${fmtMedian(r.twoRun.baseMedian, r.unit)} (${r.twoRun.baseRuns} runs)` },
      { text: fmtPct(r.twoRun.changePct), status: 'derived' },
      { text: fmtCiPct(r.twoRun.ciPct), status: 'derived' },
      { text: twoRunText(r) },
      { text: r.regression ? `**${statusText(r)}**` : statusText(r) },
    ]),
  };
}

export interface HistoryMarkdownOptions {
  /** Only series with a change or a regression (for size-limited places like a step summary). */
  onlyChanged?: boolean;
}

const section = (id: string, heading: string, parts: Partial<Section>): Section => ({ id, heading, notes: [], tables: [], charts: [], ...parts });

/** The gate line, the counts, and what applies to the whole check (a changed suite, allowed differences). */
function headNotes(c: HistoryCheck): string[] {
  const notes = [`**${historyGateLine(c)}**`, `${historySummaryLine(c)}.`];
  if (c.suiteChanged) {
    notes.push(
      `⚠ The suite definition changed since the previous stored run (${c.suiteChanged.runId}: ${c.suiteChanged.from.slice(0, 12)} → ${c.suiteChanged.to.slice(0, 12)}); ` +
        'cells of another configuration start new series.',
    );
  }
  const allowed = allowedLine(c);
  if (allowed) notes.push(`**${allowed}**`);
  return notes;
}

const title = (c: HistoryCheck) => `History check: ${c.suite} on ${c.board}`;

/**
 * `bench history check` as the report model (reporters/report-model.ts), rendered like report.md
 * and `bench compare`: text from results and the database goes in as it is, the renderer escapes it.
 */
export function historyReport(c: HistoryCheck, opts: HistoryMarkdownOptions = {}): Report {
  const cand = c.candidate;
  const sections: Section[] = [];
  if (c.findings.length) sections.push(section('gate-findings', 'Gate findings', { bullets: c.findings.map(findingText) }));
  if (c.summary.changes) {
    const example = c.rows.find((r) => r.changes.length)!;
    const ch = example.changes[example.changes.length - 1]!;
    const accept = `bench history accept --suite ${c.suite} --board ${c.board} --cell '${example.cellId}' --metric ${example.metric} --commit ${short(ch.commit)}`;
    sections.push(
      section('changes', 'Changes not yet accepted', {
        tables: [changesTable(c)],
        footnotes: [`A change stays listed until it is accepted, e.g. ${codeSpan(accept)}; from then on its new level is the baseline.`],
      }),
    );
  }
  if (c.failedCells.length) {
    sections.push(
      section('failed', 'Failed cells', { bullets: c.failedCells.map((f) => `${codeSpan(f.cellId)}: ${f.newlyFailing ? '**newly failing** (ok in the run before)' : 'failed'}: ${f.error}`) }),
    );
  }
  if (c.regressedCells.length) sections.push(section('regressed', 'Regressed cells', { bullets: c.regressedCells.map(codeSpan) }));
  const byMetric = new Map<string, HistoryRow[]>();
  for (const r of c.rows) {
    const list = byMetric.get(r.metric);
    if (list) list.push(r);
    else byMetric.set(r.metric, [r]);
  }
  for (const metric of c.metrics) {
    const all = byMetric.get(metric) ?? [];
    if (!all.length) continue;
    const rows = opts.onlyChanged ? all.filter((r) => r.changes.length || r.regression) : all;
    const first = all[0]!;
    const omitted = all.length - rows.length;
    sections.push(
      section(`metric-${metric}`, `${metric} (${first.unit || 'no unit'}, ${first.direction})`, {
        tables: rows.length ? [metricTable(metric, rows, c)] : [],
        footnotes: omitted ? [`${omitted} of ${all.length} series with no unaccepted change are not listed.`] : [],
      }),
    );
  }
  return {
    title: title(c),
    facts: [],
    tables: [
      {
        id: 'run',
        columns: columns([['Run', 'left'], ['Commit', 'left'], ['Commit date', 'left'], ['In the history', 'left'], ['Database', 'left'], ['File', 'left']]),
        rows: [[codeSpan(cand.runId), short(cand.gitCommit), cand.commitDate, cand.stored ? 'yes' : 'no (checked, not added)', c.db, cand.source ?? '–'].map((text) => ({ text }))],
      },
    ],
    notes: headNotes(c),
    sections,
    charts: [],
    smallPrint: [
      `Method: ${c.method}. Change points: p <= ${c.detector.pValue} with up to ${c.detector.permutations} permutations, ` +
        `at least ${c.detector.minSize} runs per level, over the newest ${c.window} run medians since the last accepted change. ` +
        `A regression is a change worse than ${c.thresholdPct}%${c.gateTwoRun ? ', or a two-run test slower beyond it' : '; the two-run test is shown, not gated'}.`,
    ],
  };
}

/** Same heading level as `bench compare`: both are read inside a CI job's step summary. */
export function formatHistoryMarkdown(c: HistoryCheck, opts: HistoryMarkdownOptions = {}): string {
  return renderMarkdown(historyReport(c, opts), { headingLevel: COMPARISON_HEADING_LEVEL });
}

// GitHub rejects a step summary over 1 MiB; keep a margin for other steps' output.
const STEP_SUMMARY_LIMIT = 900 * 1024;

export function historyStepSummary(c: HistoryCheck): string {
  const full = formatHistoryMarkdown(c);
  if (Buffer.byteLength(full) <= STEP_SUMMARY_LIMIT) return full;
  const changed = formatHistoryMarkdown(c, { onlyChanged: true });
  if (Buffer.byteLength(changed) <= STEP_SUMMARY_LIMIT) return changed;
  const report: Report = {
    title: title(c),
    facts: [],
    notes: [...headNotes(c).slice(0, 2), "The tables are too large for a step summary; see the job's artifacts."],
    sections: [],
    charts: [],
  };
  return renderMarkdown(report, { headingLevel: COMPARISON_HEADING_LEVEL });
}

export function formatHistoryJson(c: HistoryCheck): string {
  return `${JSON.stringify(c, null, 2)}\n`;
}

function rowDetail(r: HistoryRow, c: HistoryCheck): string {
  const changes = r.changes.map((ch) => `change at ${short(ch.commit)}${ch.mayBeLater ? ' or later' : ''} (${ch.date.slice(0, 10)}): ${fmtPct(ch.changePct)}, p ${fmtP(ch.pValue)}, ${changeVerdict(ch)}`);
  return (
    `${r.metric} (${r.direction}): run median ${fmtMedian(r.candidateMedian, r.unit)}, ${r.points} runs analysed; ` +
    `two-run test against ${r.twoRun.baseRuns} runs: change ${fmtPct(r.twoRun.changePct)}, ${c.confidence * 100}% CI ${fmtCiPct(r.twoRun.ciPct)}, ${twoRunText(r)}` +
    (changes.length ? `; ${changes.join('; ')}` : '; no unaccepted change')
  );
}

function rowOutcome(r: HistoryRow, c: HistoryCheck): JunitCaseOutcome {
  const detail = rowDetail(r, c);
  if (r.regression) {
    const ch = r.changes.find((x) => x.regression);
    const message = ch
      ? `unaccepted change at commit ${short(ch.commit)}${ch.mayBeLater ? ' or later' : ''}: ${fmtPct(ch.changePct)} (threshold ${c.thresholdPct}%, p ${fmtP(ch.pValue)})`
      : `newest run ${fmtPct(r.twoRun.changePct)} against its stable window (threshold ${c.thresholdPct}%, ${c.confidence * 100}% CI ${fmtCiPct(r.twoRun.ciPct)})`;
    return { kind: 'failure', type: 'regression', message, detail };
  }
  const f = c.findings.find((x) => x.cellId === r.cellId && x.metric === r.metric);
  if (f) return findingOutcome(f, detail);
  if (r.status === 'insufficient history') return { kind: 'skipped', message: statusText(r) };
  return { kind: 'passed', output: detail };
}


/**
 * JUnit (reporters/render/junit.ts, the writer `bench compare` uses too): one testsuite per
 * metric, one testcase per cell; unaccepted regressions and missing metrics fail, rows the gate
 * cannot judge are errors, first runs are skipped; failed cells; a "gate" suite with the other
 * findings (lost cell, output tokens, accuracy, another configuration, nothing compared).
 */
export function formatHistoryJunit(c: HistoryCheck): string {
  const where = `${c.suite}.${c.board}`;
  const suites = c.metrics.map((metric) => ({
    name: `${c.suite} on ${c.board}: ${metric}`,
    cases: c.rows.filter((r) => r.metric === metric).map((r): JunitCase => ({ classname: `${where}.${metric}`, name: r.cellId, outcome: rowOutcome(r, c) })),
  }));
  const missing = c.findings
    .filter((f) => f.kind === 'missing-metric')
    .map((f): JunitCase => ({ classname: `${where}.${f.metric}`, name: f.cellId, outcome: { kind: 'failure', type: f.kind, message: f.reason } }));
  const status = c.failedCells.map(
    (f): JunitCase => ({
      classname: `${where}.cell-status`,
      name: f.cellId,
      outcome: f.newlyFailing ? { kind: 'error', type: 'cell failed', message: `newly failing: ${f.error}` } : { kind: 'skipped', message: `failed (as in the run before): ${f.error}` },
    }),
  );
  const gate = c.findings
    .filter((f) => OWN_CASE_FINDINGS.has(f.kind))
    .map((f): JunitCase => ({ classname: `${where}.gate.${f.kind}`, name: f.cellId || c.suite, outcome: findingOutcome(f) }));
  return renderJunit({
    name: `bench history check ${c.suite} on ${c.board}: ${historyGateLine(c)}`,
    suites: [
      ...suites,
      { name: `${c.suite} on ${c.board}: missing metrics`, cases: missing },
      { name: `${c.suite} on ${c.board}: cell status`, cases: status },
      { name: `${c.suite} on ${c.board}: gate`, properties: [['outcome', c.outcome]], cases: gate },
    ],
  });
}
