/**
 * A figure's source per metric (core/figure-source.ts): a llama.cpp image cell measures TTFT,
 * TPOT and decode on the suite's clock but composes the image_encode / prefill split inside TTFT
 * (runners/llamacpp/image-pipeline.ts). The fixture is a real run (`runner: [ort, llamacpp]`,
 * tiny InternVL, 1 image, int8, 6 iterations, on the 2-vCPU dev VM under load): result.json,
 * report.md, `bench compare`, `bench report --compare-by` and the site model must each say which
 * figures are composed and which measured.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../core/result-types.ts';
import { declaredMetricSources, figureSourceDetail, figureSourceOf, metricFigureSource, metricSourcesSetting, METRIC_SOURCES_SETTING } from '../../core/figure-source.ts';
import { checkResult } from '../../harness/result-schema.ts';
import { compareRuns } from '../../analysis/compare-runs.ts';
import { buildReport } from '../../reporters/build-report.ts';
import { formatComparisonMarkdown } from '../../reporters/compare/markdown.ts';
import { comparisonTables } from '../../reporters/compare/table.ts';
import { fmt } from '../../reporters/format.ts';
import { renderMarkdown } from '../../reporters/render/markdown.ts';
import { DEFAULT_SITE_OPTIONS, indexView, siteIndex } from '../../publish/site-model.ts';

const fixture = (): RunResult => checkResult(JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/reports/llamacpp-images.result.json'), 'utf8')), 'llamacpp-images');
const LLAMA = 'runner=llamacpp,images=1,prefill=16,precision=int8';
const ORT = 'runner=ort,images=1,prefill=16,precision=int8';
const COMPOSED = ['preprocess_ms', 'image_encode_ms', 'image_encode_per_image_ms', 'prefill_ms', 'prefill_tokens_per_s'];
const MEASURED = ['ttft_ms', 'tpot_ms', 'decode_tokens_per_s', 'decode_ms', 'e2e_ms'];

/** Row `key` of the first table after `heading` in a Markdown text, as trimmed cells. */
function row(md: string, heading: string, key: string): string[] {
  const part = md.slice(md.indexOf(heading));
  const rows = part.split('\n').filter((l) => l.startsWith('|')).map((l) => l.split('|').slice(1, -1).map((s) => s.trim()));
  const keys = key.split(' | ');
  const found = rows.find((cells) => keys.every((k, i) => cells[i] === k));
  if (!found) throw new Error(`no row ${key} after ${heading}`);
  return found;
}

describe('figure source per metric', () => {
  it('result.json: the llamacpp image cell declares its composed figures; TTFT and TPOT stay measured; ORT is measured throughout', () => {
    const r = fixture();
    const llama = r.cells.find((c) => c.id === LLAMA)!;
    const ort = r.cells.find((c) => c.id === ORT)!;
    expect(llama.settings[METRIC_SOURCES_SETTING]).toBe('preprocess_ms=composed image_encode_ms=composed prefill_ms=composed');
    expect(figureSourceOf(llama.settings)).toBe('measured');
    for (const m of COMPOSED) expect([m, metricFigureSource(llama.settings, m)]).toEqual([m, 'composed']);
    for (const m of MEASURED) expect([m, metricFigureSource(llama.settings, m)]).toEqual([m, 'measured']);
    // Energy and power of a composed phase are read from its windows: composed too; of the request: measured.
    expect(metricFigureSource(llama.settings, 'energy_image_encode_net_j')).toBe('composed');
    expect(metricFigureSource(llama.settings, 'power_prefill_w')).toBe('composed');
    expect(metricFigureSource(llama.settings, 'energy_request_j')).toBe('measured');
    for (const m of [...COMPOSED, ...MEASURED]) expect(metricFigureSource(ort.settings, m)).toBe('measured');
    expect(figureSourceDetail(llama.settings, 'image_encode_ms')).toMatch(/^image_encode_ms composed: inside the measured time to first token, .*image_encode = time to first token - preprocess - prefill/);
    expect(figureSourceDetail(llama.settings, 'ttft_ms')).toBe("measured on the run's monotonic clock");
  });

  it('a declaration read from a result file is checked: junk entries are ignored, a cell source is never widened', () => {
    expect(metricSourcesSetting({ image_encode_ms: 'composed', ttft_ms: 'tool-reported' })).toBe('image_encode_ms=composed ttft_ms=tool-reported');
    expect(() => metricSourcesSetting({ 'a b=c': 'composed' })).toThrow(/not a metric name/);
    const settings = { [METRIC_SOURCES_SETTING]: 'image_encode_ms=invented <img>=composed prefill_ms=composed =measured' };
    expect([...declaredMetricSources(settings)]).toEqual([['prefill_ms', 'composed']]);
    expect(metricFigureSource(settings, 'image_encode_ms')).toBe('measured');
    // A composed (Axera) cell stays composed for every metric it does not declare otherwise.
    expect(metricFigureSource({ figureSource: 'composed' }, 'ttft_ms')).toBe('composed');
  });

  it('report.md: the composed figures carry the marker and the intro says how; TTFT and TPOT carry none', () => {
    const md = renderMarkdown(buildReport(fixture()));
    expect(md).toMatch(/Some figures are COMPOSED although their cell is measured \(marked "composed" where they appear\): in cell runner=llamacpp,images=1,prefill=16,precision=int8 preprocess_ms COMPOSED, image_encode_ms COMPOSED, image_encode_per_image_ms COMPOSED, prefill_ms COMPOSED, prefill_tokens_per_s COMPOSED \(inside the measured time to first token/);
    const [images, encode, prefill, ttft, tpot, tps] = row(md, '### int8, runner=llamacpp', '1');
    expect(images).toBe('1');
    expect(encode).toMatch(/^[\d.]+ ms composed/);
    expect(prefill).toMatch(/^[\d.]+ ms \(31 tokens\) composed/);
    for (const measured of [ttft, tpot, tps]) expect(measured).not.toContain('composed');
    expect(row(md, '### int8, runner=ort', '1').join(' ')).not.toContain('composed');
    // Statistics: composed per metric, measured beside it in the same cell.
    expect(row(md, '## Statistics', `${LLAMA} | image_encode_ms`)[4]).toMatch(/^[\d.]+ composed/);
    expect(row(md, '## Statistics', `${LLAMA} | ttft_ms`)[4]).not.toContain('composed');
    // Share of TTFT: the composed split leaves no measured "other".
    const shares = row(md, '## Share of TTFT', LLAMA);
    expect(shares.slice(2, 5).every((s) => s.endsWith('% composed'))).toBe(true);
    expect(shares[5]).toBe('not measured');
    expect(row(md, '## Share of TTFT', ORT).join(' ')).not.toContain('composed');
  });

  it('bench compare labels composed rows and judges them like any figure; a metric obtained differently on the two sides cannot be judged', () => {
    const base = fixture();
    const same = compareRuns(base, { ...fixture(), runId: 'again' }, { thresholdPct: 5 });
    const encode = same.rows.find((r) => r.cellId === LLAMA && r.metric === 'image_encode_ms')!;
    expect(encode.source).toEqual({ base: 'composed', cand: 'composed' });
    expect(encode.verdict).toBe('no significant change');
    expect(same.rows.find((r) => r.cellId === LLAMA && r.metric === 'ttft_ms')!.source).toBeUndefined();
    expect(same.rows.find((r) => r.cellId === ORT && r.metric === 'image_encode_ms')!.source).toBeUndefined();
    expect(same.outcome).toBe('pass');
    const md = formatComparisonMarkdown(same);
    const encodeTable = md.slice(md.indexOf('### image_encode_ms'));
    expect(row(encodeTable, '### image_encode_ms', LLAMA).at(-1)).toBe('no significant change; composed figures');
    expect(row(encodeTable, '### image_encode_ms', ORT).at(-1)).toBe('no significant change');

    // The candidate's llamacpp cell claims its split measured: the change would be the method's.
    const cand = fixture();
    const c = cand.cells.find((x) => x.id === LLAMA)!;
    c.settings = Object.fromEntries(Object.entries(c.settings).filter(([k]) => k !== METRIC_SOURCES_SETTING));
    // Another method is another configuration (identity field figure_sources), named as such...
    const refused = compareRuns(base, cand, { thresholdPct: 5 });
    expect(refused.outcome).toBe('cannot judge');
    expect(refused.findings.map((f) => [f.kind, f.cellId])).toEqual([['identity', LLAMA]]);
    expect(refused.identity.differences.map((d) => [d.field, d.base, d.cand])).toEqual([
      ['figure_sources', 'measured; image_encode_ms=composed prefill_ms=composed preprocess_ms=composed', 'measured'],
    ]);
    // ...and allowed, each metric obtained differently is still not judged.
    const mixed = compareRuns(base, cand, { thresholdPct: 5, allowDifferences: new Set(['figure_sources']) });
    const notJudged = mixed.findings.filter((f) => f.kind === 'not-judged').map((f) => [f.cellId, f.metric, f.outcome]);
    expect(notJudged).toEqual([
      [LLAMA, 'image_encode_ms', 'cannot judge'],
      [LLAMA, 'prefill_ms', 'cannot judge'],
    ]);
    expect(mixed.findings.find((f) => f.metric === 'prefill_ms')!.reason).toBe('prefill_ms not judged: composed in the base run, measured in the candidate (figures obtained differently are not comparable)');
    expect(mixed.outcome).toBe('cannot judge');
    expect(mixed.unjudgedCells).toEqual([LLAMA]);
  });

  it('bench report --compare-by runner and the site mark the composed figures of the llamacpp column only', () => {
    const r = fixture();
    const md = comparisonTables([r], 'backend');
    const llama = r.cells.find((c) => c.id === LLAMA)!;
    const ort = r.cells.find((c) => c.id === ORT)!;
    // The runner axis is part of the cell ids, so each backend's cell is its own row.
    expect(row(md, '### image_encode_ms', ORT)[1]).toBe(fmt(ort.metrics['image_encode_ms']!.median));
    expect(row(md, '### image_encode_ms', LLAMA)[2]).toBe(`${fmt(llama.metrics['image_encode_ms']!.median)} (composed)`);
    expect(row(md, '### prefill_ms', LLAMA)[2]).toBe(`${fmt(llama.metrics['prefill_ms']!.median)} (composed)`);
    expect(row(md, '### ttft_ms', LLAMA)[2]).toBe(fmt(llama.metrics['ttft_ms']!.median));
    expect(row(md, '### tpot_ms', LLAMA)[2]).toBe(fmt(llama.metrics['tpot_ms']!.median));
    expect(md).toContain('"(composed)": built by arithmetic from measured parts');

    const metrics = ['image_encode_ms', 'prefill_ms', 'ttft_ms'];
    const { report } = siteIndex([{ result: indexView(r, metrics), file: 'run.json', slug: 'run' }], { ...DEFAULT_SITE_OPTIONS, metrics });
    const figures = (id: string) => report.sections.flatMap((s) => s.tables).find((t) => t.id === id)!.rows.flatMap((cells) => cells.filter((c) => c.value !== undefined));
    const byValue = (id: string, value: number) => figures(id).find((c) => c.value === value)!;
    const encode = byValue('compare-image_encode_ms', llama.metrics['image_encode_ms']!.median);
    expect(encode.marks).toContain('composed');
    expect(encode.note).toMatch(/image_encode_ms composed: inside the measured time to first token/);
    expect(byValue('compare-prefill_ms', llama.metrics['prefill_ms']!.median).marks).toContain('composed');
    const ttft = byValue('compare-ttft_ms', llama.metrics['ttft_ms']!.median);
    expect(ttft.marks ?? []).not.toContain('composed');
    expect(ttft.note).toContain("measured on the run's monotonic clock");
    expect(byValue('compare-image_encode_ms', ort.metrics['image_encode_ms']!.median).marks ?? []).not.toContain('composed');
  });
});
