/**
 * The report model as HTML fragments for the published site (publish/): the same sections,
 * tables and chart definitions as report.md and the PNGs. Every figure keeps its status as a
 * class (measured, composed, failed, noisy...) and its n and interval in a tooltip; charts are
 * <canvas> elements the page draws from the ChartSpec JSON with the same plugins as the PNGs.
 */
import type { ChartSpec, Report, Section, Table, TableCell } from '../report-model.ts';
import { cellText } from './markdown.ts';

const SPECIAL = /[&<>"']/;

export function escapeHtml(text: string): string {
  if (!SPECIAL.test(text)) return text;
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Light Markdown of the report's notes: **bold**, _italic_ and `code`, on escaped text. */
export function inlineMarkdown(text: string): string {
  return escapeHtml(text)
    .replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>')
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/(^|\s)_(.+?)_(?=\s|$|[.,;:])/g, '$1<em>$2</em>');
}

function tooltip(c: TableCell): string {
  const parts: string[] = [];
  if (c.status) parts.push(c.status);
  if (c.n !== undefined) parts.push(`n = ${c.n}`);
  if (c.interval) parts.push(`95% interval ${c.interval[0].toPrecision(4)} – ${c.interval[1].toPrecision(4)}${c.unit ? ` ${c.unit}` : ''}`);
  if (c.note) parts.push(c.note);
  return parts.join('; ');
}

/** Extra attributes a row or cell carries (data-* for the page's filters). */
export type Attributes = Record<string, string>;

const attrs = (a: Attributes | undefined): string =>
  a ? Object.entries(a).map(([k, v]) => ` ${k}="${escapeHtml(v)}"`).join('') : '';

export function renderHtmlCell(c: TableCell, tag: 'td' | 'th' = 'td', align = 'left', extra?: Attributes): string {
  const title = tooltip(c);
  const body = escapeHtml(cellText(c));
  const inner = c.link ? `<a href="${escapeHtml(c.link)}">${body}</a>` : body;
  return `<${tag} class="${c.status ?? ''} ${align}"${title ? ` title="${escapeHtml(title)}"` : ''}${c.value !== undefined ? ` data-value="${c.value}"` : ''}${attrs(extra)}>${inner}</${tag}>`;
}

export interface HtmlTableOptions {
  /** Attributes of each body row (by index), e.g. data-f-board for filters. */
  rowAttributes?: (row: number) => Attributes | undefined;
  /** Attributes of each column's cells (by index). */
  columnAttributes?: (column: number) => Attributes | undefined;
}

export function renderHtmlTable(t: Table, options: HtmlTableOptions = {}): string {
  const parts: string[] = [];
  if (t.caption) parts.push(`<h3 id="${escapeHtml(t.id)}">${escapeHtml(t.caption)}</h3>`);
  if (t.figures) parts.push(`<p class="figures">${inlineMarkdown(t.figures)}</p>`);
  if (t.rows.length === 0) {
    parts.push(`<p>${inlineMarkdown(t.empty ?? 'No rows.')}</p>`);
    return parts.join('\n');
  }
  const align = t.columns.map((c) => c.align);
  const head = t.columns.map((c, i) => `<th class="${c.align}"${attrs(options.columnAttributes?.(i))}>${escapeHtml(c.header)}</th>`).join('');
  const body = t.rows
    .map((r, ri) => `<tr${attrs(options.rowAttributes?.(ri))}>${r.map((c, ci) => renderHtmlCell(c, 'td', align[ci], options.columnAttributes?.(ci))).join('')}</tr>`)
    .join('\n');
  parts.push(`<table data-table="${escapeHtml(t.id)}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`);
  return parts.join('\n');
}

export function renderHtmlChart(spec: ChartSpec): string {
  return `<figure class="chart"><canvas data-chart="${escapeHtml(spec.id)}" width="${spec.width}" height="${spec.height}" aria-label="${escapeHtml(spec.title)}"></canvas></figure>`;
}

export function renderHtmlSection(s: Section): string {
  return [
    `<section id="${escapeHtml(s.id)}"><h2>${escapeHtml(s.heading)}</h2>`,
    ...s.notes.map((n) => `<p>${inlineMarkdown(n)}</p>`),
    ...s.tables.map((t) => renderHtmlTable(t)),
    ...s.charts.map(renderHtmlChart),
    ...(s.bullets?.length ? [`<ul>${s.bullets.map((b) => `<li>${inlineMarkdown(b)}</li>`).join('')}</ul>`] : []),
    '</section>',
  ].join('\n');
}

/** The report's body: title, facts, notes and sections (the page wraps it). */
export function renderHtmlReport(report: Report): string {
  return [
    `<h1>${escapeHtml(report.title)}</h1>`,
    `<ul class="facts">${report.facts.map((f) => `<li>${inlineMarkdown(f)}</li>`).join('')}</ul>`,
    ...report.notes.map((n) => `<p>${inlineMarkdown(n)}</p>`),
    ...report.sections.map(renderHtmlSection),
    ...report.charts.map(renderHtmlChart),
  ].join('\n');
}
