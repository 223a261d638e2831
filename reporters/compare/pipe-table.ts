import { markdownTable } from 'markdown-table';

/** Above this many rows, tables are written unpadded: padding costs time and bytes and nobody reads 10,000 rows raw. */
const PADDED_ROWS = 200;

const DELIMITER: Record<'l' | 'r' | 'c', string> = { l: ':--', r: '--:', c: ':-:' };

/**
 * A Markdown pipe table: padded (readable in a terminal) when small, plain when large.
 * Cells must already be escaped for Markdown (a "|" inside a cell as "\|").
 */
export function pipeTable(rows: readonly (readonly string[])[], align: ReadonlyArray<'l' | 'r' | 'c'>): string {
  if (rows.length <= PADDED_ROWS + 1) return markdownTable(rows, { align: [...align] });
  const [header, ...body] = rows;
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  const delimiter = `| ${header!.map((_, i) => DELIMITER[align[i] ?? 'l']).join(' | ')} |`;
  return [line(header!), delimiter, ...body.map(line)].join('\n');
}
