import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { boundedSamples } from '../../harness/cell-probes.ts';
import { RAIL_MW_RANGE, type HwSample } from '../../core/probe-types.ts';

describe('rail readings outside what a rail can draw', () => {
  it('are made unknown with a warning, the others kept as read', () => {
    const samples: HwSample[] = [
      { tMs: 0, probe: 'hwmon', rails: [{ name: 'VDD_IN', powerMw: 5200 }, { name: 'VDD_GPU', powerMw: -40_000, toolAverageMw: 900 }] },
      { tMs: 100, probe: 'hwmon', rails: [{ name: 'VDD_IN', powerMw: 5300, toolAverageMw: 2e12 }, { name: 'VDD_GPU', powerMw: -500 }] },
    ];
    const warnings: string[] = [];
    const out = boundedSamples(samples, warnings);
    expect(out[0]!.rails).toEqual([{ name: 'VDD_IN', powerMw: 5200 }, { name: 'VDD_GPU', powerMw: null, toolAverageMw: 900 }]);
    // A sensor's small negative offset (-0.5 W) is a reading, kept.
    expect(out[1]!.rails).toEqual([{ name: 'VDD_IN', powerMw: 5300 }, { name: 'VDD_GPU', powerMw: -500 }]);
    expect(warnings).toEqual(['rail VDD_GPU: 1 reading(s) outside -1 W to 100 kW were dropped as unknown', 'rail VDD_IN: 1 reading(s) outside -1 W to 100 kW were dropped as unknown']);
    expect(samples[0]!.rails![1]!.powerMw).toBe(-40_000); // the probe's own sample is not changed
  });

  it('use the bounds the result schema enforces, so a recorded run stays readable', () => {
    const schema = readFileSync(new URL('../../schema/result.schema.json', import.meta.url), 'utf8');
    const powerMw = /"powerMw": \{ "type": \["number", "null"\], "minimum": (-?\d+), "maximum": (\d+) \}/.exec(schema);
    const toolAverageMw = /"toolAverageMw": \{ "type": \["number", "null"\], "minimum": (-?\d+), "maximum": (\d+) \}/.exec(schema);
    for (const m of [powerMw, toolAverageMw]) {
      expect(m).not.toBeNull();
      expect([Number(m![1]), Number(m![2])]).toEqual([RAIL_MW_RANGE.min, RAIL_MW_RANGE.max]);
    }
  });
});
