/**
 * The report model as Markdown: GitHub pipe tables (markdown-table pads columns so the file
 * reads as text too), one `##` heading per section, `###` per captioned table.
 */
import { markdownTable } from 'markdown-table';
import type { Alignment, Report, Section, Table, TableCell } from '../report-model.ts';

const ALIGN: Record<Alignment, 'l' | 'r' | 'c'> = { left: 'l', right: 'r', center: 'c' };

/** A figure that is not plainly measured says so in the text itself, so a copied row keeps it. */
const MARKS: Partial<Record<NonNullable<TableCell['status']>, string>> = {
  noisy: ' ~noisy',
  busy: ' ~busy',
  flagged: ' (!)',
  differs: ' DIFFERS',
};

export function cellText(c: TableCell): string {
  const mark = c.status ? MARKS[c.status] : undefined;
  return mark && !c.text.includes(mark.trim()) ? `${c.text}${mark}` : c.text;
}

// Pipes inside a cell would split it; Markdown escapes them.
const escapeCell = (text: string): string => text.replace(/\|/g, '\\|');

export function renderTable(t: Table): string {
  const parts: string[] = [];
  if (t.caption) parts.push(`### ${t.caption}`);
  if (t.figures) parts.push(`_${t.figures}_`);
  const shown = t.display && t.rows.length > t.display.maxRows ? t.rows.slice(0, t.display.maxRows) : t.rows;
  if (t.rows.length === 0) parts.push(t.empty ?? '_No rows._');
  else {
    parts.push(
      markdownTable([t.columns.map((c) => c.header), ...shown.map((r) => r.map((c) => escapeCell(cellText(c))))], {
        align: t.columns.map((c) => ALIGN[c.align]),
      }),
    );
  }
  if (shown.length < t.rows.length) parts.push(`_${shown.length} of ${t.rows.length} rows shown; ${t.display!.rest}._`);
  return parts.join('\n\n');
}

export function renderSection(s: Section): string {
  const parts = [...s.notes, ...s.tables.map(renderTable)];
  if (s.bullets?.length) parts.push(s.bullets.map((b) => `- ${b}`).join('\n'));
  return `## ${s.heading}\n\n${parts.join('\n\n')}`;
}

export function renderMarkdown(report: Report): string {
  const head = [`# ${report.title}`, '', ...report.facts.map((f) => `- ${f}`)];
  if (report.notes.length) head.push('', report.notes.join('\n\n'));
  return `${[head.join('\n'), ...report.sections.map(renderSection)].join('\n\n')}\n`;
}
