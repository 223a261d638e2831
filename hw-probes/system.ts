import type { ProbeDescriptor } from './descriptor.ts';
import { cpus } from 'node:os';
import si from 'systeminformation';
import type { Clock } from '../core/clock.ts';
import { localFiles } from './files.ts';
import { readClockFacts } from './linux-facts.ts';
import { createPolledProbe, midpointOf } from './polling.ts';
import type { Probe, ProbeAvailability, ProbeSnapshot } from './probe.ts';
import type { CpuCoreSample, HwSample } from '../core/probe-types.ts';
import { errorMessage } from '../core/errors.ts';

/**
 * Generic host sampler: CPU load per core, CPU clocks, memory and temperatures, through
 * `systeminformation` and Node's own CPU counters. Works on any machine, including a VM; it
 * carries no power figures.
 *
 * CPU load is computed here from per-core time counters between two reads, because
 * systeminformation's currentLoad() returns a cached figure when called within 200 ms of the
 * previous call, which would repeat values at fast sampling intervals.
 */

export interface CpuTimes {
  user: number;
  nice: number;
  sys: number;
  idle: number;
  irq: number;
}

export interface SystemReaders {
  /** Cumulative per-core CPU times, ms (os.cpus()). */
  cpuTimes(): CpuTimes[];
  cpuCurrentSpeed: typeof si.cpuCurrentSpeed;
  mem: typeof si.mem;
  cpuTemperature: typeof si.cpuTemperature;
}

const defaultReaders: SystemReaders = {
  cpuTimes: () => cpus().map((c) => c.times),
  cpuCurrentSpeed: () => si.cpuCurrentSpeed(),
  mem: () => si.mem(),
  cpuTemperature: () => si.cpuTemperature(),
};

const MB = 1024 * 1024;
/** Temperatures move slowly and systeminformation may spawn tools to read them (~170 ms here). */
const TEMPERATURE_PERIOD_MS = 1000;

/** Busy share of each core between two counter readings, %. */
export function loadBetween(before: readonly CpuTimes[], after: readonly CpuTimes[]): number[] {
  return after.map((a, i) => {
    const b = before[i];
    if (!b) return Number.NaN;
    const busy = a.user + a.nice + a.sys + a.irq - (b.user + b.nice + b.sys + b.irq);
    const total = busy + (a.idle - b.idle);
    return total > 0 ? (100 * busy) / total : 0;
  });
}

type Temperature = Awaited<ReturnType<typeof si.cpuTemperature>>;

function temperaturesOf(temp: Temperature | null): Record<string, number> {
  const out: Record<string, number> = {};
  if (!temp) return out;
  if (typeof temp.main === 'number' && Number.isFinite(temp.main)) out['cpu'] = temp.main;
  temp.cores.forEach((t, i) => {
    if (typeof t === 'number' && Number.isFinite(t)) out[`core${i}`] = t;
  });
  if (typeof temp.chipset === 'number' && Number.isFinite(temp.chipset)) out['chipset'] = temp.chipset;
  return out;
}

/**
 * One normalised sample. `previousTimes` gives the load since that reading (omitted without
 * one); temperatures are read only when `withTemperature` is set.
 */
export async function readSystemSample(
  readers: SystemReaders,
  clock: Clock,
  previousTimes: readonly CpuTimes[] | null,
  withTemperature: boolean,
): Promise<{ sample: HwSample; times: CpuTimes[] }> {
  const t0 = clock.now();
  const [speed, mem, temp] = await Promise.all([
    readers.cpuCurrentSpeed(),
    readers.mem(),
    withTemperature ? readers.cpuTemperature().catch(() => null) : Promise.resolve(null),
  ]);
  const times = readers.cpuTimes();
  const sample: HwSample = { tMs: midpointOf(clock, t0), probe: 'system' };
  const loads = previousTimes ? loadBetween(previousTimes, times) : null;
  sample.cpu = times.map((_, index): CpuCoreSample => {
    const core: CpuCoreSample = { index, online: true };
    const pct = loads?.[index];
    if (pct !== undefined && Number.isFinite(pct)) core.loadPct = pct;
    const ghz = speed.cores[index];
    if (ghz !== undefined && ghz > 0) core.mhz = Math.round(ghz * 1000);
    return core;
  });
  if (loads && loads.length) sample.cpuLoadPct = loads.reduce((s, v) => s + v, 0) / loads.length;
  // `active` excludes page cache and buffers, matching what tegrastats and `free` call used.
  sample.ram = { usedMb: mem.active / MB, totalMb: mem.total / MB };
  if (mem.swaptotal > 0) sample.swap = { usedMb: mem.swapused / MB, totalMb: mem.swaptotal / MB };
  const temps = temperaturesOf(temp);
  if (Object.keys(temps).length) sample.temperaturesC = temps;
  return { sample, times };
}

export function createSystemProbe(readers: SystemReaders = defaultReaders): Probe {
  let previous: CpuTimes[] | null = null;
  let hasTemperature = true;
  let lastTemperatureMs = Number.NEGATIVE_INFINITY;

  const detect = async (): Promise<ProbeAvailability> => {
    const temp = await readers.cpuTemperature().catch(() => null);
    hasTemperature = Object.keys(temperaturesOf(temp)).length > 0;
    return {
      probe: 'system',
      available: true,
      reason: `CPU load, clocks and memory via systeminformation; ${hasTemperature ? 'CPU temperature available' : 'no CPU temperature sensor visible'}; no power`,
    };
  };

  const snapshot = async (): Promise<ProbeSnapshot> => {
    const facts: Record<string, string> = {};
    const warnings: string[] = [];
    try {
      const [cpu, sys] = await Promise.all([si.cpu(), si.system()]);
      facts['cpu.model'] = `${cpu.manufacturer} ${cpu.brand}`.trim();
      facts['cpu.cores'] = `${cpu.physicalCores} physical, ${cpu.cores} logical`;
      if (cpu.speedMax) facts['cpu.max_mhz'] = String(Math.round(cpu.speedMax * 1000));
      if (sys.model) facts['system.model'] = `${sys.manufacturer} ${sys.model}`.trim();
      if (sys.virtual) facts['system.virtual'] = sys.virtualHost ? `yes (${sys.virtualHost})` : 'yes';
    } catch (err) {
      warnings.push(`system facts: ${errorMessage(err)}`);
    }
    Object.assign(facts, await readClockFacts(localFiles()));
    return { probe: 'system', facts, warnings };
  };

  const read = async (clock: Clock): Promise<HwSample> => {
    const now = clock.now();
    const withTemperature = hasTemperature && now - lastTemperatureMs >= TEMPERATURE_PERIOD_MS;
    if (withTemperature) lastTemperatureMs = now;
    const { sample, times } = await readSystemSample(readers, clock, previous, withTemperature);
    previous = times;
    return sample;
  };

  return createPolledProbe({
    name: 'system',
    detect,
    snapshot,
    reset: () => {
      previous = null;
      lastTemperatureMs = Number.NEGATIVE_INFINITY;
    },
    // The first read of a run has no load (nothing to difference against): prime the counters.
    prepare: async () => {
      previous = readers.cpuTimes();
    },
    read,
    async readOnce(clock) {
      previous = readers.cpuTimes();
      await new Promise((r) => setTimeout(r, 250));
      return read(clock);
    },
  });
}

export const SYSTEM_PROBE: ProbeDescriptor = {
  name: 'system',
  description: 'anywhere: systeminformation + CPU time counters (CPU load and clocks, memory, temperatures); no power',
  samples: ['cpu', 'memory', 'temperature'],
  tools: [],
  thisHostOnly: 'systeminformation reads this host only; use tegrastats/hwmon/axera for a remote board',
  create: () => createSystemProbe(),
};
