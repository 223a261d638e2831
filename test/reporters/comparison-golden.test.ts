/**
 * The Markdown of `bench compare`, `bench history check` / `show` and `bench report --compare-by`,
 * regenerated from seeded synthetic runs (bench/synthetic/make-result.ts: raw events, log-normal
 * noise) and a real SQLite history file, against the files in test/fixtures/golden/. The files
 * were first written by the formatters that built their own Markdown, before these outputs went
 * through the report model (reporters/report-model.ts + render/markdown.ts); a change to them is
 * a change of what a user reads and is reviewed as one (`npx vitest run -u` rewrites them).
 *
 * Changes made when they moved onto the report model (the commit after the files were written):
 * - every table's delimiter row states its alignment (the run tables had none: `| --- |` is now
 *   `| :-- |`), as every model table does; the text of every cell is the same;
 * - history check: the note that the suite definition changed (and the allowed differences) sit
 *   under the gate line with the other facts of the whole check, not inside "Gate findings"
 *   (where they appeared only when there were findings);
 * - the small print (method) is escaped like every other string (`&` as `\&`, `<=` as `\<=`;
 *   it reads the same once rendered);
 * - `bench report --compare-by`: its metric tables (`###`) were under the `#` title with no `##`
 *   between; they are now in a "Medians by <axis>" section, and the environment table has a
 *   section of its own ("What differs between the columns' environments") after the notes.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../analysis/compare-runs.ts';
import { comparisonStepSummary, formatComparisonMarkdown } from '../../reporters/compare/markdown.ts';
import { comparisonTables } from '../../reporters/compare/table.ts';
import { checkRun } from '../../history/check.ts';
import { recordFromResult } from '../../history/record.ts';
import { formatHistoryMarkdown, historyStepSummary } from '../../history/render.ts';
import { HistoryStore } from '../../history/store.ts';
import { formatTrendMarkdown, seriesTrend } from '../../history/trend.ts';
import { markdownCode, markdownText, renderMarkdown } from '../../reporters/render/markdown.ts';
import { inlineMarkdown } from '../../reporters/render/html.ts';
import { codeSpan, columns } from '../../reporters/report-model.ts';
import { boardCells, cellId, makeResult, type CellSpec } from '../compare/make-result.ts';
import { makeRun, SLOW_CELL } from '../history/make-history.ts';
import { tempDir } from '../helpers/tmp.ts';

const golden = (name: string) => join(import.meta.dirname, '../fixtures/golden', name);
const SLOW = 'images=1,prefill=128,precision=w8a16';
const ODD: CellSpec = { images: 1, prefill: 64, precision: 'q4&<k>"m"|\'s\'', encodePerImage: 300, prefillMs: 200, step: 50 };

/** test/compare/formats.test.ts's comparison: regressions, a newly failing cell, too few iterations, an allowed difference. */
function planted() {
  const cells = [...boardCells(), ODD];
  const base = makeResult({ seed: 11, cells, cv: 0.04, threads: 4 });
  const cand = makeResult({ seed: 12, cells: cells.map((c) => (cellId(c) === SLOW || c === ODD ? { ...c, factor: 1.1 } : c)), cv: 0.04, threads: 2, versions: { 'vlm-edge-bench': '0.1.1', node: '20.19.0', 'onnxruntime-node': '1.30.0' } });
  cand.cells[2] = { ...cand.cells[2]!, status: 'failed', error: 'decode timed out <after 30 s> & gave up', iterations: [], metrics: {} };
  for (const r of [base, cand]) r.cells[3] = { ...r.cells[3]!, iterations: r.cells[3]!.iterations.slice(0, 4) };
  return { base, cand, comparison: compareRuns(base, cand, { thresholdPct: 5, baseSource: 'base.json', candSource: 'cand.json', allowDifferences: new Set(['threads']) }) };
}

/** Hostile strings from result files: a precision with a backtick, a link and an image; a target with a tag; an error with a heading. */
function hostile() {
  const cells = [...boardCells(), { images: 1, prefill: 64, precision: 'q4 ![x](http://e/x.png) ` [a](javascript:alert(1))', encodePerImage: 300, prefillMs: 200, step: 50 }];
  const base = makeResult({ seed: 1, cells, cv: 0.04, threads: 4, hostname: 'h|1' });
  const cand = makeResult({ seed: 2, cells: cells.slice(1), cv: 0.04, threads: 8 });
  base.target = cand.target = 'board <script>x</script>';
  cand.cells[1] = { ...cand.cells[1]!, status: 'failed', error: '# heading\n> quote & <b>', iterations: [], metrics: {} };
  return compareRuns(base, cand, { thresholdPct: 5, baseSource: 'x](y).json', candSource: 'cand.json' });
}

/** A comparison whose metric tables pass 200 rows, the size where tables are written unpadded. */
function large() {
  const cells: CellSpec[] = [];
  for (let i = 0; i < 210; i++) cells.push({ images: i % 3, prefill: 32 * (1 + (i % 70)), precision: `p${Math.floor(i / 70)}`, encodePerImage: 300, prefillMs: 100 + i, step: 50 });
  const base = makeResult({ seed: 21, cells, cv: 0.04, iterations: 6 });
  const cand = makeResult({ seed: 22, cells: cells.map((c, i) => (i % 50 === 0 ? { ...c, factor: 1.2 } : c)), cv: 0.04, iterations: 6 });
  return compareRuns(base, cand, { thresholdPct: 5 });
}

describe('comparison and history Markdown (golden files)', () => {
  const dir = tempDir('bench-golden-');

  it('bench compare: full, changed rows only, step summary', async () => {
    const { comparison } = planted();
    await expect(formatComparisonMarkdown(comparison)).toMatchFileSnapshot(golden('compare-planted.md'));
    await expect(formatComparisonMarkdown(comparison, { onlyChanged: true })).toMatchFileSnapshot(golden('compare-planted-changed.md'));
    await expect(comparisonStepSummary(comparison)).toMatchFileSnapshot(golden('compare-planted-summary.md'));
  });

  it('bench compare: hostile strings from result files', async () => {
    await expect(formatComparisonMarkdown(hostile())).toMatchFileSnapshot(golden('compare-hostile.md'));
  });

  it('bench compare: a table over 200 rows', async () => {
    await expect(formatComparisonMarkdown(large())).toMatchFileSnapshot(golden('compare-large.md'));
  });

  it('bench report --compare-by target', async () => {
    const { base, cand } = planted();
    cand.target = 'orin-02';
    await expect(comparisonTables([base, cand], 'target')).toMatchFileSnapshot(golden('compare-by-target.md'));
  });

  it('bench history check and show', async () => {
    const store = HistoryStore.open(join(dir, 'h.sqlite'), { create: true });
    try {
      const spec = { runs: 24, shiftAt: 16, factor: 1.15 };
      for (let i = 0; i < 23; i++) store.add(recordFromResult(makeRun(i, spec)), new Date(Date.UTC(2026, 10, 30)));
      const newest = makeRun(23, spec);
      const failed = newest.cells.find((c) => c.id !== SLOW_CELL)!;
      failed.status = 'failed';
      failed.error = 'vision encoder: out of CMM memory | <retry>';
      // The suite definition changed since the stored runs (a note of its own in the check).
      newest.suite.hash = 'suitehash0002';
      const check = checkRun(store, recordFromResult(newest), { thresholdPct: 5 });
      check.db = 'history.sqlite';
      await expect(formatHistoryMarkdown(check)).toMatchFileSnapshot(golden('history-check.md'));
      await expect(formatHistoryMarkdown(check, { onlyChanged: true })).toMatchFileSnapshot(golden('history-check-changed.md'));
      await expect(historyStepSummary(check)).toMatchFileSnapshot(golden('history-check-summary.md'));
      const series = store.series({ suite: 'internvl-board', board: 'orin-01' }).filter((s) => s.metric === 'ttft_ms' || s.metric === 'prefill_ms');
      await expect(formatTrendMarkdown(series.map((s) => seriesTrend(store, s, 200)), 'History: internvl-board on orin-01')).toMatchFileSnapshot(golden('history-show.md'));
    } finally {
      store.close();
    }
  });
});

describe('the report model for comparisons', () => {
  it('nests headings under the title at any level, never skipping one', () => {
    const table = { id: 't', caption: 'Captioned', columns: columns([['A', 'left']]), rows: [[{ text: '1' }]] };
    const report = { title: 'T', facts: [], tables: [{ ...table, caption: 'Head table' }], notes: [], sections: [{ id: 's', heading: 'S', notes: [], tables: [table], charts: [], footnotes: ['after'] }], charts: [], smallPrint: ['Method: x & y'] };
    const headings = (md: string) => md.split('\n').filter((l) => l.startsWith('#'));
    expect(headings(renderMarkdown(report))).toEqual(['# T', '## Head table', '## S', '### Captioned']);
    const nested = renderMarkdown(report, { headingLevel: 2 });
    expect(headings(nested)).toEqual(['## T', '### Head table', '### S', '#### Captioned']);
    expect(nested).toMatch(/\| 1 +\|\n\nafter\n\n<sub>Method: x \\& y<\/sub>\n$/);
  });

  it('keeps a code span whole when the text holds backticks, in Markdown and in HTML', () => {
    const id = 'q4 `x` | <img src=x>';
    expect(codeSpan(id)).toBe('``q4 `x` | <img src=x>``');
    // The renderer reads the two-backtick span as one span: only its pipe is escaped, as markdownCode does.
    expect(markdownText(`cell ${codeSpan(id)}: failed <b>`)).toBe(`cell ${markdownCode(id)}: failed \\<b>`);
    expect(inlineMarkdown(codeSpan(id))).toBe('<code>q4 `x` | &lt;img src=x&gt;</code>');
    // An opening run with no closing run of its length is text: every backtick escaped.
    expect(markdownText('``a` b')).toBe('\\`\\`a\\` b');
  });
});
