import type { HwSample } from '../core/probe-types.ts';

/** Numbers as people read them: no trailing noise, at most `digits` decimals. */
export function fmt(value: number, digits = 1): string {
  return Number(value.toFixed(digits)).toString();
}

/** Human lines for one sample (what `bench probe` prints), one topic per line. */
export function describeSample(s: HwSample): string[] {
  const lines: string[] = [];
  if (s.rails?.length) {
    const rails = s.rails.map((r) => {
      const now = r.powerMw === null ? 'n/a' : `${fmt(r.powerMw / 1000, 2)} W`;
      const extra = [
        r.voltageMv !== undefined ? `${fmt(r.voltageMv / 1000, 2)} V` : '',
        r.currentMa !== undefined ? `${fmt(r.currentMa, 0)} mA` : '',
        r.toolAverageMw !== undefined ? `tool avg ${fmt(r.toolAverageMw / 1000, 2)} W` : '',
      ].filter(Boolean);
      return `${r.name} ${now}${extra.length ? ` (${extra.join(', ')})` : ''}`;
    });
    lines.push(`power: ${rails.join('; ')}`);
  }
  if (s.energyCounters?.length) {
    lines.push(
      `energy counters: ${s.energyCounters.map((c) => `${c.name} ${c.intervalPowerMw !== undefined ? `${fmt(c.intervalPowerMw / 1000, 2)} W (interval mean)` : `${fmt(c.joules, 3)} J`}`).join('; ')}`,
    );
  }
  if (s.temperaturesC && Object.keys(s.temperaturesC).length) {
    lines.push(`temperatures: ${Object.entries(s.temperaturesC).map(([k, v]) => `${k} ${fmt(v)} °C`).join(', ')}`);
  }
  if (s.cpu?.length) {
    const online = s.cpu.filter((c) => c.online);
    const loads = online.map((c) => c.loadPct).filter((v): v is number => v !== undefined);
    const mhz = online.map((c) => c.mhz).filter((v): v is number => v !== undefined);
    const parts = [`${online.length}/${s.cpu.length} cores online`];
    if (s.cpuLoadPct !== undefined) parts.push(`load ${fmt(s.cpuLoadPct)}%`);
    else if (loads.length) parts.push(`load per core ${loads.map((v) => `${fmt(v, 0)}%`).join(' ')}`);
    if (mhz.length) parts.push(`${Math.min(...mhz)}-${Math.max(...mhz)} MHz`);
    lines.push(`CPU: ${parts.join(', ')}`);
  }
  for (const g of s.gpus ?? []) {
    const parts = [
      g.name ?? `GPU${g.index}`,
      g.loadPct !== undefined ? `${fmt(g.loadPct, 0)}%` : '',
      g.gpcMhz ? `@ [${g.gpcMhz.join(',')}] MHz` : g.mhz !== undefined ? `@ ${g.mhz} MHz` : '',
      g.memoryUsedMb !== undefined ? `memory ${fmt(g.memoryUsedMb, 0)}${g.memoryTotalMb !== undefined ? `/${fmt(g.memoryTotalMb, 0)}` : ''} MiB` : '',
      g.temperatureC !== undefined ? `${fmt(g.temperatureC)} °C` : '',
    ].filter(Boolean);
    lines.push(`GPU: ${parts.join(' ')}`);
  }
  if (s.emc) lines.push(`EMC: ${s.emc.loadPct !== undefined ? `${s.emc.loadPct}%` : ''}${s.emc.mhz !== undefined ? ` @ ${s.emc.mhz} MHz` : ''}`.trim());
  if (s.ram) lines.push(`RAM: ${fmt(s.ram.usedMb, 0)}/${fmt(s.ram.totalMb, 0)} MB${s.swap ? `, swap ${fmt(s.swap.usedMb, 0)}/${fmt(s.swap.totalMb, 0)} MB` : ''}`);
  if (s.cmm) lines.push(`CMM: ${fmt(s.cmm.usedKb / 1024, 1)}/${fmt(s.cmm.totalKb / 1024, 0)} MB`);
  if (s.npu) {
    const cores = s.npu.perCorePct ? ` (${Object.entries(s.npu.perCorePct).map(([k, v]) => `${k} ${fmt(v, 0)}%`).join(', ')})` : '';
    lines.push(`NPU: ${fmt(s.npu.loadPct, 0)}%${cores}`);
  }
  if (s.engines && Object.keys(s.engines).length) {
    lines.push(
      `engines: ${Object.entries(s.engines)
        .map(([k, e]) => `${k} ${e.on ? [e.loadPct !== undefined ? `${e.loadPct}%` : '', e.mhz !== undefined ? `${e.mhz} MHz` : 'on'].filter(Boolean).join(' @ ') : 'off'}`)
        .join(', ')}`,
    );
  }
  return lines;
}
