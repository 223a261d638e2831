import type { HwSample, ThermalVerdict } from '../core/probe-types.ts';

/**
 * The throttling watch of one cell: the hottest sensor, and any clock that dropped while the
 * cell ran. A drop on a board without locked clocks (jetson_clocks off) can be DVFS at idle
 * moments; the reason says which clock and by how much so a reader can judge.
 */
export function thermalVerdict(samples: readonly HwSample[], opts: { tempLimitC?: number; dropPct?: number } = {}): ThermalVerdict {
  const dropPct = opts.dropPct ?? 15;
  let maxTempC: number | null = null;
  let maxTempSensor: string | null = null;
  const clocks = new Map<string, { max: number; min: number }>();
  const seen = (name: string, mhz: number | undefined) => {
    if (mhz === undefined || !Number.isFinite(mhz) || mhz <= 0) return;
    const c = clocks.get(name) ?? { max: mhz, min: mhz };
    c.max = Math.max(c.max, mhz);
    c.min = Math.min(c.min, mhz);
    clocks.set(name, c);
  };
  for (const s of samples) {
    for (const [sensor, t] of Object.entries(s.temperaturesC ?? {})) {
      // Tegra reports -256 for a sensor that is off; no real reading is that low.
      if (Number.isFinite(t) && t > -100 && (maxTempC === null || t > maxTempC)) {
        maxTempC = t;
        maxTempSensor = sensor;
      }
    }
    for (const g of s.gpus ?? []) seen(`gpu${g.index}`, g.mhz);
    seen('emc', s.emc?.mhz);
    // Only online cores under load: an idle core's clock dropping is not throttling.
    for (const c of s.cpu ?? []) if (c.online && (c.loadPct ?? 100) >= 50) seen(`cpu${c.index}`, c.mhz);
  }
  const clockDrops = [...clocks]
    .map(([clock, c]) => ({ clock, maxMhz: c.max, minMhz: c.min, dropPct: ((c.max - c.min) / c.max) * 100 }))
    .filter((d) => d.dropPct > dropPct);
  const reasons: string[] = [];
  if (opts.tempLimitC !== undefined && maxTempC !== null && maxTempC >= opts.tempLimitC) {
    reasons.push(`${maxTempSensor} reached ${maxTempC.toFixed(1)} °C (limit ${opts.tempLimitC} °C)`);
  }
  for (const d of clockDrops) reasons.push(`${d.clock} clock fell from ${d.maxMhz} to ${d.minMhz} MHz (-${d.dropPct.toFixed(0)}%)`);
  return { maxTempC, maxTempSensor, clockDrops, throttled: reasons.length > 0, reasons };
}

export type { ThermalVerdict } from '../core/probe-types.ts';
