import { describe, expect, it } from 'vitest';
import { METRICS, metricBetter, metricDefinition, metricUnit } from '../../core/metric-registry.ts';
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
});
