import type { ProbeDescriptor } from './descriptor.ts';
import type { Clock } from '../core/clock.ts';
import { errorMessage, FileReadError } from '../core/errors.ts';
import { localFiles, tryList, tryReadText, type FileSource } from './files.ts';
import { createPolledProbe, midpointOf } from './polling.ts';
import type { Probe, ProbeAvailability, ProbeSnapshot } from './probe.ts';
import type { HwSample, RailSample } from '../core/probe-types.ts';

/**
 * Linux hwmon (/sys/class/hwmon/hwmonN): power monitors (INA3221 on Jetson JetPack 5+, INA226
 * and other ina2xx on carrier boards, ...) and temperature sensors. Units per the kernel ABI:
 * power µW, current mA, voltage mV, temperature m°C.
 *
 * - `powerN_input` is instantaneous power; `powerN_average` is the chip's own average and goes
 *   to toolAverageMw (never integrated).
 * - INA3221 exposes no power file: channel N (1-3) power is `inN_input` (bus mV) x `currN_input`
 *   (mA). Channels labelled "NC" (not connected) are skipped. JetPack 4 boards expose the INA3221
 *   through iio (in_power0_input) instead, which tegrastats covers.
 * - `name` files of Jetson INA3221 chips read "ina3221"; other chips keep their own names.
 */

export const HWMON_DIR = '/sys/class/hwmon';

interface ChannelFiles {
  label?: string;
  powerInput?: string;
  powerAverage?: string;
  voltage?: string;
  current?: string;
}

/** Files of one chip found at discovery, so each sample reads only what exists. */
export interface HwmonChipLayout {
  dir: string;
  chip: string;
  rails: Array<{ name: string; files: ChannelFiles; product: boolean }>;
  temperatures: Array<{ name: string; file: string }>;
}

async function readOptional(files: FileSource, path: string | undefined): Promise<number | undefined> {
  if (!path) return undefined;
  const text = (await tryReadText(files, path))?.trim();
  if (!text) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Finds the chips under `dir` and the power/temperature inputs each offers. */
export async function discoverHwmon(files: FileSource, dir = HWMON_DIR): Promise<HwmonChipLayout[]> {
  const entries = await files.list(dir);
  const chips: HwmonChipLayout[] = [];
  const railNames = new Set<string>();
  const tempNames = new Set<string>();
  for (const entry of entries.filter((e) => /^hwmon\d+$/.test(e))) {
    const chipDir = `${dir}/${entry}`;
    const chip = (await tryReadText(files, `${chipDir}/name`))?.trim() || entry;
    const names = (await tryList(files, chipDir)) ?? [];
    const has = (f: string): string | undefined => (names.includes(f) ? `${chipDir}/${f}` : undefined);
    const label = async (prefix: string): Promise<string | undefined> => {
      const p = has(`${prefix}_label`);
      return p ? (await tryReadText(files, p))?.trim() || undefined : undefined;
    };
    const indices = (re: RegExp): number[] =>
      [...new Set(names.map((n) => re.exec(n)?.[1]).filter((x): x is string => x !== undefined).map(Number))].sort((a, b) => a - b);
    const unique = (base: string, taken: Set<string>): string => {
      const name = taken.has(base) ? `${base}@${entry}` : base;
      taken.add(name);
      return name;
    };

    const layout: HwmonChipLayout = { dir: chipDir, chip, rails: [], temperatures: [] };
    const powerIdx = indices(/^power(\d+)_(?:input|average)$/);
    for (const n of powerIdx) {
      const channel: ChannelFiles = {};
      const p = has(`power${n}_input`);
      const a = has(`power${n}_average`);
      const v = has(`in${n}_input`);
      const c = has(`curr${n}_input`);
      if (p) channel.powerInput = p;
      if (a) channel.powerAverage = a;
      if (v) channel.voltage = v;
      if (c) channel.current = c;
      const base = (await label(`power${n}`)) ?? (await label(`curr${n}`)) ?? `${chip}.power${n}`;
      layout.rails.push({ name: unique(base, railNames), files: channel, product: false });
    }
    if (powerIdx.length === 0 && chip === 'ina3221') {
      // Channels 1-3 only: in4-6 are shunt voltages and curr4 is the summed current, so a
      // product with index 4 would be meaningless.
      for (const n of indices(/^curr(\d+)_input$/).filter((i) => i <= 3)) {
        const v = has(`in${n}_input`);
        const c = has(`curr${n}_input`);
        const l = (await label(`in${n}`)) ?? (await label(`curr${n}`));
        if (!v || !c || l === 'NC') continue;
        layout.rails.push({ name: unique(l ?? `${chip}.channel${n}`, railNames), files: { voltage: v, current: c }, product: true });
      }
    }
    for (const n of indices(/^temp(\d+)_input$/)) {
      const base = (await label(`temp${n}`)) ?? `${chip}.temp${n}`;
      layout.temperatures.push({ name: unique(base, tempNames), file: `${chipDir}/temp${n}_input` });
    }
    chips.push(layout);
  }
  return chips;
}

/** Reads every discovered input once. Inputs that fail to read (a disabled channel) are left out. */
export async function readHwmon(files: FileSource, chips: HwmonChipLayout[]): Promise<{ rails: RailSample[]; temperaturesC: Record<string, number> }> {
  const rails: RailSample[] = [];
  const temperaturesC: Record<string, number> = {};
  for (const chip of chips) {
    for (const rail of chip.rails) {
      const mv = await readOptional(files, rail.files.voltage);
      const ma = await readOptional(files, rail.files.current);
      let powerMw: number | null = null;
      if (rail.product) {
        if (mv === undefined || ma === undefined) continue;
        powerMw = (mv * ma) / 1000;
      } else {
        const uw = await readOptional(files, rail.files.powerInput);
        if (uw !== undefined) powerMw = uw / 1000;
      }
      const avgUw = await readOptional(files, rail.files.powerAverage);
      if (powerMw === null && avgUw === undefined) continue;
      const sample: RailSample = { name: rail.name, powerMw };
      if (avgUw !== undefined) sample.toolAverageMw = avgUw / 1000;
      if (mv !== undefined) sample.voltageMv = mv;
      if (ma !== undefined) sample.currentMa = ma;
      rails.push(sample);
    }
    for (const t of chip.temperatures) {
      const milli = await readOptional(files, t.file);
      if (milli !== undefined) temperaturesC[t.name] = milli / 1000;
    }
  }
  return { rails, temperaturesC };
}

export interface HwmonProbeOptions {
  /** Where to read; default this machine. */
  files?: FileSource;
  /** A directory standing for "/" (tests point it at a fake sysfs tree); ignored when `files` is given. */
  root?: string;
}

export function createHwmonProbe(opts: HwmonProbeOptions = {}): Probe {
  const files = opts.files ?? localFiles(opts.root ?? '/');
  let layout: HwmonChipLayout[] | null = null;

  const discover = async (): Promise<HwmonChipLayout[]> => (layout ??= await discoverHwmon(files));

  const detect = async (): Promise<ProbeAvailability> => {
    let chips: HwmonChipLayout[];
    try {
      chips = await discoverHwmon(files);
    } catch (err) {
      const missing = err instanceof FileReadError && err.problem === 'missing';
      return {
        probe: 'hwmon',
        available: false,
        reason: missing ? `${HWMON_DIR} does not exist here (no hwmon sensors exposed to this kernel)` : errorMessage(err),
      };
    }
    if (chips.length === 0) return { probe: 'hwmon', available: false, reason: `${HWMON_DIR} has no hwmon devices` };
    const rails = chips.reduce((n, c) => n + c.rails.length, 0);
    const temps = chips.reduce((n, c) => n + c.temperatures.length, 0);
    if (rails + temps === 0) {
      return { probe: 'hwmon', available: false, reason: `${chips.length} hwmon device(s) (${chips.map((c) => c.chip).join(', ')}) with no power or temperature inputs` };
    }
    const list = chips.map((c) => `${c.chip}: ${c.rails.length} power, ${c.temperatures.length} temperature`).join('; ');
    return {
      probe: 'hwmon',
      available: true,
      reason: rails === 0 ? `temperatures only, no power inputs (${list})` : list,
    };
  };

  const snapshot = async (): Promise<ProbeSnapshot> => {
    const facts: Record<string, string> = {};
    const warnings: string[] = [];
    try {
      for (const chip of await discoverHwmon(files)) {
        facts[`hwmon.${chip.dir.split('/').pop()}`] = `${chip.chip}${chip.rails.length ? ` rails=${chip.rails.map((r) => r.name).join(',')}` : ''}`;
      }
    } catch (err) {
      warnings.push(`hwmon: ${errorMessage(err)}`);
    }
    return { probe: 'hwmon', facts, warnings };
  };

  return createPolledProbe({
    name: 'hwmon',
    detect,
    snapshot,
    reset: () => {
      layout = null;
    },
    prepare: async () => {
      await discover();
    },
    async read(clock: Clock): Promise<HwSample> {
      const chips = await discover();
      const t0 = clock.now();
      const { rails, temperaturesC } = await readHwmon(files, chips);
      const sample: HwSample = { tMs: midpointOf(clock, t0), probe: 'hwmon' };
      if (rails.length) sample.rails = rails;
      if (Object.keys(temperaturesC).length) sample.temperaturesC = temperaturesC;
      return sample;
    },
  });
}

export const HWMON_PROBE: ProbeDescriptor = {
  name: 'hwmon',
  description: 'any Linux: /sys/class/hwmon (INA3221 on JetPack 5+, ina2xx, temperatures); powerN_input, or V x I for INA3221',
  samples: ['power', 'temperature'],
  tools: [],
  create: ({ files }) => createHwmonProbe({ files }),
};
