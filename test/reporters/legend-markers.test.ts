/**
 * Issue 24: every marker a table prints is defined in the legend on the same page, one marker per
 * meaning. Checked on report.md and `bench publish --format md` of every stored real result,
 * the llama.cpp image run among them (its binding was built without the machine's SIMD, so its
 * figures carry the no-SIMD flag, which used to print as the catch-all `(!)`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkResult } from '../../harness/result-schema.ts';
import { collectRuns } from '../../publish/collect.ts';
import { DEFAULT_SITE_OPTIONS } from '../../publish/site-model.ts';
import { siteMarkdown } from '../../publish/write-site.ts';
import { buildReport } from '../../reporters/build-report.ts';
import { MARKERS } from '../../reporters/markers.ts';
import { renderMarkdown } from '../../reporters/render/markdown.ts';

const dir = join(import.meta.dirname, '../fixtures/reports');
const FIXTURES = ['ort-tiny', 'axera-subgraph', 'axera-e2e', 'endpoint', 'llamacpp-images'];
const file = (name: string) => join(dir, `${name}.result.json`);

/** The `~word` and `(!)` markers in the table rows of a Markdown page, and the legend's bullets. */
function markersOf(md: string): { used: Set<string>; legend: Set<string> } {
  const [body, legendPart = ''] = md.split(/^## Legend$/m);
  const used = new Set<string>();
  for (const line of body!.split('\n').filter((l) => l.startsWith('|'))) {
    for (const m of line.matchAll(/(?<![\w~])~[a-z][a-z-]*|\(!\)/g)) used.add(m[0]);
  }
  const legend = new Set([...legendPart.matchAll(/^- `([^`]+)`:/gm)].map((m) => m[1]!));
  return { used, legend };
}

describe('every marker a page prints is in its legend', () => {
  it.each(FIXTURES)('%s: report.md', (name) => {
    const md = renderMarkdown(buildReport(checkResult(JSON.parse(readFileSync(file(name), 'utf8')), name)));
    const { used, legend } = markersOf(md);
    expect(legend).toEqual(new Set(Object.values(MARKERS).map((m) => m.text)));
    for (const m of used) expect(legend, `${name}: ${m}`).toContain(m);
  });

  it('the llama.cpp cell built without SIMD is marked ~no-simd (not the catch-all (!)) in report.md and in published Markdown', () => {
    const result = checkResult(JSON.parse(readFileSync(file('llamacpp-images'), 'utf8')), 'llamacpp-images');
    const noSimd = result.cells.find((c) => c.flags?.some((f) => f.kind === 'no-simd'))!;
    expect(noSimd.id).toBe('runner=llamacpp,images=1,prefill=16,precision=int8');
    const report = renderMarkdown(buildReport(result));
    const published = siteMarkdown(collectRuns([file('llamacpp-images')]), DEFAULT_SITE_OPTIONS);
    for (const md of [report, published]) {
      const { used, legend } = markersOf(md);
      expect(used).toContain('~no-simd');
      expect(used).not.toContain('(!)');
      for (const m of used) expect(legend).toContain(m);
    }
    // Only that cell's figures: the ORT cell of the same run was built for this CPU.
    const rows = report.split('\n').filter((l) => l.startsWith('| ') && l.includes('~no-simd'));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((l) => !l.includes('runner=ort'))).toBe(true);
  });
});
