/**
 * A result merged from shards run on several boards (issue 28) shows which board measured each
 * cell: a Board column in report.md's tables where the boards differ, the shards in the header,
 * and the one board in the header when every cell ran on it.
 */
import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../analysis/compare-runs.ts';
import { mergeShards } from '../../analysis/merge-shards.ts';
import { formatComparisonMarkdown } from '../../reporters/compare/markdown.ts';
import { entryCell } from '../../publish/site-model.ts';
import { boardCells, makeResult } from '../compare/make-result.ts';
import type { RunResult } from '../../core/result-types.ts';
import { buildReport } from '../../reporters/build-report.ts';
import { renderMarkdown } from '../../reporters/render/markdown.ts';
import type { Report, Table } from '../../reporters/report-model.ts';
import { inputs, shardResults } from '../helpers/shard-results.ts';

const tables = (report: Report) => report.sections.flatMap((s) => s.tables);
const column = (t: Table, header: string) => t.columns.findIndex((c) => c.header === header);

describe('report of a merged result: the board of each cell', () => {
  it('adds a Board column to every table of cells, each row naming the board that measured it', () => {
    const shards = shardResults(2);
    const merged = mergeShards(inputs(shards)).result;
    const boardOf = new Map(shards.flatMap((s) => s.cells.map((c) => [c.id, s.shard!.board])));
    // Both boards measured something: the column is there.
    expect(new Set(boardOf.values())).toEqual(new Set(['orin-01', 'orin-02']));
    const report = buildReport(merged);

    const summaries = tables(report).filter((t) => t.id.startsWith('summary-'));
    expect(summaries.length).toBeGreaterThan(0);
    for (const t of summaries) {
      const b = column(t, 'Board');
      expect(b, t.caption).toBeGreaterThan(0);
      // A summary row is one cell: its images and precision (the caption) name it.
      for (const row of t.rows) {
        const id = `images=${row[0]!.text},prefill=128,precision=${t.caption!.split(',')[0]}`;
        expect(row[b]!.text, id).toBe(boardOf.get(id));
      }
    }
    const cellTables = tables(report).filter((t) => t.columns[0]?.header === 'Cell');
    expect(cellTables.map((t) => t.id)).toEqual(expect.arrayContaining(['statistics', 'ttft-shares', 'subgraphs']));
    for (const t of cellTables) {
      expect(column(t, 'Board'), t.id).toBe(1);
      for (const row of t.rows) expect(row[1]!.text, `${t.id} ${row[0]!.text}`).toBe(boardOf.get(row[0]!.text));
    }

    const md = renderMarkdown(report);
    expect(md).toMatch(/Merged from 2 of 2 shard\(s\) of plan [0-9a-f]{20} \(bench merge\): 1\/2 on orin-01 \(host orin-01, 2 cell\(s\), complete\); 2\/2 on orin-02 \(host orin-02, 2 cell\(s\), complete\); the Board column/);
    expect(md).toMatch(/\| Cell +\| Board +\| Metric/);
  });

  it('one board for every cell: no column, the board named once in the header; an unmerged result is as before', () => {
    // A shard lost: the merged result's cells all ran on the board of shard 1.
    const shards = shardResults(2);
    const partial = mergeShards(inputs([shards[0]!])).result;
    const md = renderMarkdown(buildReport(partial));
    expect(md).toMatch(/Merged from 1 of 2 shard\(s\) .*; MISSING shard\(s\) 2\/2; every cell ran on board orin-01/);
    expect(tables(buildReport(partial)).some((t) => column(t, 'Board') >= 0)).toBe(false);

    const single: RunResult = structuredClone(shards[1]!);
    delete single.shard;
    const plain = buildReport(single);
    expect(tables(plain).some((t) => column(t, 'Board') >= 0)).toBe(false);
    expect(renderMarkdown(plain)).not.toMatch(/Merged from|Shard \d/);
    // A shard's own report says which shard and board it is.
    expect(renderMarkdown(buildReport(shards[1]!))).toMatch(/Shard 2\/2 of plan [0-9a-f]{20}, on board orin-02: 2 of the plan's 4 cell\(s\)/);
  });

  it('a board label from a result file cannot break a table or the terminal', () => {
    const shards = shardResults(2);
    shards[1]!.shard!.board = 'orin|02\u001b[31m\nx';
    const md = renderMarkdown(buildReport(mergeShards(inputs(shards)).result));
    expect(md).not.toContain('\u001b');
    expect(md).toContain('orin\\|02 x');
  });

  it('bench compare: each row names the boards that measured it, on either side', () => {
    const base = mergeShards(inputs(shardResults(2, { seed: 1 }))).result;
    // The candidate's plan dealt the cells to other boards (its shards' labels swapped).
    const candShards = shardResults(2, { seed: 2 });
    candShards[0]!.shard!.board = 'orin-02';
    candShards[1]!.shard!.board = 'orin-01';
    const cand = mergeShards(inputs(candShards)).result;
    const c = compareRuns(base, cand, { thresholdPct: 5 });
    expect(c.base.cellBoards).toEqual(Object.fromEntries(base.cells.map((x) => [x.id, x.board])));
    const md = formatComparisonMarkdown(c);
    for (const x of base.cells) {
      const other = cand.cells.find((y) => y.id === x.id)!.board;
      expect(md, x.id).toMatch(new RegExp(`\\| ${x.id} +\\| ${x.board} / ${other} +\\|`));
    }
    // Against an unsharded run of one board: that side names its target.
    const single = makeResult({ seed: 3, cells: boardCells(), target: 'local' });
    const vsSingle = formatComparisonMarkdown(compareRuns(single, cand, { thresholdPct: 5 }));
    expect(vsSingle).toMatch(new RegExp(`\\| ${cand.cells[0]!.id} +\\| local / ${cand.cells[0]!.board} +\\|`));
    // Two runs of one board each: no Board column.
    expect(formatComparisonMarkdown(compareRuns(single, single, { thresholdPct: 5 }))).not.toContain('Board (base / cand)');
  });

  it('the site: a figure of a merged run says which board measured it', () => {
    const merged = mergeShards(inputs(shardResults(2))).result;
    for (const c of merged.cells) {
      const figure = entryCell({ run: { result: merged, file: 'merged/result.json', slug: 'merged' }, cell: c, cellId: c.id }, 'ttft_ms', 0);
      expect(figure.note).toContain(`measured on board ${c.board}, one shard of a merged run`);
    }
  });
});
