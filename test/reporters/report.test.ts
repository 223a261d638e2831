import { readFileSync } from 'node:fs';
import { buildRunResult } from '../helpers/run-result.ts';
import { describe, expect, it } from 'vitest';
import type { IterationRecord, TimedEvent } from '../../core/events.ts';
import type { CellResult, RunResult } from '../../core/result-types.ts';
import { checkResult } from '../../harness/result-schema.ts';
import { summarize } from '../../core/stats.ts';
import { cellMetrics, subgraphStats } from '../../core/metrics.ts';
import { buildReport, phaseShareTable as phaseShareModel, subgraphTable as subgraphModel, summaryTables } from '../../reporters/build-report.ts';
import { renderMarkdown, renderTable } from '../../reporters/render/markdown.ts';

// The Markdown of the report model's tables, as the report prints them.
const axeraStyleTables = (r: RunResult): string => summaryTables(r).map(renderTable).join('\n\n');
const subgraphTable = (r: RunResult): string => renderTable(subgraphModel(r));
const phaseShareTable = (r: RunResult): string => renderTable(phaseShareModel(r));
const renderReport = (r: RunResult): string => renderMarkdown(buildReport(r));
import { writeReport } from '../../reporters/write-report.ts';
import { tempDir } from '../helpers/tmp.ts';

/** A request whose phases take known times: encode `enc` per image, prefill `pre`, decode steps of `step`. */
function request(images: number, enc: number, pre: number, step: number, tokens: number, offset: number): IterationRecord {
  const events: TimedEvent[] = [];
  let t = offset;
  events.push({ kind: 'phase', phase: 'preprocess', startMs: t, endMs: t + 2 });
  t += 2;
  const encStart = t;
  for (let i = 0; i < images; i++) {
    events.push({ kind: 'subgraph', graph: 'vision_encoder', phase: 'image_encode', startMs: t, endMs: t + enc });
    t += enc;
  }
  if (images) events.push({ kind: 'phase', phase: 'image_encode', startMs: encStart, endMs: t });
  events.push({ kind: 'subgraph', graph: 'decoder_model_merged', phase: 'prefill', startMs: t, endMs: t + pre - 1 });
  events.push({ kind: 'subgraph', graph: 'lm_head', phase: 'prefill', startMs: t + pre - 1, endMs: t + pre });
  events.push({ kind: 'phase', phase: 'prefill', startMs: t, endMs: t + pre });
  t += pre;
  events.push({ kind: 'token', tMs: t, index: 0, count: 1 });
  const decStart = t;
  for (let i = 1; i < tokens; i++) {
    events.push({ kind: 'subgraph', graph: 'decoder_model_merged', phase: 'decode', startMs: t, endMs: t + step });
    t += step;
    events.push({ kind: 'token', tMs: t, index: i, count: 1 });
  }
  events.push({ kind: 'phase', phase: 'decode', startMs: decStart, endMs: t });
  return { index: 0, warmup: false, startMs: offset, endMs: t, promptTokens: 128 + 256 * images, imageTokens: 256 * images, images, outputTokens: tokens, events };
}

function cell(index: number, images: number, precision: string, enc: number, pre: number, step: number): CellResult {
  const iterations = [0, 1, 2].map((k) => request(images, enc + k, pre + k, step, 5, k * 10_000));
  const metrics = cellMetrics(iterations);
  metrics['load_ms'] = summarize([1234], 'ms');
  return {
    id: `images=${images},prefill=128,precision=${precision}`,
    index,
    params: { images, prefill: 128, precision },
    status: 'ok',
    startedAt: '2026-11-25T00:00:00Z',
    finishedAt: '2026-11-25T00:00:10Z',
    loadMs: 1234,
    model: { architecture: 'internvl2_5-1b', precision, layout: 'onnx-community', synthetic: true, seed: 1234, scale: 'full', sizes: { 'a.onnx': 2 ** 20 } },
    settings: {},
    iterations,
    metrics,
    subgraphs: subgraphStats(iterations),
    peakRssBytes: 500 * 2 ** 20,
  };
}

function result(): RunResult {
  return buildRunResult({
    suite: 'internvl-cpu',
    suiteSource: 'builtin',
    suiteHash: 'abc',
    definition: { defaults: { warmup: 0, iterations: 3, outputTokens: 5 }, matrix: { images: [0, 1], prefill: [128], precision: ['int8'] } },
    host: { hostname: 'h', memoryBytes: 2 ** 34 },
    environment: {
      os: { platform: 'linux', distro: 'Debian', release: '12', kernel: '6' },
      versions: { node: '20' },
      git: { revision: 'deadbeef', dirty: false },
    },
    cells: [
      cell(0, 0, 'int8', 0, 300, 40),
      cell(1, 1, 'int8', 900, 1000, 40),
      { ...cell(2, 0, 'int4', 0, 0, 0), status: 'failed', error: 'planted failure', metrics: {}, subgraphs: {}, iterations: [] },
    ],
    plannedCells: ['images=0,prefill=128,precision=int8', 'images=1,prefill=128,precision=int8', 'images=0,prefill=128,precision=int4', 'images=1,prefill=128,precision=int4'],
  });
}

describe('report', () => {
  it('puts the result values into the Axera table layout', () => {
    const md = axeraStyleTables(result());
    // images=1: encode 900/901/902 -> median 901; prefill 1000..1002 -> 1001; TTFT = 2 + 901 + 1001 = 1904; TPOT 40 -> 25 tok/s
    expect(md).toContain('### int8');
    // Three iterations are too few for an interval of the median: every figure is marked ~few.
    expect(md).toMatch(/\|\s+1 \|\s+901\.0 ms ~few \|\s+1001\.0 ms \(384 tokens\) ~few \|\s+1904\.0 ms ~few \|\s+40\.00 ms ~few \|\s+25\.00 tokens\/sec ~few \|/);
    expect(md).toMatch(/\|\s+0 \|\s+– \|\s+301\.0 ms \(128 tokens\) ~few \|\s+303\.0 ms ~few \|/);
    expect(md).not.toContain('int4'); // failed cell has no row
  });

  it('lists subgraphs with per-call and per-request medians and phase shares', () => {
    const r = result();
    const sub = subgraphTable(r);
    expect(sub).toMatch(/images=1,prefill=128,precision=int8 \| vision_encoder\/image_encode\s+\|\s+1 \|\s+901\.0 ~few \|/);
    // Per call: 4 calls x 3 iterations = 12 values, enough for an interval; per request: 3.
    expect(sub).toMatch(/decoder_model_merged\/decode\s+\|\s+4 \|\s+40\.00 \|\s+40\.00 \|\s+160\.0 ~few \|/);
    const share = phaseShareTable(r);
    // TTFT median 1904: preprocess 2 (0.1%), image_encode 901 (47.3%), prefill 1001 (52.6%), other 0.0%
    expect(share).toMatch(/images=1,prefill=128,precision=int8 \|\s+1904\.0 ms ~few \|\s+0\.1% \|\s+47\.3% \|\s+52\.6% \|\s+0\.0% \|/);
  });

  it('labels synthetic weights, failed cells and cells not run', () => {
    const md = renderReport(result());
    expect(md).toContain('**SYNTHETIC WEIGHTS**');
    expect(md).toContain('- images=0,prefill=128,precision=int4: FAILED: planted failure');
    expect(md).toMatch(/## Not run\n\n- images=1,prefill=128,precision=int4/);
    expect(md).toMatch(/ttft_ms\s+\| ms\s+\|\s+3 \|/);
  });

  it('validates against the published result schema and writes report.md and PNG charts', async () => {
    const r = checkResult(JSON.parse(JSON.stringify(result())), 'mem');
    const dir = tempDir('report-');
    const written = await writeReport(r, dir);
    expect(readFileSync(written.reportFile, 'utf8')).toContain('## Per-subgraph latency');
    expect(written.charts.map((f) => f.split('/').pop())).toEqual(['ttft-vs-images.png', 'decode-tokens-per-s.png', 'subgraph-time-per-request.png']);
    for (const file of written.charts) {
      const png = readFileSync(file);
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.readUInt32BE(16)).toBeGreaterThanOrEqual(960); // IHDR width
      expect(png.length).toBeGreaterThan(10_000); // drawn, not blank
    }
  });

  it('rejects a result with a wrong field, naming it', () => {
    const bad = JSON.parse(JSON.stringify(result()));
    bad.cells[0].status = 'great';
    expect(() => checkResult(bad, 'r.json')).toThrow(/r\.json: not a valid result: field "cells\[0\]\.status"/);
    expect(() => checkResult({ ...result(), schemaVersion: 9 }, 'r.json')).toThrow(/schema version 9/);
  });
});
