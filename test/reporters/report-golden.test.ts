/**
 * report.md regenerated from stored result.json files (real runs: ORT tiny adaptive, shuffled and
 * profiled with a recorded roofline; Axera subgraph and end-to-end on a fake board; an endpoint
 * on a loopback server). `<name>.report-before.md` is what the code before the report model
 * wrote; `<name>.report.md` is what it writes now. The second must equal the first except for
 * the intentional changes listed below, each a place where the old text was wrong or silent.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkResult } from '../../harness/result-schema.ts';
import { buildReport } from '../../reporters/build-report.ts';
import { renderMarkdown } from '../../reporters/render/markdown.ts';

const dir = join(import.meta.dirname, '../fixtures/reports');
const FIXTURES = ['ort-tiny', 'axera-subgraph', 'axera-e2e', 'endpoint'];

interface IntentionalChange {
  why: string;
  /** Old lines this change rewrites or removes. */
  old?: RegExp;
  /** New lines this change adds. */
  added?: RegExp;
  /** Whole sections (by heading) whose body this change rewrites. */
  sections?: string[];
  /** The fixtures it applies to (all when absent). */
  fixtures?: string[];
}

const CHANGES: IntentionalChange[] = [
  { why: 'the calibration line warns when the calibration was measured on a busy machine (its bounds read slow)', old: /^Calibration: /, added: /^Calibration: .*\*\*Warning:\*\* measured on a busy machine/ },
  { why: 'the Options line states the measured iteration count (adaptive), the adaptive target, the order and seed, the profiler', old: /^- Options: /, added: /^- Options: /},
  { why: 'the model line no longer prints "? on disk: weights from files ()" when nothing was hashed', old: /^- .*(\? on disk|weights from files \(\))/, added: /^- .*weights not hashed/ },
  { why: 'an endpoint run says the host is the benchmarking client', old: /^- Target: /, added: /^- Target: .*the benchmarking client/, fixtures: ['endpoint'] },
  { why: 'the intro said "All figures are medians of measured iterations" also for composed figures; it now says which', old: /^All figures are medians/, added: /^(Figures are measured|Every timing below is COMPOSED|Some cells are COMPOSED|Every timing below is TOOL-REPORTED)/ },
  { why: 'every table states what its figures are (measured or composed, medians of how many)', added: /^_.*_$/ },
  { why: 'per-subgraph shares are of the sum of the medians, with the time outside any graph as a row, so they add up to 100% (they summed to 109.9%)', sections: ['Per-subgraph latency'], added: /\(outside any graph\)/ },
  { why: 'share of TTFT from medians like every other table (it used means), the other column never negative', sections: ['Share of TTFT by phase'] },
  { why: 'Statistics lists every metric the cell has (chunk ITL, throughput, goodput were missing), a 95% CI that never goes below 0, and outliers', sections: ['Statistics'] },
  { why: 'the Axera summary has decode figures (composed when the cell did not decode) and composed columns beside measured ones in end-to-end mode; prompt tokens from the prompt geometry instead of "?"', sections: ['Summary'], fixtures: ['axera-subgraph', 'axera-e2e', 'endpoint'] },
  { why: 'an endpoint run gets its own layout: no ImageEncoder or Prefill TTFT column, prompt tokens shown', old: /^## Summary \(Axera table layout\)/, added: /^## Summary$/, fixtures: ['endpoint'] },
  { why: 'new sections: published vs this run (Axera), noise and flags, throughput/goodput/chunk ITL', sections: ['Published vs', 'Noise and flags', 'Throughput, goodput and chunk ITL'] },
  { why: 'the operator table note moved its "what the figures are" part into the table\'s figures line', old: /^Kernel time summed over all iterations/, added: /^Profiling slows a run/ },
  {
    why: 'roofline: compute bounds at the fastest calibrated kernel of each precision, named; each runtime\'s own kernel ceiling for every phase, not decode alone; a bound a measurement beats beyond its interval is called wrong',
    old: /^(Bound = max\(operations|\| Cell .*\| Decode kernel ceiling \(% reached\) \|$)/,
    added: /^(Bound = max\(operations|\| Cell .*\| Runtime ceiling \(% of it reached\) \|$)/,
  },
  { why: 'an endpoint run has no local-CPU roofline', sections: ['Roofline: achieved % of hardware bound'], fixtures: ['endpoint'] },
  { why: 'an endpoint run has no per-subgraph and share-of-TTFT tables (a server reports neither)', old: /^## (Per-subgraph latency|Share of TTFT by phase)$/, fixtures: ['endpoint'] },
  // Issue 24 (tables): honest intervals, one legend for every marker, the accuracy verdict, escaped text.
  { why: 'a run in which no cell was checked against fp32 says so among the facts (not checked is not a pass)', added: /^- Accuracy vs fp32: not checked/ },
  { why: 'the noise note points to the legend instead of listing some of the markers', old: /^Figures the run flagged are marked in every table/, added: /^Figures the run flagged are marked in every table \(the legend/ },
  { why: 'a legend defines every marker the tables print, and what the intervals are', sections: ['Legend'] },
  { why: 'figures resting on fewer than 6 values are marked ~few (no interval of the median exists for them)', added: / ~few /, fixtures: ['axera-subgraph', 'axera-e2e', 'endpoint'] },
];

/** Lines of a document, each tagged with the `##` section it is in. */
function sectioned(text: string): Array<{ line: string; section: string }> {
  let section = '';
  return text.split('\n').map((line) => {
    if (line.startsWith('## ')) section = line.slice(3);
    return { line, section };
  });
}

/** Problems with new vs old beyond the listed changes; [] when there are none. */
function unlistedDifferences(fixture: string, before: string, after: string): string[] {
  const changes = CHANGES.filter((c) => !c.fixtures || c.fixtures.includes(fixture));
  const inRewritten = (section: string): boolean => changes.some((c) => c.sections?.some((s) => section.startsWith(s)));
  const problems: string[] = [];
  const oldLines = sectioned(before);
  const newLines = sectioned(after);
  const oldSet = new Set(oldLines.map((l) => l.line));
  // Kept old lines appear in the new text in the same order.
  let at = 0;
  for (const { line, section } of oldLines) {
    if (inRewritten(section) && !line.startsWith('## ')) continue;
    if (changes.some((c) => c.old?.test(line))) continue;
    const found = newLines.findIndex((l, i) => i >= at && l.line === line);
    if (found < 0) problems.push(`old line missing or out of order: ${line}`);
    else at = found + 1;
  }
  for (const { line, section } of newLines) {
    if (oldSet.has(line) || line === '') continue;
    if (inRewritten(section)) continue;
    if (changes.some((c) => c.added?.test(line))) continue;
    problems.push(`new line not among the intentional changes: ${line}`);
  }
  return problems;
}

describe('report.md from a stored result.json', () => {
  for (const name of FIXTURES) {
    const result = () => checkResult(JSON.parse(readFileSync(join(dir, `${name}.result.json`), 'utf8')), name);

    it(`${name}: the text is the stored report.md`, () => {
      expect(renderMarkdown(buildReport(result()))).toBe(readFileSync(join(dir, `${name}.report.md`), 'utf8'));
    });

    it(`${name}: differs from the old report only by the listed intentional changes`, () => {
      const before = readFileSync(join(dir, `${name}.report-before.md`), 'utf8');
      expect(unlistedDifferences(name, before, renderMarkdown(buildReport(result())))).toEqual([]);
    });
  }

  it('the check catches an unlisted change', () => {
    const before = readFileSync(join(dir, 'ort-tiny.report-before.md'), 'utf8');
    const after = renderMarkdown(buildReport(checkResult(JSON.parse(readFileSync(join(dir, 'ort-tiny.result.json'), 'utf8')), 'ort-tiny')));
    expect(unlistedDifferences('ort-tiny', before, after)).toEqual([]);
    // A column renamed in the summary (not rewritten for this fixture): the header line is both missing and new.
    expect(unlistedDifferences('ort-tiny', before, after.replace(/\| Image num \|/g, '| Images    |'))).toHaveLength(4);
    expect(unlistedDifferences('ort-tiny', before, after.replace(/^- Versions: .*$/m, '- Versions: none'))).toHaveLength(2);
    // A wrong figure in the roofline table.
    expect(unlistedDifferences('ort-tiny', before, after.replace('4.535 G op/s', '4.536 G op/s'))).toHaveLength(2);
  });
});
