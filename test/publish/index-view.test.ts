/**
 * The index is built from runs trimmed to what it reads (publish/site-model.ts indexView), which
 * is what worker processes hand back: it must be the same index as from the full runs, so
 * trimming can never change a published figure, flag or provenance gap.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AccuracyCheck } from '../../core/runner.ts';
import type { CellProbeRecord, RunResult } from '../../core/result-types.ts';
import { DEFAULT_SITE_OPTIONS, indexView, siteIndex, type PublishedRun, type SiteOptions } from '../../publish/site-model.ts';

const fixtures = join(import.meta.dirname, '../fixtures/reports');
const read = (name: string): RunResult => JSON.parse(readFileSync(join(fixtures, `${name}.result.json`), 'utf8')) as RunResult;

function runs(): PublishedRun[] {
  const list = ['ort-tiny', 'axera-subgraph', 'axera-e2e', 'endpoint'].map((name) => ({ result: read(name), file: `${name}.json`, slug: name }));
  // One cell measured power (the provenance gap "power measurement" depends on it) and one
  // quantised cell failed the accuracy gate (the index marks its figure).
  const tiny = list[0]!.result;
  const probes = { runs: [], power: { basis: 'VDD_IN rail', points: 12, baseline: null, warnings: [] }, thermal: { throttled: false }, samples: [{ tMs: 1, values: { power_mw: 5000 } }], baselineWindow: null };
  tiny.cells[0]!.probes = probes as unknown as CellProbeRecord;
  const accuracy = { reference: 'fp32', precision: 'int8', scale: 'tiny', tokens: 8, cosine: 0.2, cosineMin: 0.1, top1: 0.1, imageCosine: null, passed: false, failures: ['logit cosine 0.200 < 0.99'] };
  tiny.cells[1]!.accuracy = accuracy as unknown as AccuracyCheck;
  return list;
}

describe('the index from trimmed runs', () => {
  for (const [name, options] of [
    ['default tables', DEFAULT_SITE_OPTIONS],
    ['other rows, columns and metrics', { rows: ['board', 'precision'], columns: ['suite', 'date'], metrics: ['decode_tokens_per_s', 'e2e_ms', 'peak_rss_mb'] }],
  ] as Array<[string, SiteOptions]>) {
    it(`is the index of the full runs (${name})`, () => {
      const full = runs();
      const trimmed = runs().map((r) => ({ ...r, result: indexView(r.result, options.metrics) }));
      expect(trimmed[0]!.result.cells[0]!.iterations.every((it) => it.events.length === 0)).toBe(true);
      expect(JSON.stringify(siteIndex(trimmed, options).report)).toBe(JSON.stringify(siteIndex(full, options).report));
    });
  }

  it('marks a figure of a model that failed the accuracy gate', () => {
    const { report } = siteIndex(runs(), DEFAULT_SITE_OPTIONS);
    const ttft = report.sections.find((s) => s.id === 'compare-ttft_ms')!.tables[0]!;
    const marked = ttft.rows.flat().filter((c) => c.text.includes('WRONG OUTPUT'));
    expect(marked).toHaveLength(1);
    expect(marked[0]!.text).toContain('WRONG OUTPUT (logit cosine 0.200 < 0.99)');
    expect(marked[0]!.status).toBe('flagged');
    expect(marked[0]!.note).toContain('numerically wrong vs fp32 (logit cosine 0.200 < 0.99)');
  });
});
