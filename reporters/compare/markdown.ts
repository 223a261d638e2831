import { markdownTable } from 'markdown-table';
import { markdownCode, markdownText } from '../render/markdown.ts';
import { pipeTable } from './pipe-table.ts';
import type { Comparison, MetricComparison, RunRef } from '../../analysis/comparison-types.ts';
import { allowedDifferencesLine, findingLine, fmtCiPct, fmtMedian, fmtPct, gateLine, summaryLine, verdictText } from './verdict-text.ts';

export interface ComparisonMarkdownOptions {
  /** Leave out rows with no significant change (for size-limited places like a step summary). */
  onlyChanged?: boolean;
}

/**
 * Text from a result file (cell ids, errors, identity values, targets, hosts) goes through
 * markdownText (render/markdown.ts): no HTML, links, images, line breaks or table pipes.
 */

function findingsSection(c: Comparison): string {
  return c.findings.length ? `### Gate findings\n\n${c.findings.map(findingLine).join('\n')}` : '';
}

function identitySection(c: Comparison): string {
  const parts: string[] = [];
  const allowed = allowedDifferencesLine(c);
  if (allowed) parts.push(`**${markdownText(allowed)}**`);
  if (c.identity.differences.length) {
    const rows = c.identity.differences.map((d) => [
      markdownText(d.field),
      markdownText(d.base),
      markdownText(d.cand),
      d.allowed ? 'allowed (--allow-difference)' : 'not the same configuration: cannot judge',
      `${d.cellIds.length}`,
    ]);
    parts.push(pipeTable([['Identity field', 'Base', 'Candidate', 'Treated as', 'Cells'], ...rows], ['l', 'l', 'l', 'l', 'r']));
  }
  if (c.identity.versions.length) {
    parts.push(`Versions (shown, never blocking): ${c.identity.versions.map((v) => `${markdownText(v.name)} ${markdownText(v.base)} → ${markdownText(v.cand)}`).join('; ')}`);
  }
  return parts.length ? `### Configuration identity\n\n${parts.join('\n\n')}` : '';
}

function listCells(ids: readonly string[], max = 8): string {
  const shown = ids.slice(0, max).map(markdownCode).join(', ');
  return ids.length > max ? `${shown} and ${ids.length - max} more` : shown;
}

function runRow(label: string, r: RunRef): string[] {
  return [label, markdownCode(r.runId), markdownText(r.target), markdownText(r.host), r.gitRevision ? markdownCode(r.gitRevision.slice(0, 12)) : '–', markdownText(r.startedAt), markdownText(r.source ?? '–')];
}

function metricTable(rows: readonly MetricComparison[], c: Comparison): string {
  const level = `${c.confidence * 100}% CI`;
  const body = rows.map((r) => [
    markdownText(r.cellId),
    fmtMedian(r.base.median, r.unit),
    fmtMedian(r.cand.median, r.unit),
    fmtPct(r.changePct),
    fmtCiPct(r.ciPct),
    `${r.base.n} / ${r.cand.n}`,
    r.regression ? `**${markdownText(verdictText(r, c.thresholdPct))}**` : markdownText(verdictText(r, c.thresholdPct)),
  ]);
  return pipeTable([['Cell', 'Base median', 'Cand median', 'Change', level, 'n (base / cand)', 'Verdict'], ...body], ['l', 'r', 'r', 'r', 'r', 'r', 'l']);
}

/** The comparison as Markdown: runs, gate outcome, context warnings on top, then a table per metric. */
export function formatComparisonMarkdown(c: Comparison, opts: ComparisonMarkdownOptions = {}): string {
  const out: string[] = [];
  out.push(`## Comparison: ${markdownText(c.base.suite)}`);
  out.push(markdownTable([['', 'Run', 'Target', 'Host', 'Git', 'Started', 'File'], runRow('Base', c.base), runRow('Candidate', c.cand)]));
  out.push(`**${markdownText(gateLine(c))}**\n\n${summaryLine(c)}.`);
  const findings = findingsSection(c);
  if (findings) out.push(findings);
  const identity = identitySection(c);
  if (identity) out.push(identity);
  if (c.warnings.length) {
    const lines = c.warnings.map((w) => {
      const cells = w.cellIds ? ` (${w.cellIds.length === 1 ? 'cell' : `${w.cellIds.length} cells`}: ${listCells(w.cellIds)})` : '';
      return `- ⚠ **${w.kind}**: ${markdownText(w.message)}${cells}`;
    });
    out.push(`### Context warnings\n\nThese differ between the runs and may explain (or hide) a change:\n\n${lines.join('\n')}`);
  }
  if (c.regressedCells.length) out.push(`### Regressed cells\n\n${c.regressedCells.map((id) => `- ${markdownCode(id)}`).join('\n')}`);
  for (const metric of c.metrics) {
    const all = c.rows.filter((r) => r.metric === metric);
    if (!all.length) continue;
    const rows = opts.onlyChanged ? all.filter((r) => r.verdict !== 'no significant change') : all;
    const first = all[0]!;
    const heading = `### ${metric} (${first.unit || 'no unit'}, ${first.direction})`;
    const omitted = all.length - rows.length;
    const note = omitted ? `\n\n${omitted} of ${all.length} cells with no significant change are not listed.` : '';
    out.push(rows.length ? `${heading}\n\n${metricTable(rows, c)}${note}` : `${heading}${note}`);
  }
  const notCompared: string[] = [];
  if (c.onlyInBase.length) notCompared.push(`- Only in the base run (${c.onlyInBase.length}): ${listCells(c.onlyInBase, 50)}`);
  if (c.onlyInCand.length) notCompared.push(`- Only in the candidate run (${c.onlyInCand.length}): ${listCells(c.onlyInCand, 50)}`);
  for (const f of c.failed) {
    const where = f.side === 'both' ? 'failed in both runs' : f.side === 'base' ? 'failed in the base run' : '**newly failing** in the candidate run';
    notCompared.push(`- ${markdownCode(f.cellId)}: ${where}: ${markdownText(f.error)}`);
  }
  if (notCompared.length) out.push(`### Cells not compared\n\n${notCompared.join('\n')}`);
  out.push(
    `<sub>Method: ${c.method}. Change = candidate median / base median - 1; the interval is for the shift of the ` +
      `whole distribution. A regression is slower beyond the threshold and significant.</sub>`,
  );
  return `${out.join('\n\n')}\n`;
}
