/** The HTML table renderer's folding: every row stays in the page, the rest behind a <details>. */
import { describe, expect, it } from 'vitest';
import { renderHtmlTable } from '../../reporters/render/html.ts';
import { cell, columns, type Table } from '../../reporters/report-model.ts';

const table: Table = {
  id: 'runs',
  columns: columns([['Run', 'left'], ['Value', 'right']]),
  rows: Array.from({ length: 7 }, (_, i) => [cell(`run-${i}`), cell(String(i * 10), { value: i * 10 })]),
};

describe('an HTML table folded after n rows', () => {
  it('shows the first rows and keeps the rest, in order, in a collapsed details with the same header', () => {
    const html = renderHtmlTable(table, { foldAfter: 3, rowAttributes: (i) => ({ 'data-row': String(i) }), columnAttributes: (i) => (i === 1 ? { 'data-f-board': 'b' } : undefined) });
    const [shown, folded] = html.split('<details>');
    expect(shown!.match(/<tr data-row/g)).toHaveLength(3);
    expect(folded).toMatch(/^<summary>4 more rows \(7 in all\)<\/summary><table data-table="runs" data-folded="">/);
    expect([...folded!.matchAll(/data-row="(\d+)"/g)].map((m) => m[1])).toEqual(['3', '4', '5', '6']);
    expect(folded).toContain('<th class="right" data-f-board="b">Value</th>');
    expect(folded).not.toContain('<details>');
  });

  it('does not fold a table that fits', () => {
    expect(renderHtmlTable(table, { foldAfter: 7 })).not.toContain('<details>');
    expect(renderHtmlTable(table).match(/<tr>/g)).toHaveLength(1 + 7);
  });
});
