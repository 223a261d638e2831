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
import { codeSpan, type Alignment, type Report, type Section, type Table, type TableCell } from '../report-model.ts';
import { markerText } from '../markers.ts';
import { terminalSafe } from '../../core/terminal-text.ts';

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
/**
 * Code spans the model writes (`bench calibrate`, report-model.ts codeSpan): their text is literal
 * in Markdown already. As CommonMark reads them: an opening run of backticks closed by the next
 * run of the same length, so a fence of two holds an id with one backtick.
 */
const CODE_SPAN = /(?<!`)(`+)(?!`)(.*?[^`])\1(?!`)/g;
/**
 * Text without any of these is printed as it is (most cells of a large table: numbers, names):
 * Markdown's specials, line breaks, and the control characters and escape sequences that
 * terminalSafe removes (report.md is printed by `bench run` and read with cat; an ESC from a
 * result file must not retitle or clear the reader's terminal).
 */
const ANY_SPECIAL = /[\\<&|\]`\r\n\u2028\u2029\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * Text made inert for Markdown: line breaks become spaces (a newline could start a heading or end
 * a table row), escape sequences and control characters are removed, Markdown's special characters are backslash-escaped outside code spans, a block
 * marker at the start is escaped, and an unpaired backtick is escaped. Inside a code span only
 * pipes are escaped (GitHub splits table cells on them even there) and nothing else is read.
 */
export function markdownText(text: string): string {
  if (!ANY_SPECIAL.test(text) && !BLOCK_START.test(text)) return text;
  const flat = terminalSafe(text.replace(/\r\n?|\n|\u2028|\u2029/g, ' '));
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

/** A code span holding any text (report-model.ts codeSpan), pipes escaped. */
export function markdownCode(text: string): string {
  return codeSpan(terminalSafe(text.replace(/\r\n?|\n|\u2028|\u2029/g, ' '))).replace(/\|/g, '\\|');
}

/** Above this many rows a table is written unpadded: padding costs time and bytes, and nobody reads 10,000 rows raw. */
const PADDED_ROWS = 200;
const DELIMITER: Record<Alignment, string> = { left: ':--', right: '--:', center: ':-:' };

/** A pipe table of escaped cells: padded by markdown-table (reads as text too) when small, plain when large. */
function pipeTable(header: string[], body: string[][], align: readonly Alignment[]): string {
  if (body.length <= PADDED_ROWS) return markdownTable([header, ...body], { align: align.map((a) => ALIGN[a]) });
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(align.map((a) => DELIMITER[a])), ...body.map(line)].join('\n');
}

/** Heading levels: the report's title at `level`, sections one below, captioned tables two below. */
const heading = (level: number, text: string) => `${'#'.repeat(Math.min(6, level))} ${markdownText(text)}`;

/** A table under a section (`###` caption); renderMarkdown places tables at other levels. */
export function renderTable(t: Table): string {
  return tableAt(t, 3);
}

function tableAt(t: Table, level: number): string {
  const parts: string[] = [];
  if (t.caption) parts.push(heading(level, t.caption));
  if (t.figures) parts.push(`_${markdownText(t.figures)}_`);
  const shown = t.display && t.rows.length > t.display.maxRows ? t.rows.slice(0, t.display.maxRows) : t.rows;
  if (t.rows.length === 0) parts.push(markdownText(t.empty ?? '_No rows._'));
  else {
    parts.push(
      pipeTable(
        t.columns.map((c) => markdownText(c.header)),
        shown.map((r) => r.map((c) => markdownText(cellText(c)))),
        t.columns.map((c) => c.align),
      ),
    );
  }
  if (shown.length < t.rows.length) parts.push(`_${shown.length} of ${t.rows.length} rows shown; ${markdownText(t.display!.rest)}._`);
  return parts.join('\n\n');
}

/** A section of a report with a `#` title (`##` heading). */
export function renderSection(s: Section): string {
  return sectionAt(s, 2);
}

function sectionAt(s: Section, level: number): string {
  const parts = [...s.notes.map(markdownText), ...s.tables.map((t) => tableAt(t, level + 1))];
  if (s.bullets?.length) parts.push(s.bullets.map((b) => `- ${markdownText(b)}`).join('\n'));
  if (s.footnotes?.length) parts.push(...s.footnotes.map(markdownText));
  return [heading(level, s.heading), ...parts].join('\n\n');
}

export interface MarkdownOptions {
  /**
   * Level of the title's heading (1: `#`). A report written into a larger document (a CI step
   * summary, where the job's own headings are above it) starts at 2; its sections and tables
   * follow one and two levels below, so the outline never skips a level.
   */
  headingLevel?: number;
}

export function renderMarkdown(report: Report, options: MarkdownOptions = {}): string {
  const level = options.headingLevel ?? 1;
  const blocks = [heading(level, report.title)];
  if (report.facts.length) blocks.push(report.facts.map((f) => `- ${markdownText(f)}`).join('\n'));
  for (const t of report.tables ?? []) blocks.push(tableAt(t, level + 1));
  blocks.push(...report.notes.map(markdownText));
  blocks.push(...report.sections.map((s) => sectionAt(s, level + 1)));
  // <sub> is inline HTML around escaped text: small type on GitHub, nothing a result file can open.
  blocks.push(...(report.smallPrint ?? []).map((p) => `<sub>${markdownText(p)}</sub>`));
  return `${blocks.join('\n\n')}\n`;
}
