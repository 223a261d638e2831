import type { Clock } from '../core/clock.ts';
import { createAxeraProbe } from './axera/probe.ts';
import { commandFiles, localFiles, type FileSource } from './files.ts';
import { createHwmonProbe } from './hwmon.ts';
import { createNvidiaSmiProbe } from './nvidia-smi/probe.ts';
import { createPowercapProbe } from './powercap.ts';
import { emptyRun, type Probe, type ProbeSnapshot } from './probe.ts';
import { createSystemProbe } from './system.ts';
import { createTegrastatsProbe } from './tegrastats/probe.ts';
import type { CommandTransport } from '../targets/command-transport.ts';
import { PROBE_NAMES, type HwSample, type ProbeName } from '../core/probe-types.ts';
import { errorMessage } from '../core/errors.ts';

export { PROBE_NAMES, type ProbeName } from '../core/probe-types.ts';

export interface DetectOptions {
  /** A directory standing for "/" for the file-based probes (tests, or a mounted board image). */
  root?: string;
  /** Read an Axera PCIe/M.2 card through `axcl-smi` on this device index. */
  axclDevice?: number;
  /** Ask the Axera probe to switch NPU statistics on. */
  enableNpuStats?: boolean;
  /** Only these probes. */
  only?: readonly ProbeName[];
}

export interface DetectedProbe {
  name: ProbeName;
  probe: Probe;
  available: boolean;
  reason: string;
}

/** Every probe this suite knows, wired to the transport (file probes read through it when remote). */
export function createProbes(transport: CommandTransport, opts: DetectOptions = {}): Array<{ name: ProbeName; probe: Probe }> {
  const local = transport.name === 'local';
  const files: FileSource = local ? localFiles(opts.root ?? '/') : commandFiles(transport, transport.name);
  const all: Array<{ name: ProbeName; probe: Probe }> = [
    { name: 'tegrastats', probe: createTegrastatsProbe({ transport, files }) },
    {
      name: 'axera',
      probe: createAxeraProbe({
        files: opts.axclDevice !== undefined ? undefined : files,
        transport,
        ...(opts.axclDevice !== undefined && { axclDevice: opts.axclDevice }),
        ...(opts.enableNpuStats !== undefined && { enableNpuStats: opts.enableNpuStats }),
      }),
    },
    { name: 'hwmon', probe: createHwmonProbe({ files }) },
    { name: 'powercap', probe: createPowercapProbe({ files }) },
    { name: 'nvidia-smi', probe: createNvidiaSmiProbe({ transport }) },
    { name: 'system', probe: local ? createSystemProbe() : remoteOnlyNotice() },
  ];
  return opts.only ? all.filter((p) => opts.only!.includes(p.name)) : all;
}

/** The system probe reads the host running this process; it cannot look at a remote board. */
function remoteOnlyNotice(): Probe {
  const reason = 'systeminformation reads this host only; use tegrastats/hwmon/axera for a remote board';
  return {
    name: 'system',
    detect: async () => ({ probe: 'system', available: false, reason }),
    snapshot: async () => ({ probe: 'system', facts: {}, warnings: [reason] }),
    start: async () => undefined,
    stop: async () => emptyRun('system', reason),
    readOnce: async () => {
      throw new Error(reason);
    },
  };
}

/** Each probe with whether it can read anything here and why (not). Never throws. */
export async function detectProbes(transport: CommandTransport, opts: DetectOptions = {}): Promise<DetectedProbe[]> {
  const out: DetectedProbe[] = [];
  // One after another: detection spawns tools, and the machine may be a 2-core board.
  for (const { name, probe } of createProbes(transport, opts)) {
    try {
      const a = await probe.detect();
      out.push({ name, probe, available: a.available, reason: a.reason });
    } catch (err) {
      out.push({ name, probe, available: false, reason: `detection failed: ${errorMessage(err)}` });
    }
  }
  return out;
}

export interface LiveReading {
  name: ProbeName;
  sample?: HwSample;
  error?: string;
}

/** One live reading from each available probe, for `bench probe`. */
export async function readOnce(detected: readonly DetectedProbe[], clock: Clock): Promise<LiveReading[]> {
  const out: LiveReading[] = [];
  for (const d of detected) {
    if (!d.available) continue;
    try {
      out.push({ name: d.name, sample: await d.probe.readOnce(clock) });
    } catch (err) {
      out.push({ name: d.name, error: errorMessage(err) });
    }
  }
  return out;
}

/** Static facts of every available probe, merged (later probes do not overwrite earlier keys). */
export async function snapshotAll(detected: readonly DetectedProbe[]): Promise<{ facts: Record<string, string>; snapshots: ProbeSnapshot[] }> {
  const facts: Record<string, string> = {};
  const snapshots: ProbeSnapshot[] = [];
  for (const d of detected) {
    if (!d.available) continue;
    const snap = await d.probe.snapshot().catch((err: Error) => ({ probe: d.name, facts: {}, warnings: [err.message] }));
    snapshots.push(snap);
    for (const [k, v] of Object.entries(snap.facts)) if (!(k in facts)) facts[k] = v;
  }
  return { facts, snapshots };
}
