import type { Comparison, MetricComparison } from '../../analysis/comparison-types.ts';
import { fmtCiPct, fmtMedian, fmtPct, gateLine, verdictText } from './verdict-text.ts';

/** Characters XML 1.0 does not allow at all (control characters other than tab, newline, return). */
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function xmlEscape(text: string): string {
  return text
    .replace(INVALID_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const attr = (name: string, value: string | number) => `${name}="${xmlEscape(String(value))}"`;

function rowDetail(r: MetricComparison, c: Comparison): string {
  return (
    `${r.metric} (${r.direction}): base median ${fmtMedian(r.base.median, r.unit)} (n=${r.base.n}), ` +
    `candidate median ${fmtMedian(r.cand.median, r.unit)} (n=${r.cand.n}), change ${fmtPct(r.changePct)}, ` +
    `${c.confidence * 100}% CI ${fmtCiPct(r.ciPct)}, verdict: ${verdictText(r, c.thresholdPct)}`
  );
}

function testcase(r: MetricComparison, c: Comparison, classname: string): string {
  const head = `    <testcase ${attr('classname', classname)} ${attr('name', r.cellId)} time="0"`;
  const detail = xmlEscape(rowDetail(r, c));
  if (r.regression) {
    const msg = `slower by ${fmtPct(r.changePct)} (threshold ${c.thresholdPct}%, ${c.confidence * 100}% CI ${fmtCiPct(r.ciPct)})` +
      (r.throttled ? '; a cell was flagged throttled: re-run to confirm' : '');
    return `${head}>\n      <failure ${attr('type', 'regression')} ${attr('message', msg)}>${detail}</failure>\n    </testcase>`;
  }
  if (r.verdict === 'insufficient data') {
    return `${head}>\n      <skipped ${attr('message', `insufficient data: ${r.note ?? 'too few iterations'}`)}/>\n    </testcase>`;
  }
  return `${head}>\n      <system-out>${detail}</system-out>\n    </testcase>`;
}

function properties(c: Comparison): string {
  const props: Array<[string, string]> = [
    ['base.runId', c.base.runId],
    ['cand.runId', c.cand.runId],
    ['base.source', c.base.source ?? ''],
    ['cand.source', c.cand.source ?? ''],
    ['thresholdPct', String(c.thresholdPct)],
    ['confidence', String(c.confidence)],
    ['method', c.method],
    ...c.warnings.map((w, i): [string, string] => [`warning.${i + 1}.${w.kind}`, w.cellIds ? `${w.message} (${w.cellIds.length === 1 ? `cell ${w.cellIds[0]!}` : `${w.cellIds.length} cells`})` : w.message]),
  ];
  return `    <properties>\n${props.map(([k, v]) => `      <property ${attr('name', k)} ${attr('value', v)}/>`).join('\n')}\n    </properties>`;
}

/**
 * JUnit XML: one testsuite per metric, one testcase per cell × metric; regressions are
 * failures, "insufficient data" is skipped, and cells that newly fail in the candidate are
 * errors in a "cell status" suite. Context warnings travel as properties so CI shows them.
 */
export function formatComparisonJunit(c: Comparison): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  for (const metric of c.metrics) {
    const rows = c.rows.filter((r) => r.metric === metric);
    if (!rows.length) continue;
    const f = rows.filter((r) => r.regression).length;
    const s = rows.filter((r) => !r.regression && r.verdict === 'insufficient data').length;
    tests += rows.length;
    failures += f;
    skipped += s;
    const classname = `${c.cand.suite}.${metric}`;
    suites.push(
      `  <testsuite ${attr('name', `${c.cand.suite}: ${metric}`)} ${attr('tests', rows.length)} ${attr('failures', f)} errors="0" ${attr('skipped', s)} time="0">\n` +
        `${properties(c)}\n${rows.map((r) => testcase(r, c, classname)).join('\n')}\n  </testsuite>`,
    );
  }
  if (c.failed.length) {
    const cases = c.failed.map((f) => {
      const head = `    <testcase ${attr('classname', `${c.cand.suite}.cell-status`)} ${attr('name', f.cellId)} time="0"`;
      if (f.side === 'cand') return `${head}>\n      <error ${attr('type', 'cell failed')} ${attr('message', `newly failing in the candidate run: ${f.error}`)}/>\n    </testcase>`;
      if (f.side === 'both') return `${head}>\n      <skipped ${attr('message', `failed in both runs: ${f.error}`)}/>\n    </testcase>`;
      return `${head}>\n      <system-out>${xmlEscape(`failed in the base run, ok in the candidate: ${f.error}`)}</system-out>\n    </testcase>`;
    });
    const e = c.failed.filter((f) => f.side === 'cand').length;
    const s = c.failed.filter((f) => f.side === 'both').length;
    tests += cases.length;
    errors += e;
    skipped += s;
    suites.push(
      `  <testsuite ${attr('name', `${c.cand.suite}: cell status`)} ${attr('tests', cases.length)} failures="0" ${attr('errors', e)} ${attr('skipped', s)} time="0">\n${cases.join('\n')}\n  </testsuite>`,
    );
  }
  const head =
    `<testsuites ${attr('name', `bench compare ${c.cand.suite}: ${gateLine(c)}`)} ${attr('tests', tests)} ` +
    `${attr('failures', failures)} ${attr('errors', errors)} ${attr('skipped', skipped)} time="0">`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${head}\n${suites.join('\n')}\n</testsuites>\n`;
}
