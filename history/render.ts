import { markdownTable } from 'markdown-table';
import { renderJunit, type JunitCase, type JunitCaseOutcome } from '../reporters/render/junit.ts';
import { pipeTable } from '../reporters/compare/pipe-table.ts';
import { markdownCode, markdownText } from '../reporters/render/markdown.ts';
import { findingCounts, findingLine, findingOutcome, fmtCiPct, fmtMedian, fmtPct, OWN_CASE_FINDINGS } from '../reporters/compare/verdict-text.ts';
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

function findingsSection(c: HistoryCheck): string {
  const parts: string[] = [];
  if (c.findings.length) {
    parts.push(`### Gate findings\n\n${c.findings.map(findingLine).join('\n')}`);
  }
  if (c.suiteChanged) {
    parts.push(
      `⚠ The suite definition changed since the previous stored run (${markdownText(c.suiteChanged.runId)}: ${markdownText(c.suiteChanged.from.slice(0, 12))} → ${markdownText(c.suiteChanged.to.slice(0, 12))}); ` +
        'cells of another configuration start new series.',
    );
  }
  const allowed = allowedLine(c);
  if (allowed) parts.push(`**${markdownText(allowed)}**`);
  return parts.join('\n\n');
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

function changesTable(c: HistoryCheck): string {
  const rows = c.rows.flatMap((r) =>
    r.changes.map((ch) => [
      markdownText(r.cellId),
      r.metric,
      `${markdownCode(short(ch.commit))}${ch.mayBeLater ? ' or later' : ''}`,
      ch.date.slice(0, 10),
      fmtMedian(ch.beforeMedian, r.unit),
      fmtMedian(ch.afterMedian, r.unit),
      fmtPct(ch.changePct),
      fmtP(ch.pValue),
      String(ch.runsSince),
      ch.regression ? '**regression**' : changeVerdict(ch),
    ]),
  );
  return pipeTable([['Cell', 'Metric', 'Began at commit', 'Commit date', 'Level before', 'Level after', 'Change', 'p', 'Runs since', 'Verdict'], ...rows], ['l', 'l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'l']);
}

function metricTable(rows: readonly HistoryRow[], c: HistoryCheck): string {
  const body = rows.map((r) => [
    markdownText(r.cellId),
    String(r.points),
    r.acceptedFrom ? `accepted ${markdownCode(short(r.acceptedFrom.commit))}` : 'start of history',
    fmtMedian(r.candidateMedian, r.unit),
    r.twoRun.baseMedian === null ? '–' : `${fmtMedian(r.twoRun.baseMedian, r.unit)} (${r.twoRun.baseRuns} runs)`,
    fmtPct(r.twoRun.changePct),
    fmtCiPct(r.twoRun.ciPct),
    markdownText(twoRunText(r)),
    r.regression ? `**${markdownText(statusText(r))}**` : markdownText(statusText(r)),
  ]);
  return pipeTable(
    [['Cell', 'Runs analysed', 'Since', 'Run median', 'Stable window median', 'Change vs window', `${c.confidence * 100}% CI`, 'Two-run test', 'Status'], ...body],
    ['l', 'r', 'l', 'r', 'r', 'r', 'r', 'l', 'l'],
  );
}

export interface HistoryMarkdownOptions {
  /** Only series with a change or a regression (for size-limited places like a step summary). */
  onlyChanged?: boolean;
}

export function formatHistoryMarkdown(c: HistoryCheck, opts: HistoryMarkdownOptions = {}): string {
  const out: string[] = [];
  const cand = c.candidate;
  out.push(`## History check: ${markdownText(c.suite)} on ${markdownText(c.board)}`);
  out.push(
    markdownTable([
      ['Run', 'Commit', 'Commit date', 'In the history', 'Database', 'File'],
      [markdownCode(cand.runId), markdownText(short(cand.gitCommit)), markdownText(cand.commitDate), cand.stored ? 'yes' : 'no (checked, not added)', markdownText(c.db), markdownText(cand.source ?? '–')],
    ]),
  );
  out.push(`**${markdownText(historyGateLine(c))}**\n\n${historySummaryLine(c)}.`);
  const findings = findingsSection(c);
  if (findings) out.push(findings);
  if (c.summary.changes) {
    const example = c.rows.find((r) => r.changes.length)!;
    const ch = example.changes[example.changes.length - 1]!;
    out.push(
      `### Changes not yet accepted\n\n${changesTable(c)}\n\n` +
        `A change stays listed until it is accepted, e.g. ${markdownCode(`bench history accept --suite ${c.suite} --board ${c.board} --cell '${example.cellId}' --metric ${example.metric} --commit ${short(ch.commit)}`)}; ` +
        'from then on its new level is the baseline.',
    );
  }
  if (c.failedCells.length) {
    out.push(
      `### Failed cells\n\n${c.failedCells.map((f) => `- ${markdownCode(f.cellId)}: ${f.newlyFailing ? '**newly failing** (ok in the run before)' : 'failed'}: ${markdownText(f.error)}`).join('\n')}`,
    );
  }
  if (c.regressedCells.length) out.push(`### Regressed cells\n\n${c.regressedCells.map((id) => `- ${markdownCode(id)}`).join('\n')}`);
  for (const metric of c.metrics) {
    const all = c.rows.filter((r) => r.metric === metric);
    if (!all.length) continue;
    const rows = opts.onlyChanged ? all.filter((r) => r.changes.length || r.regression) : all;
    const first = all[0]!;
    const heading = `### ${metric} (${first.unit || 'no unit'}, ${first.direction})`;
    const omitted = all.length - rows.length;
    const note = omitted ? `\n\n${omitted} of ${all.length} series with no unaccepted change are not listed.` : '';
    out.push(rows.length ? `${heading}\n\n${metricTable(rows, c)}${note}` : `${heading}${note}`);
  }
  out.push(
    `<sub>Method: ${c.method}. Change points: p <= ${c.detector.pValue} with up to ${c.detector.permutations} permutations, ` +
      `at least ${c.detector.minSize} runs per level, over the newest ${c.window} run medians since the last accepted change. ` +
      `A regression is a change worse than ${c.thresholdPct}%${c.gateTwoRun ? ', or a two-run test slower beyond it' : '; the two-run test is shown, not gated'}.</sub>`,
  );
  return `${out.join('\n\n')}\n`;
}

// GitHub rejects a step summary over 1 MiB; keep a margin for other steps' output.
const STEP_SUMMARY_LIMIT = 900 * 1024;

export function historyStepSummary(c: HistoryCheck): string {
  const full = formatHistoryMarkdown(c);
  if (Buffer.byteLength(full) <= STEP_SUMMARY_LIMIT) return full;
  const changed = formatHistoryMarkdown(c, { onlyChanged: true });
  if (Buffer.byteLength(changed) <= STEP_SUMMARY_LIMIT) return changed;
  return `## History check: ${markdownText(c.suite)} on ${markdownText(c.board)}\n\n**${historyGateLine(c)}**\n\n${historySummaryLine(c)}.\n\nThe tables are too large for a step summary; see the job's artifacts.\n`;
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
