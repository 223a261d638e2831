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
    .replace(/(?<!`)(`+)(?!`)(.*?[^`])\1(?!`)/g, '<code>$2</code>')
    .replace(/(^|\s)_(.+?)_(?=\s|$|[.,;:])/g, '$1<em>$2</em>');
}

function tooltip(c: TableCell): string {
  let t = c.status ?? '';
  if (c.n !== undefined) t += `${t ? '; ' : ''}n = ${c.n}`;
  if (c.interval) t += `${t ? '; ' : ''}${c.intervalOf === 'median-ci' ? '95% CI of the median' : c.intervalOf === 'range' ? 'range' : 'interval'} ${c.interval[0].toPrecision(4)} – ${c.interval[1].toPrecision(4)}${c.unit ? ` ${c.unit}` : ''}`;
  if (c.note) t += `${t ? '; ' : ''}${c.note}`;
  return t;
}

/** Extra attributes a row or cell carries (data-* for the page's filters). */
export type Attributes = Record<string, string>;

function attrs(a: Attributes | undefined): string {
  if (!a) return '';
  let out = '';
  for (const k in a) out += ` ${k}="${escapeHtml(a[k]!)}"`;
  return out;
}

// Run pages hold thousands of cells each and a site a thousand pages: cells are built by plain
// concatenation, without intermediate arrays.
export function renderHtmlCell(c: TableCell, align = 'left', value = false): string {
  const title = tooltip(c);
  const body = escapeHtml(cellText(c));
  let html = `<td class="${c.status ?? ''} ${align}"`;
  if (title) html += ` title="${escapeHtml(title)}"`;
  if (value && c.value !== undefined) html += ` data-value="${c.value}"`;
  html += c.link ? `><a href="${escapeHtml(c.link)}">${body}</a></td>` : `>${body}</td>`;
  return html;
}

export interface HtmlTableOptions {
  /** Attributes of each body row (by index), e.g. data-f-board for filters. */
  rowAttributes?: (row: number) => Attributes | undefined;
  /** Attributes of each column's header (by index); a page script applies them to the column. */
  columnAttributes?: (column: number) => Attributes | undefined;
  /**
   * Rows after this many go into a collapsed <details> below the table: every row stays in the
   * page, but a browser does not lay out the folded ones until they are opened.
   */
  foldAfter?: number;
  /**
   * Each figure's full-precision value as data-value, for readers who check a published table
   * against its raw result.json (the comparison tables); a run's own page links its raw data.
   */
  values?: boolean;
}

export function renderHtmlTable(t: Table, options: HtmlTableOptions = {}): string {
  const parts: string[] = [];
  if (t.caption) parts.push(`<h3 id="${escapeHtml(t.id)}">${escapeHtml(t.caption)}</h3>`);
  if (t.figures) parts.push(`<p class="figures">${inlineMarkdown(t.figures)}</p>`);
  if (t.rows.length === 0) {
    parts.push(`<p>${inlineMarkdown(t.empty ?? 'No rows.')}</p>`);
    return parts.join('\n');
  }
  const head = `<thead><tr>${t.columns.map((c, i) => `<th class="${c.align}"${attrs(options.columnAttributes?.(i))}>${escapeHtml(c.header)}</th>`).join('')}</tr></thead>`;
  const body = (from: number, to: number): string => {
    let html = '';
    for (let ri = from; ri < to; ri++) {
      const r = t.rows[ri]!;
      html += `${ri > from ? '\n' : ''}<tr${attrs(options.rowAttributes?.(ri))}>`;
      for (let ci = 0; ci < r.length; ci++) html += renderHtmlCell(r[ci]!, t.columns[ci]?.align, options.values === true);
      html += '</tr>';
    }
    return html;
  };
  const shown = options.foldAfter !== undefined && t.rows.length > options.foldAfter ? options.foldAfter : t.rows.length;
  parts.push(`<table data-table="${escapeHtml(t.id)}">${head}<tbody>\n${body(0, shown)}\n</tbody></table>`);
  if (shown < t.rows.length) {
    parts.push(`<details><summary>${t.rows.length - shown} more rows (${t.rows.length} in all)</summary><table data-table="${escapeHtml(t.id)}" data-folded="">${head}<tbody>\n${body(shown, t.rows.length)}\n</tbody></table></details>`);
  }
  return parts.join('\n');
}

export function renderHtmlChart(spec: ChartSpec): string {
  return `<figure class="chart"><canvas data-chart="${escapeHtml(spec.id)}" width="${spec.width}" height="${spec.height}" aria-label="${escapeHtml(spec.title)}"></canvas></figure>`;
}

export function renderHtmlSection(s: Section, tables: HtmlTableOptions = {}): string {
  return [
    `<section id="${escapeHtml(s.id)}"><h2>${escapeHtml(s.heading)}</h2>`,
    ...s.notes.map((n) => `<p>${inlineMarkdown(n)}</p>`),
    ...s.tables.map((t) => renderHtmlTable(t, tables)),
    ...s.charts.map(renderHtmlChart),
    ...(s.bullets?.length ? [`<ul>${s.bullets.map((b) => `<li>${inlineMarkdown(b)}</li>`).join('')}</ul>`] : []),
    ...(s.footnotes ?? []).map((n) => `<p>${inlineMarkdown(n)}</p>`),
    '</section>',
  ].join('\n');
}

/** The report's body: title, facts, notes and sections (the page wraps it). */
export function renderHtmlReport(report: Report): string {
  return [
    `<h1>${escapeHtml(report.title)}</h1>`,
    `<ul class="facts">${report.facts.map((f) => `<li>${inlineMarkdown(f)}</li>`).join('')}</ul>`,
    ...(report.tables ?? []).map((t) => renderHtmlTable(t)),
    ...report.notes.map((n) => `<p>${inlineMarkdown(n)}</p>`),
    ...report.sections.map((s) => renderHtmlSection(s)),
    ...report.charts.map(renderHtmlChart),
    ...(report.smallPrint ?? []).map((p) => `<p><small>${inlineMarkdown(p)}</small></p>`),
  ].join('\n');
}
