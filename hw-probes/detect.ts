import type { Clock } from '../core/clock.ts';
import { commandFiles, localFiles, type FileSource } from './files.ts';
import { emptyRun, type Probe, type ProbeSnapshot } from './probe.ts';
import { probeDescriptors } from './registry.ts';
import type { CommandTransport } from '../targets/command-transport.ts';
import type { HwSample } from '../core/probe-types.ts';
import { errorMessage } from '../core/errors.ts';

export interface DetectOptions {
  /** A directory standing for "/" for the file-based probes (tests, or a mounted board image). */
  root?: string;
  /** Read an Axera PCIe/M.2 card through `axcl-smi` on this device index. */
  axclDevice?: number;
  /** Ask the Axera probe to switch NPU statistics on. */
  enableNpuStats?: boolean;
  /** Only these probes. */
  only?: readonly string[];
}

export interface DetectedProbe {
  name: string;
  probe: Probe;
  available: boolean;
  reason: string;
}

/** Every registered probe (hw-probes/registry.ts), wired to the transport (file probes read through it when remote). */
export function createProbes(transport: CommandTransport, opts: DetectOptions = {}): Array<{ name: string; probe: Probe }> {
  const local = transport.name === 'local';
  const files: FileSource = local ? localFiles(opts.root ?? '/') : commandFiles(transport, transport.name);
  const ctx = {
    transport,
    files,
    local,
    ...(opts.axclDevice !== undefined && { axclDevice: opts.axclDevice }),
    ...(opts.enableNpuStats !== undefined && { enableNpuStats: opts.enableNpuStats }),
  };
  const wanted = probeDescriptors().filter((d) => !opts.only || opts.only.includes(d.name));
  return wanted.map((d) => ({ name: d.name, probe: d.thisHostOnly !== undefined && !local ? thisHostOnlyNotice(d.name, d.thisHostOnly) : d.create(ctx) }));
}

/** A probe that reads the host running this process cannot look at a remote board: it says so instead. */
function thisHostOnlyNotice(name: string, reason: string): Probe {
  return {
    name,
    detect: async () => ({ probe: name, available: false, reason }),
    snapshot: async () => ({ probe: name, facts: {}, warnings: [reason] }),
    start: async () => undefined,
    stop: async () => emptyRun(name, reason),
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
  name: string;
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
