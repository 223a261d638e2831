/** A report table as CSV (RFC 4180): every row, each cell's text as printed. */
import type { Table } from '../report-model.ts';

const quote = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function renderCsv(t: Table): string {
  const lines = [t.columns.map((c) => quote(c.header)).join(',')];
  for (const row of t.rows) lines.push(row.map((c) => quote(c.text)).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
