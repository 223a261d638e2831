import type { CellResult, RunResult } from '../../core/result-types.ts';

/**
 * Lays a constructed VDD_IN trace of constant `watts` (labelled probe "constructed": no power
 * probe on this machine) over every iteration of `result`, a sample every `stepMs`, so energy can
 * be integrated per iteration as a board run would; decode_j_per_token gets a stored summary
 * (the shape of tpot_ms's) so comparisons look for it. Changes `result` and returns it.
 */
export function layPowerTrace(result: RunResult, watts: number, stepMs: number): RunResult {
  for (const c of result.cells) {
    const samples = c.iterations.flatMap((it) => {
      const out = [];
      for (let t = it.startMs - 1; t <= it.endMs + 1; t += stepMs) out.push({ tMs: t, probe: 'constructed', rails: [{ name: 'VDD_IN', powerMw: watts * 1000 }] });
      return out;
    });
    c.probes = { runs: [], power: null, thermal: { throttled: false, reasons: [] } as never, samples, baselineWindow: null } as CellResult['probes'];
    c.metrics['decode_j_per_token'] = { ...c.metrics['tpot_ms']!, unit: 'J/token' };
  }
  return result;
}
