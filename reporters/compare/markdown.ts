import { renderMarkdown } from '../render/markdown.ts';
import { cell, codeSpan, columns, type Report, type Section, type Table, type TableCell } from '../report-model.ts';
import type { Comparison, MetricComparison, RunRef } from '../../analysis/comparison-types.ts';
import { comparedBoards } from '../cell-boards.ts';
import { allowedDifferencesLine, findingText, fmtCiPct, fmtMedian, fmtPct, gateLine, summaryLine, verdictText } from './verdict-text.ts';

/**
 * `bench compare` as the report model (reporters/report-model.ts), rendered by render/markdown.ts
 * like report.md. Text from a result file (cell ids, errors, identity values, targets, hosts) goes
 * into the model as it is: the renderer escapes every string (no HTML, links, images, line breaks
 * or table pipes reach the Markdown), and only the model's light markup (**bold**, `code`) passes.
 */

export interface ComparisonMarkdownOptions {
  /** Leave out rows with no significant change (for size-limited places like a step summary). */
  onlyChanged?: boolean;
}

/**
 * The title's heading level: a comparison is mostly read inside a larger page (a CI job's step
 * summary, after the job's own headings), so it is a second-level section of that page.
 */
export const COMPARISON_HEADING_LEVEL = 2;

function section(id: string, heading: string, parts: Partial<Section>): Section {
  return { id, heading, notes: [], tables: [], charts: [], ...parts };
}

function findingsSection(c: Comparison): Section[] {
  return c.findings.length ? [section('gate-findings', 'Gate findings', { bullets: c.findings.map(findingText) })] : [];
}

function identitySection(c: Comparison): Section[] {
  const allowed = allowedDifferencesLine(c);
  const notes = allowed ? [`**${allowed}**`] : [];
  const tables: Table[] = [];
  if (c.identity.differences.length) {
    tables.push({
      id: 'identity',
      columns: columns([['Identity field', 'left'], ['Base', 'left'], ['Candidate', 'left'], ['Treated as', 'left'], ['Cells', 'right']]),
      rows: c.identity.differences.map((d) => [
        cell(d.field),
        cell(d.base),
        cell(d.cand),
        cell(d.allowed ? 'allowed (--allow-difference)' : 'not the same configuration: cannot judge'),
        cell(`${d.cellIds.length}`, { value: d.cellIds.length }),
      ]),
    });
  }
  const footnotes = c.identity.versions.length ? [`Versions (shown, never blocking): ${c.identity.versions.map((v) => `${v.name} ${v.base} → ${v.cand}`).join('; ')}`] : [];
  return notes.length || tables.length || footnotes.length ? [section('identity', 'Configuration identity', { notes, tables, footnotes })] : [];
}

function listCells(ids: readonly string[], max = 8): string {
  const shown = ids.slice(0, max).map(codeSpan).join(', ');
  return ids.length > max ? `${shown} and ${ids.length - max} more` : shown;
}

function runRow(label: string, r: RunRef): TableCell[] {
  return [label, codeSpan(r.runId), r.target, r.host, r.gitRevision ? codeSpan(r.gitRevision.slice(0, 12)) : '–', r.startedAt, r.source ?? '–'].map((text) => ({ text }));
}

function runsTable(c: Comparison): Table {
  return {
    id: 'runs',
    columns: columns([['', 'left'], ['Run', 'left'], ['Target', 'left'], ['Host', 'left'], ['Git', 'left'], ['Started', 'left'], ['File', 'left']]),
    rows: [runRow('Base', c.base), runRow('Candidate', c.cand)],
  };
}

/** A result merged from several boards' shards on either side: each row says which boards measured it. */
const byBoard = (c: Comparison): boolean => c.base.cellBoards !== undefined || c.cand.cellBoards !== undefined;

const METRIC_COLUMNS = (c: Comparison) =>
  columns([['Cell', 'left'], ...(byBoard(c) ? [['Board (base / cand)', 'left'] as ['Board (base / cand)', 'left']] : []), ['Base median', 'right'], ['Cand median', 'right'], ['Change', 'right'], [`${c.confidence * 100}% CI`, 'right'], ['n (base / cand)', 'right'], ['Verdict', 'left']]);

// A comparison of thousands of cells makes a row per cell and metric: cells are plain objects, built once.
function metricRow(r: MetricComparison, c: Comparison): TableCell[] {
  const verdict = verdictText(r, c.thresholdPct);
  return [
    { text: r.cellId },
    ...(byBoard(c) ? [comparedBoards(c.base, c.cand, r.cellId)] : []),
    { text: fmtMedian(r.base.median, r.unit), unit: r.unit, ...(r.base.median === null ? {} : { value: r.base.median }), n: r.base.n },
    { text: fmtMedian(r.cand.median, r.unit), unit: r.unit, ...(r.cand.median === null ? {} : { value: r.cand.median }), n: r.cand.n },
    { text: fmtPct(r.changePct), status: 'derived' },
    { text: fmtCiPct(r.ciPct), status: 'derived' },
    { text: `${r.base.n} / ${r.cand.n}` },
    { text: r.regression ? `**${verdict}**` : verdict },
  ];
}

function metricSections(c: Comparison, opts: ComparisonMarkdownOptions): Section[] {
  const byMetric = new Map<string, MetricComparison[]>();
  for (const r of c.rows) {
    const list = byMetric.get(r.metric);
    if (list) list.push(r);
    else byMetric.set(r.metric, [r]);
  }
  return c.metrics.flatMap((metric) => {
    const all = byMetric.get(metric) ?? [];
    if (!all.length) return [];
    const rows = opts.onlyChanged ? all.filter((r) => r.verdict !== 'no significant change') : all;
    const first = all[0]!;
    const omitted = all.length - rows.length;
    return [
      section(`metric-${metric}`, `${metric} (${first.unit || 'no unit'}, ${first.direction})`, {
        tables: rows.length ? [{ id: metric, columns: METRIC_COLUMNS(c), rows: rows.map((r) => metricRow(r, c)) }] : [],
        footnotes: omitted ? [`${omitted} of ${all.length} cells with no significant change are not listed.`] : [],
      }),
    ];
  });
}

function notComparedSection(c: Comparison): Section[] {
  const bullets: string[] = [];
  if (c.onlyInBase.length) bullets.push(`Only in the base run (${c.onlyInBase.length}): ${listCells(c.onlyInBase, 50)}`);
  if (c.onlyInCand.length) bullets.push(`Only in the candidate run (${c.onlyInCand.length}): ${listCells(c.onlyInCand, 50)}`);
  for (const f of c.failed) {
    const where = f.side === 'both' ? 'failed in both runs' : f.side === 'base' ? 'failed in the base run' : '**newly failing** in the candidate run';
    bullets.push(`${codeSpan(f.cellId)}: ${where}: ${f.error}`);
  }
  return bullets.length ? [section('not-compared', 'Cells not compared', { bullets })] : [];
}

/** The comparison as a report: runs, gate outcome, context warnings on top, then a table per metric. */
export function comparisonReport(c: Comparison, opts: ComparisonMarkdownOptions = {}): Report {
  const warnings = c.warnings.length
    ? [
        section('warnings', 'Context warnings', {
          notes: ['These differ between the runs and may explain (or hide) a change:'],
          bullets: c.warnings.map((w) => {
            const cells = w.cellIds ? ` (${w.cellIds.length === 1 ? 'cell' : `${w.cellIds.length} cells`}: ${listCells(w.cellIds)})` : '';
            return `⚠ **${w.kind}**: ${w.message}${cells}`;
          }),
        }),
      ]
    : [];
  const regressed = c.regressedCells.length ? [section('regressed', 'Regressed cells', { bullets: c.regressedCells.map(codeSpan) })] : [];
  return {
    title: `Comparison: ${c.base.suite}`,
    facts: [],
    tables: [runsTable(c)],
    notes: [`**${gateLine(c)}**`, `${summaryLine(c)}.`],
    sections: [...findingsSection(c), ...identitySection(c), ...warnings, ...regressed, ...metricSections(c, opts), ...notComparedSection(c)],
    charts: [],
    smallPrint: [
      `Method: ${c.method}. Change = candidate median / base median - 1; the interval is for the shift of the ` +
        'whole distribution. A regression is slower beyond the threshold and significant.',
    ],
  };
}

/** The comparison as Markdown (stdout, --out, the step summary). */
export function formatComparisonMarkdown(c: Comparison, opts: ComparisonMarkdownOptions = {}): string {
  return renderMarkdown(comparisonReport(c, opts), { headingLevel: COMPARISON_HEADING_LEVEL });
}

// GitHub rejects a step summary over 1 MiB; keep a margin for other steps' output.
const STEP_SUMMARY_LIMIT = 900 * 1024;
/** Regressed cells the shortest step summary still lists. */
const SUMMARY_CELLS = 500;

/** The Markdown for $GITHUB_STEP_SUMMARY: full, or only the changed rows when the full table is too big, or the gate and the regressed cells. */
export function comparisonStepSummary(c: Comparison): string {
  const full = formatComparisonMarkdown(c);
  if (Buffer.byteLength(full) <= STEP_SUMMARY_LIMIT) return full;
  const changed = formatComparisonMarkdown(c, { onlyChanged: true });
  if (Buffer.byteLength(changed) <= STEP_SUMMARY_LIMIT) return changed;
  const more = c.regressedCells.length - SUMMARY_CELLS;
  const regressed = c.regressedCells.length
    ? [section('regressed', 'Regressed cells', { bullets: c.regressedCells.slice(0, SUMMARY_CELLS).map(codeSpan), footnotes: more > 0 ? [`${more} more regressed cells are in the job's artifacts.`] : [] })]
    : [];
  const report: Report = {
    title: `Comparison: ${c.base.suite}`,
    facts: [],
    notes: [`**${gateLine(c)}**`, `${summaryLine(c)}.`, "The tables are too large for a step summary; see the job's artifacts."],
    sections: regressed,
    charts: [],
  };
  return renderMarkdown(report, { headingLevel: COMPARISON_HEADING_LEVEL });
}
