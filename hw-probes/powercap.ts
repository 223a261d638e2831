import type { ProbeDescriptor } from './descriptor.ts';
import type { Clock } from '../core/clock.ts';
import { errorMessage, FileReadError } from '../core/errors.ts';
import { localFiles, tryReadText, type FileSource } from './files.ts';
import { createPolledProbe, midpointOf } from './polling.ts';
import type { Probe, ProbeAvailability, ProbeSnapshot } from './probe.ts';
import type { EnergyCounterSample, HwSample } from '../core/probe-types.ts';

/**
 * Linux powercap / RAPL (/sys/class/powercap/intel-rapl:N[:M]). RAPL gives cumulative energy
 * counters (`energy_uj`), not power: the energy of a window is a counter difference, exact to the
 * counter's resolution, with no sampling error. Counters wrap at `max_energy_range_uj`; each
 * sample carries joules since the probe started with the wraps undone.
 */

export const POWERCAP_DIR = '/sys/class/powercap';

export interface RaplZone {
  /** Directory name, e.g. "intel-rapl:0:2". */
  id: string;
  /** Qualified zone name: "package-0", "package-0/dram", "psys". */
  name: string;
  /** True for a zone inside another (core, uncore, dram are parts of a package). */
  isSubzone: boolean;
  /** MMIO zones mirror a package zone on some Intel CPUs; they are never added to a total. */
  isMmio: boolean;
  energyFile: string;
  maxRangeUj: number;
}

/**
 * Energy between two raw readings of a counter, undoing one wrap. With the period of a sample
 * well under the wrap time (minutes at full load), at most one wrap can happen between samples.
 */
export function counterDeltaUj(prevUj: number, curUj: number, maxRangeUj: number): number {
  return curUj >= prevUj ? curUj - prevUj : curUj + (maxRangeUj - prevUj);
}

export async function discoverPowercap(files: FileSource, dir = POWERCAP_DIR): Promise<RaplZone[]> {
  const entries = (await files.list(dir)).filter((e) => /:\d+(?::\d+)*$/.test(e));
  const names = new Map<string, string>();
  for (const id of entries) names.set(id, (await tryReadText(files, `${dir}/${id}/name`))?.trim() || id);
  const zones: RaplZone[] = [];
  for (const id of entries) {
    const maxText = (await tryReadText(files, `${dir}/${id}/max_energy_range_uj`))?.trim();
    const energyPath = `${dir}/${id}/energy_uj`;
    const parts = id.split(':');
    const isSubzone = parts.length > 2;
    const parentId = parts.slice(0, -1).join(':');
    const own = names.get(id)!;
    const name = isSubzone ? `${names.get(parentId) ?? parentId}/${own}` : own;
    zones.push({
      id,
      name: id.includes('mmio') ? `${name} (mmio)` : name,
      isSubzone,
      isMmio: id.includes('mmio'),
      energyFile: energyPath,
      maxRangeUj: maxText ? Number(maxText) : Number.NaN,
    });
  }
  return zones.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Which counters make the machine's total: `psys` (whole platform) when present, otherwise the
 * packages plus their DRAM subzones (packages exclude DRAM). Core/uncore are parts of a package.
 */
export function raplTotalZones(zoneNames: readonly string[]): { names: string[]; basis: string } {
  const psys = zoneNames.find((n) => n === 'psys');
  if (psys) return { names: [psys], basis: 'RAPL psys (platform)' };
  const names = zoneNames.filter((n) => /^package-\d+$/.test(n) || /^package-\d+\/dram$/.test(n));
  return { names, basis: names.length ? `RAPL ${names.join(' + ')}` : 'no RAPL package zone' };
}

/** Turns raw counter readings into joules since the first reading, one state per zone. */
export class EnergyAccumulator {
  private readonly state = new Map<string, { lastUj: number; totalUj: number; lastMs: number }>();

  update(zone: RaplZone, rawUj: number, tMs: number): EnergyCounterSample {
    const prev = this.state.get(zone.id);
    if (!prev) {
      this.state.set(zone.id, { lastUj: rawUj, totalUj: 0, lastMs: tMs });
      return { name: zone.name, joules: 0 };
    }
    const range = Number.isFinite(zone.maxRangeUj) ? zone.maxRangeUj : 2 ** 32;
    const delta = counterDeltaUj(prev.lastUj, rawUj, range);
    const dt = tMs - prev.lastMs;
    prev.totalUj += delta;
    prev.lastUj = rawUj;
    prev.lastMs = tMs;
    const sample: EnergyCounterSample = { name: zone.name, joules: prev.totalUj / 1e6 };
    // µJ per ms is mW.
    if (dt > 0) sample.intervalPowerMw = delta / dt;
    return sample;
  }

  clear(): void {
    this.state.clear();
  }
}

export interface PowercapProbeOptions {
  files?: FileSource;
  /** A directory standing for "/" (tests point it at a fake sysfs tree); ignored when `files` is given. */
  root?: string;
}

export function createPowercapProbe(opts: PowercapProbeOptions = {}): Probe {
  const files = opts.files ?? localFiles(opts.root ?? '/');
  const acc = new EnergyAccumulator();
  let zones: RaplZone[] | null = null;

  const detect = async (): Promise<ProbeAvailability> => {
    let found: RaplZone[];
    try {
      found = await discoverPowercap(files);
    } catch (err) {
      const missing = err instanceof FileReadError && err.problem === 'missing';
      return {
        probe: 'powercap',
        available: false,
        reason: missing
          ? `${POWERCAP_DIR} does not exist here (no RAPL: a VM, an ARM board, or the intel_rapl driver not loaded)`
          : errorMessage(err),
      };
    }
    if (found.length === 0) return { probe: 'powercap', available: false, reason: `${POWERCAP_DIR} has no energy zones` };
    const readable: string[] = [];
    const problems: string[] = [];
    for (const z of found) {
      try {
        await files.readText(z.energyFile);
        readable.push(z.name);
      } catch (err) {
        problems.push(
          err instanceof FileReadError && err.problem === 'denied'
            ? `${z.name}: energy_uj is root-only (kernel 5.10+ hides RAPL from users, a Platypus side-channel fix)`
            : `${z.name}: ${errorMessage(err)}`,
        );
      }
    }
    if (readable.length === 0) return { probe: 'powercap', available: false, reason: problems.join('; ') };
    return { probe: 'powercap', available: true, reason: `RAPL zones ${readable.join(', ')}${problems.length ? `; unreadable: ${problems.join('; ')}` : ''}` };
  };

  const snapshot = async (): Promise<ProbeSnapshot> => {
    try {
      const found = await discoverPowercap(files);
      const facts: Record<string, string> = {};
      for (const z of found) facts[`rapl.${z.name}`] = `${z.id} max_energy_range_uj=${z.maxRangeUj}`;
      return { probe: 'powercap', facts, warnings: [] };
    } catch (err) {
      return { probe: 'powercap', facts: {}, warnings: [`powercap: ${errorMessage(err)}`] };
    }
  };

  const read = async (clock: Clock): Promise<HwSample> => {
    zones ??= await discoverPowercap(files);
    const t0 = clock.now();
    const raw: Array<[RaplZone, number]> = [];
    for (const z of zones) {
      const text = (await tryReadText(files, z.energyFile))?.trim();
      if (text) raw.push([z, Number(text)]);
    }
    const tMs = midpointOf(clock, t0);
    if (raw.length === 0) throw new Error('no RAPL energy_uj counter could be read');
    return { tMs, probe: 'powercap', energyCounters: raw.map(([z, uj]) => acc.update(z, uj, tMs)) };
  };

  return createPolledProbe({
    name: 'powercap',
    detect,
    snapshot,
    reset: () => {
      acc.clear();
      zones = null;
    },
    prepare: async () => {
      zones = await discoverPowercap(files);
    },
    read,
    async readOnce(clock) {
      await read(clock);
      await new Promise((r) => setTimeout(r, 250));
      return read(clock);
    },
  });
}

export const POWERCAP_PROBE: ProbeDescriptor = {
  name: 'powercap',
  description: 'x86: /sys/class/powercap RAPL energy_uj, cumulative energy counters (wrap-around undone)',
  samples: ['energy'],
  tools: [],
  create: ({ files }) => createPowercapProbe({ files }),
};
