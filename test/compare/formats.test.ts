import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../analysis/compare-runs.ts';
import { formatComparisonJson } from '../../reporters/compare/json.ts';
import { formatComparisonJunit } from '../../reporters/compare/junit.ts';
import { formatComparisonMarkdown } from '../../reporters/compare/markdown.ts';
import type { Comparison } from '../../analysis/comparison-types.ts';
import { boardCells, cellId, makeResult, type CellSpec } from './make-result.ts';
import { findAll, parseXml } from './xml-check.ts';

const SLOW = 'images=1,prefill=128,precision=w8a16';
// A precision label with every character XML and Markdown tables care about.
const ODD: CellSpec = { images: 1, prefill: 64, precision: 'q4&<k>"m"|\'s\'', encodePerImage: 300, prefillMs: 200, step: 50 };

function planted(): Comparison {
  const cells = [...boardCells(), ODD];
  const base = makeResult({ seed: 11, cells, cv: 0.04, threads: 4 });
  const cand = makeResult({ seed: 12, cells: cells.map((c) => (cellId(c) === SLOW || c === ODD ? { ...c, factor: 1.1 } : c)), cv: 0.04, threads: 2 });
  // One cell newly fails, one has too few iterations to judge.
  cand.cells[2] = { ...cand.cells[2]!, status: 'failed', error: 'decode timed out <after 30 s> & gave up', iterations: [], metrics: {} };
  for (const r of [base, cand]) r.cells[3] = { ...r.cells[3]!, iterations: r.cells[3]!.iterations.slice(0, 4) };
  // The runs differ in thread count, an identity field: allowed here, so the comparison is made and labelled.
  return compareRuns(base, cand, { thresholdPct: 5, baseSource: 'base.json', candSource: 'cand.json', allowDifferences: new Set(['threads']) });
}

describe('comparison formatters', () => {
  const c = planted();
  const oddId = cellId(ODD);

  it('has the planted regressions, failure and insufficient data', () => {
    expect(c.regressedCells).toEqual([SLOW, oddId]);
    expect(c.summary.regressions).toBe(8);
    expect(c.newlyFailedCells).toEqual(['images=0,prefill=128,precision=w4a16']);
    // images=1 w4a16 kept 3 measured iterations on each side (the first of 4 is a warm-up).
    expect(c.rows.filter((r) => r.verdict === 'insufficient data').map((r) => r.cellId)).toEqual(Array(4).fill('images=1,prefill=128,precision=w4a16'));
  });

  it('writes Markdown with the warnings on top and one table per metric', () => {
    const md = formatComparisonMarkdown(c);
    expect(md.indexOf('### Context warnings')).toBeGreaterThan(0);
    expect(md.indexOf('### Context warnings')).toBeLessThan(md.indexOf('### image_encode_ms'));
    // The gate line also names the row that moved past the threshold with too few iterations to judge.
    // Issue 24: every row that could not be judged is named, and the allowed difference is labelled.
    expect(md).toMatch(
      /\*\*FAIL: 8 regressions in 2 cells, 1 cell newly failing; also cannot judge: 4 gated metrics not judged \(e\.g\. .+: image\\_encode\\_ms not judged: 3 vs 3 iterations: .+\) \(threshold 5%, 99% confidence; compared across allowed configuration differences: threads \(base 4, candidate 2\)\)\*\*/,
    );
    expect(md).toContain('| threads        | 4    | 2         | allowed (--allow-difference) |');
    expect(md).toContain('- ⚠ **threads**: different thread count (options.threads): base 4, candidate 2');
    for (const m of ['image_encode_ms (ms, lower is better)', 'prefill_ms (ms, lower is better)', 'ttft_ms (ms, lower is better)', 'decode_tokens_per_s (tokens/s, higher is better)']) {
      expect(md).toContain(`### ${m}`);
    }
    const ttft = c.rows.find((r) => r.cellId === SLOW && r.metric === 'ttft_ms')!;
    const line = md.split('\n').find((l) => l.startsWith(`| ${SLOW}`) && l.includes(`${ttft.base.median!.toFixed(1)} ms`))!;
    expect(line).toContain(`${ttft.cand.median!.toFixed(1)} ms`);
    expect(line).toContain(`+${ttft.changePct!.toFixed(1)}%`);
    expect(line).toContain(`+${ttft.ciPct![0].toFixed(1)}% … +${ttft.ciPct![1].toFixed(1)}%`);
    expect(line).toContain('**slower: regression**');
    // The pipe inside the odd cell id is escaped so the row keeps its 7 columns.
    const odd = md.split('\n').find((l) => l.startsWith('| images=1,prefill=64'))!;
    expect(odd).toContain('q4&<k>"m"\\|\'s\'');
    expect(odd.split(/(?<!\\)\|/).length).toBe(9);
    expect(md).toContain('insufficient data (3 vs 3 iterations: no outcome can be significant at 99%; at least 5 per side are needed)');
    expect(md).toContain('- `images=0,prefill=128,precision=w4a16`: **newly failing** in the candidate run: decode timed out <after 30 s> & gave up');
  });

  it('leaves unchanged rows out of the compact Markdown', () => {
    const md = formatComparisonMarkdown(c, { onlyChanged: true });
    expect(md).not.toMatch(/\| no significant change \|/);
    expect(md).toMatch(/\d+ of \d+ cells with no significant change are not listed\./);
    expect(md).toContain('**slower: regression**');
  });

  it('writes JSON with the regressed cell ids and every row', () => {
    const back = JSON.parse(formatComparisonJson(c)) as Comparison;
    expect(back.format).toBe('vlm-edge-bench/comparison@1');
    expect(back.regressedCells).toEqual([SLOW, oddId]);
    expect(back.rows).toHaveLength(c.rows.length);
    expect(back.rows.find((r) => r.cellId === SLOW && r.metric === 'prefill_ms')!.ciPct).toEqual(c.rows.find((r) => r.cellId === SLOW && r.metric === 'prefill_ms')!.ciPct);
  });

  it('writes well-formed JUnit XML: one testcase per cell x metric, regressions as failures', () => {
    const xml = formatComparisonJunit(c);
    const root = parseXml(xml);
    expect(root.name).toBe('testsuites');
    const cases = findAll(root, 'testcase');
    const metricCases = cases.filter((t) => !t.attrs['classname']!.endsWith('.cell-status'));
    expect(metricCases).toHaveLength(c.rows.length);
    expect(findAll(root, 'failure')).toHaveLength(8);
    expect(root.attrs['failures']).toBe('8');
    // Issue 24: the 4 rows that could not be judged are errors (the gate cannot pass), no longer skipped.
    expect(root.attrs['errors']).toBe('5');
    expect(root.attrs['skipped']).toBe('0');
    expect(root.attrs['tests']).toBe(String(c.rows.length + 1));
    expect(findAll(root, 'property').some((p) => p.attrs['name'] === 'identity.allowed' && p.attrs['value']!.includes('threads (base 4, candidate 2)'))).toBe(true);
    // Per-suite counts add up to the totals.
    const suites = findAll(root, 'testsuite');
    expect(suites.map((s) => s.attrs['name'])).toEqual([
      'internvl-board: image_encode_ms',
      'internvl-board: prefill_ms',
      'internvl-board: ttft_ms',
      'internvl-board: decode_tokens_per_s',
      'internvl-board: cell status',
    ]);
    expect(suites.reduce((s, x) => s + Number(x.attrs['failures']), 0)).toBe(8);
    // Attribute escaping round-trips the odd cell id exactly.
    const odd = metricCases.filter((t) => t.attrs['name'] === oddId);
    expect(odd).toHaveLength(4);
    expect(odd.every((t) => t.children[0]!.name === 'failure')).toBe(true);
    const failed = cases.find((t) => t.attrs['classname'] === 'internvl-board.cell-status')!;
    expect(failed.children[0]!.name).toBe('error');
    expect(failed.children[0]!.attrs['message']).toBe('newly failing in the candidate run: decode timed out <after 30 s> & gave up');
    const props = findAll(root, 'property').filter((p) => p.attrs['name']!.startsWith('warning.'));
    expect(props.some((p) => p.attrs['value'] === 'different thread count (options.threads): base 4, candidate 2')).toBe(true);
  });

  it('rejects malformed XML in the checker itself', () => {
    expect(() => parseXml('<a><b></a></b>')).toThrow(/closes/);
    expect(() => parseXml('<a x="1 & 2"/>')).toThrow(/unescaped &/);
    expect(() => parseXml('<a/><b/>')).toThrow(/second root/);
  });
});
