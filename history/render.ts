import { markdownTable } from 'markdown-table';
import { xmlEscape } from '../reporters/render/junit.ts';
import { pipeTable } from '../reporters/compare/pipe-table.ts';
import { fmtCiPct, fmtMedian, fmtPct } from '../reporters/compare/verdict-text.ts';
import type { DetectedChange, HistoryCheck, HistoryRow } from './check.ts';

/** `bench history check` output: Markdown (step summary), JSON, JUnit, built from compare's pieces. */

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
const short = (commit: string | null) => (commit ? commit.slice(0, 12) : '(no commit)');
const fmtP = (p: number | null) => (p === null ? '–' : p < 0.001 ? '< 0.001' : p.toFixed(3));

export function historyGateLine(c: HistoryCheck): string {
  const cond = `threshold ${c.thresholdPct}%, changes not accepted, E-divisive p <= ${c.detector.pValue}${c.gateTwoRun ? `, two-run test at ${c.confidence * 100}%` : ''}`;
  const parts: string[] = [];
  const cells = c.regressedCells.length - c.summary.newlyFailing;
  if (c.summary.regressions) parts.push(`${c.summary.regressions} regression${c.summary.regressions === 1 ? '' : 's'} in ${cells} cell${cells === 1 ? '' : 's'}`);
  if (c.summary.newlyFailing) parts.push(`${c.summary.newlyFailing} cell${c.summary.newlyFailing === 1 ? '' : 's'} newly failing`);
  return parts.length ? `FAIL: ${parts.join(', ')} (${cond})` : `pass: no unaccepted regression beyond ${c.thresholdPct}% (${cond})`;
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
      esc(r.cellId),
      r.metric,
      `\`${short(ch.commit)}\`${ch.mayBeLater ? ' or later' : ''}`,
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
    esc(r.cellId),
    String(r.points),
    r.acceptedFrom ? `accepted \`${short(r.acceptedFrom.commit)}\`` : 'start of history',
    fmtMedian(r.candidateMedian, r.unit),
    r.twoRun.baseMedian === null ? '–' : `${fmtMedian(r.twoRun.baseMedian, r.unit)} (${r.twoRun.baseRuns} runs)`,
    fmtPct(r.twoRun.changePct),
    fmtCiPct(r.twoRun.ciPct),
    esc(twoRunText(r)),
    r.regression ? `**${esc(statusText(r))}**` : esc(statusText(r)),
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
  out.push(`## History check: ${c.suite} on ${c.board}`);
  out.push(
    markdownTable([
      ['Run', 'Commit', 'Commit date', 'In the history', 'Database', 'File'],
      [`\`${cand.runId}\``, short(cand.gitCommit), cand.commitDate, cand.stored ? 'yes' : 'no (checked, not added)', c.db, cand.source ?? '–'],
    ]),
  );
  out.push(`**${historyGateLine(c)}**\n\n${historySummaryLine(c)}.`);
  if (c.summary.changes) {
    const example = c.rows.find((r) => r.changes.length)!;
    const ch = example.changes[example.changes.length - 1]!;
    out.push(
      `### Changes not yet accepted\n\n${changesTable(c)}\n\n` +
        `A change stays listed until it is accepted, e.g. \`bench history accept --suite ${c.suite} --board ${c.board} ` +
        `--cell '${example.cellId}' --metric ${example.metric} --commit ${short(ch.commit)}\`; from then on its new level is the baseline.`,
    );
  }
  if (c.failedCells.length) {
    out.push(
      `### Failed cells\n\n${c.failedCells.map((f) => `- \`${f.cellId}\`: ${f.newlyFailing ? '**newly failing** (ok in the run before)' : 'failed'}: ${esc(f.error)}`).join('\n')}`,
    );
  }
  if (c.regressedCells.length) out.push(`### Regressed cells\n\n${c.regressedCells.map((id) => `- \`${id}\``).join('\n')}`);
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
  return `## History check: ${c.suite} on ${c.board}\n\n**${historyGateLine(c)}**\n\n${historySummaryLine(c)}.\n\nThe tables are too large for a step summary; see the job's artifacts.\n`;
}

export function formatHistoryJson(c: HistoryCheck): string {
  return `${JSON.stringify(c, null, 2)}\n`;
}

const attr = (name: string, value: string | number) => `${name}="${xmlEscape(String(value))}"`;

function rowDetail(r: HistoryRow, c: HistoryCheck): string {
  const changes = r.changes.map((ch) => `change at ${short(ch.commit)}${ch.mayBeLater ? ' or later' : ''} (${ch.date.slice(0, 10)}): ${fmtPct(ch.changePct)}, p ${fmtP(ch.pValue)}, ${changeVerdict(ch)}`);
  return (
    `${r.metric} (${r.direction}): run median ${fmtMedian(r.candidateMedian, r.unit)}, ${r.points} runs analysed; ` +
    `two-run test against ${r.twoRun.baseRuns} runs: change ${fmtPct(r.twoRun.changePct)}, ${c.confidence * 100}% CI ${fmtCiPct(r.twoRun.ciPct)}, ${twoRunText(r)}` +
    (changes.length ? `; ${changes.join('; ')}` : '; no unaccepted change')
  );
}

function testcase(r: HistoryRow, c: HistoryCheck, classname: string): string {
  const head = `    <testcase ${attr('classname', classname)} ${attr('name', r.cellId)} time="0"`;
  const detail = xmlEscape(rowDetail(r, c));
  if (r.regression) {
    const ch = r.changes.find((x) => x.regression);
    const msg = ch
      ? `unaccepted change at commit ${short(ch.commit)}${ch.mayBeLater ? ' or later' : ''}: ${fmtPct(ch.changePct)} (threshold ${c.thresholdPct}%, p ${fmtP(ch.pValue)})`
      : `newest run ${fmtPct(r.twoRun.changePct)} against its stable window (threshold ${c.thresholdPct}%, ${c.confidence * 100}% CI ${fmtCiPct(r.twoRun.ciPct)})`;
    return `${head}>\n      <failure ${attr('type', 'regression')} ${attr('message', msg)}>${detail}</failure>\n    </testcase>`;
  }
  if (r.status === 'insufficient history') {
    return `${head}>\n      <skipped ${attr('message', statusText(r))}/>\n    </testcase>`;
  }
  return `${head}>\n      <system-out>${detail}</system-out>\n    </testcase>`;
}

/** JUnit: one testsuite per metric, one testcase per cell; unaccepted regressions fail, too-short histories are skipped. */
export function formatHistoryJunit(c: HistoryCheck): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let skipped = 0;
  for (const metric of c.metrics) {
    const rows = c.rows.filter((r) => r.metric === metric);
    if (!rows.length) continue;
    const f = rows.filter((r) => r.regression).length;
    const s = rows.filter((r) => !r.regression && r.status === 'insufficient history').length;
    tests += rows.length;
    failures += f;
    skipped += s;
    suites.push(
      `  <testsuite ${attr('name', `${c.suite} on ${c.board}: ${metric}`)} ${attr('tests', rows.length)} ${attr('failures', f)} errors="0" ${attr('skipped', s)} time="0">\n` +
        `${rows.map((r) => testcase(r, c, `${c.suite}.${c.board}.${metric}`)).join('\n')}\n  </testsuite>`,
    );
  }
  let errors = 0;
  if (c.failedCells.length) {
    const cases = c.failedCells.map((f) => {
      const head = `    <testcase ${attr('classname', `${c.suite}.${c.board}.cell-status`)} ${attr('name', f.cellId)} time="0"`;
      return f.newlyFailing
        ? `${head}>\n      <error ${attr('type', 'cell failed')} ${attr('message', `newly failing: ${f.error}`)}/>\n    </testcase>`
        : `${head}>\n      <skipped ${attr('message', `failed (as in the run before): ${f.error}`)}/>\n    </testcase>`;
    });
    const e = c.failedCells.filter((f) => f.newlyFailing).length;
    const s = cases.length - e;
    tests += cases.length;
    errors += e;
    skipped += s;
    suites.push(`  <testsuite ${attr('name', `${c.suite} on ${c.board}: cell status`)} ${attr('tests', cases.length)} failures="0" ${attr('errors', e)} ${attr('skipped', s)} time="0">\n${cases.join('\n')}\n  </testsuite>`);
  }
  const head =
    `<testsuites ${attr('name', `bench history check ${c.suite} on ${c.board}: ${historyGateLine(c)}`)} ${attr('tests', tests)} ` +
    `${attr('failures', failures)} ${attr('errors', errors)} ${attr('skipped', skipped)} time="0">`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${head}\n${suites.join('\n')}\n</testsuites>\n`;
}
