/**
 * The report model as Markdown: GitHub pipe tables (markdown-table pads columns so the file
 * reads as text too), one `##` heading per section, `###` per captioned table.
 *
 * Every string of the model is escaped here (markdownText): names, errors and messages come from
 * result files, which are untrusted, and must reach report.md, `publish --format md` and a CI
 * step summary as plain text. The model's own light markup (**bold**, _italic_, `code`), the
 * same the HTML renderer understands (html.ts inlineMarkdown), is the only Markdown that passes.
 */
import { markdownTable } from 'markdown-table';
import type { Alignment, Report, Section, Table, TableCell } from '../report-model.ts';
import { markerText } from '../markers.ts';

const ALIGN: Record<Alignment, 'l' | 'r' | 'c'> = { left: 'l', right: 'r', center: 'c' };

/** A figure that is not plainly measured says so in the text itself, so a copied row keeps it. */
export function cellText(c: TableCell): string {
  let text = c.text;
  for (const m of c.marks ?? []) {
    const mark = markerText(m);
    if (!text.includes(mark)) text += ` ${mark}`;
  }
  return text;
}

/**
 * Markdown syntax anywhere in a line: backslash (so an escape cannot be undone by the text
 * before it), raw HTML and autolinks (<), entity references (&), table pipes, and the `]` that
 * makes a link, an image or a reference definition: `](`, `][`, `]:` (CommonMark allows no
 * space there; a bracket pair alone, as in "12.3 [11.9–12.8]", is plain text without a
 * definition, and none can be made once every `]:` is escaped). A leading `>` is a block
 * marker, below. Backslash escapes of ASCII punctuation are CommonMark, so each renders as the
 * character itself.
 */
const INLINE_SPECIAL = /[\\<&|]|\](?=[([:])/g;
/** Line starts that make a block: headings, quotes, lists, thematic breaks, setext lines, fences. */
const BLOCK_START = /^(\s*)(#|>|[-+*=](?=\s|$)|\d+[.)](?=\s|$)|[-*_=]{3,}|`{3,}|~{3,})/;
/** Code spans the model writes (`bench calibrate`): their text is literal in Markdown already. */
const CODE_SPAN = /`[^`]+`/g;

/**
 * Text made inert for Markdown: line breaks become spaces (a newline could start a heading or end
 * a table row), Markdown's special characters are backslash-escaped outside code spans, a block
 * marker at the start is escaped, and an unpaired backtick is escaped. Inside a code span only
 * pipes are escaped (GitHub splits table cells on them even there) and nothing else is read.
 */
export function markdownText(text: string): string {
  const flat = text.replace(/\r\n?|\n|\u2028|\u2029/g, ' ');
  let out = '';
  let at = 0;
  const plain = (s: string): string => s.replace(INLINE_SPECIAL, '\\$&').replace(/`/g, '\\`');
  for (const m of flat.matchAll(CODE_SPAN)) {
    out += plain(flat.slice(at, m.index)) + m[0].replace(/\|/g, '\\|');
    at = m.index + m[0].length;
  }
  out += plain(flat.slice(at));
  return out.replace(BLOCK_START, (_, space: string, marker: string) => `${space}\\${marker}`);
}

/** A code span holding any text: a fence longer than any run of backticks inside, pipes escaped. */
export function markdownCode(text: string): string {
  const flat = text.replace(/\r\n?|\n|\u2028|\u2029/g, ' ').replace(/\|/g, '\\|');
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

export function renderTable(t: Table): string {
  const parts: string[] = [];
  if (t.caption) parts.push(`### ${markdownText(t.caption)}`);
  if (t.figures) parts.push(`_${markdownText(t.figures)}_`);
  const shown = t.display && t.rows.length > t.display.maxRows ? t.rows.slice(0, t.display.maxRows) : t.rows;
  if (t.rows.length === 0) parts.push(markdownText(t.empty ?? '_No rows._'));
  else {
    parts.push(
      markdownTable([t.columns.map((c) => markdownText(c.header)), ...shown.map((r) => r.map((c) => markdownText(cellText(c))))], {
        align: t.columns.map((c) => ALIGN[c.align]),
      }),
    );
  }
  if (shown.length < t.rows.length) parts.push(`_${shown.length} of ${t.rows.length} rows shown; ${markdownText(t.display!.rest)}._`);
  return parts.join('\n\n');
}

export function renderSection(s: Section): string {
  const parts = [...s.notes.map(markdownText), ...s.tables.map(renderTable)];
  if (s.bullets?.length) parts.push(s.bullets.map((b) => `- ${markdownText(b)}`).join('\n'));
  return `## ${markdownText(s.heading)}\n\n${parts.join('\n\n')}`;
}

export function renderMarkdown(report: Report): string {
  const head = [`# ${markdownText(report.title)}`, '', ...report.facts.map((f) => `- ${markdownText(f)}`)];
  if (report.notes.length) head.push('', report.notes.map(markdownText).join('\n\n'));
  return `${[head.join('\n'), ...report.sections.map(renderSection)].join('\n\n')}\n`;
}
