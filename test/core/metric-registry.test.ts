import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { IterationRecord } from '../../core/events.ts';
import { HEADLINE_METRICS, METRICS, metricBetter, metricDefinition, metricsWithRole, metricUnit, TABLE_METRICS, TTFT_PARTS } from '../../core/metric-registry.ts';
import type { RunResult } from '../../core/result-types.ts';
import { phaseShareTable } from '../../reporters/build-report.ts';
import { PHASE_METRIC } from '../../roofline/rows.ts';
import { iterationMetrics } from '../../core/metrics.ts';
import { DEFAULT_ADAPTIVE_METRICS } from '../../harness/methodology.ts';
import { SPREAD_METRICS } from '../../harness/cell-quality.ts';
import { metricDirection } from '../../analysis/cell-values.ts';

describe('metric registry', () => {
  it('gives throughput and goodput metrics "higher is better" (the old name regex called them lower)', () => {
    for (const name of ['request_throughput', 'output_throughput', 'request_goodput', 'goodput_fraction', 'decode_tokens_per_s']) {
      expect(metricBetter(name), name).toBe('higher');
      expect(metricDirection(name), name).toBe('higher is better');
    }
    for (const name of ['ttft_ms', 'tpot_ms', 'chunk_itl_ms', 'decode_j_per_token']) expect(metricBetter(name), name).toBe('lower');
  });

  it('resolves run-time families (energy and power per phase) and refuses to guess unknown names', () => {
    expect(metricDefinition('energy_prefill_net_j')).toMatchObject({ unit: 'J', better: 'lower', scope: 'iteration' });
    expect(metricUnit('power_decode_w')).toBe('W');
    expect(metricDefinition('energy_lunch_j')).toBeUndefined();
    expect(metricBetter('made_up_per_s')).toBe('none');
    expect(() => metricDirection('made_up_per_s')).toThrow(/no better direction/);
  });

  it('defines every metric once, with a unit and a description', () => {
    const names = METRICS.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const m of METRICS) {
      expect(m.unit, m.name).not.toBe('');
      expect(m.description.length, m.name).toBeGreaterThan(10);
    }
  });

  it('roles on the definitions give the lists the harness, reports and compare use', () => {
    expect(HEADLINE_METRICS).toEqual(['image_encode_ms', 'prefill_ms', 'ttft_ms', 'decode_tokens_per_s']);
    expect(TABLE_METRICS).toEqual(['image_encode_ms', 'prefill_ms', 'ttft_ms', 'tpot_ms', 'decode_tokens_per_s']);
    expect(metricsWithRole('outlier-checked')).toEqual(['image_encode_ms', 'prefill_ms', 'ttft_ms', 'tpot_ms', 'e2e_ms']);
    expect(SPREAD_METRICS).toEqual(['image_encode_ms', 'prefill_ms', 'ttft_ms', 'tpot_ms', 'e2e_ms']);
    expect(DEFAULT_ADAPTIVE_METRICS).toEqual(['ttft_ms', 'tpot_ms']);
    expect(METRICS.filter((m) => m.progress).map((m) => `${m.progress!.label} (${m.progress!.unit})`)).toEqual(['TTFT (ms)', 'decode (tok/s)']);
  });

  it('computes every per-iteration metric from its own definition, and only per-iteration ones', () => {
    const computed = METRICS.filter((m) => m.fromIteration).map((m) => m.name);
    expect(computed).toEqual(['preprocess_ms', 'image_encode_ms', 'image_encode_per_image_ms', 'prefill_ms', 'ttft_ms', 'tpot_ms', 'decode_tokens_per_s', 'prefill_tokens_per_s', 'decode_ms', 'e2e_ms', 'chunk_itl_ms']);
    for (const m of METRICS) if (m.fromIteration) expect(m.scope, m.name).toBe('iteration');
    // One request: preprocess 0-2, encode 2-12 (two images, one call each), prefill 12-32, 3 tokens at 40, 50, 70.
    const rec: IterationRecord = {
      index: 0, warmup: false, startMs: 0, endMs: 75, images: 2, promptTokens: 100, outputTokens: 3,
      events: [
        { kind: 'phase', phase: 'preprocess', startMs: 0, endMs: 2 },
        { kind: 'phase', phase: 'image_encode', startMs: 2, endMs: 12 },
        { kind: 'subgraph', graph: 'vision', phase: 'image_encode', startMs: 2, endMs: 6 },
        { kind: 'subgraph', graph: 'vision', phase: 'image_encode', startMs: 6, endMs: 12 },
        { kind: 'phase', phase: 'prefill', startMs: 12, endMs: 32 },
        { kind: 'token', index: 0, count: 1, tMs: 40 },
        { kind: 'token', index: 1, count: 1, tMs: 50 },
        { kind: 'token', index: 2, count: 1, tMs: 70 },
      ],
    } as IterationRecord;
    expect(iterationMetrics(rec)).toEqual({
      preprocess_ms: 2, image_encode_ms: 10, image_encode_per_image_ms: [4, 6], prefill_ms: 20, ttft_ms: 40, tpot_ms: 15,
      decode_tokens_per_s: 1000 / 15, prefill_tokens_per_s: 5000, e2e_ms: 75, chunk_itl_ms: [10, 20],
    });
  });

  it('no list of metric names outside the registry, in any layer', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []));
    // An array of the registry's metric names, or a record whose values are (phase -> metric).
    const name = `(${METRICS.map((m) => m.name).join('|')})`;
    const list = new RegExp(`\\[\\s*'${name}'\\s*,|^\\s*[a-z_]+: '${name}',\\s*$`, 'm');
    const folders = ['harness', 'cli', 'analysis', 'reporters', 'publish', 'history', 'roofline', 'core', 'hw-probes', 'runners', 'targets'];
    const found = folders.flatMap(files).filter((f) => !f.endsWith('metric-registry.ts') && list.test(readFileSync(f, 'utf8')));
    expect(found).toEqual([]);
  });

  it('the Share-of-TTFT parts, the serving table and the roofline phases are roles and fields of the definitions', () => {
    expect(TTFT_PARTS).toEqual(['preprocess_ms', 'image_encode_ms', 'prefill_ms']);
    expect(metricsWithRole('serving')).toEqual(['chunk_itl_ms', 'request_throughput', 'output_throughput', 'total_token_throughput', 'request_goodput', 'goodput_fraction']);
    expect(PHASE_METRIC).toEqual({ decode: 'tpot_ms', prefill: 'prefill_ms', image_encode: 'image_encode_ms' });
    // The table's columns are the parts, in the registry's order.
    const table = phaseShareTable({ cells: [] } as unknown as RunResult);
    expect(table.columns.map((c) => c.header)).toEqual(['Cell', 'TTFT median', 'preprocess', 'image_encode', 'prefill', 'other']);
  });
});
