import { commandFiles, localFiles, tryReadText, type FileSource } from '../files.ts';
import { readClockFacts } from '../linux-facts.ts';
import type { Probe, ProbeAvailability, ProbeSnapshot } from '../probe.ts';
import { createStreamedProbe } from '../streaming.ts';
import type { CommandTransport } from '../../targets/command-transport.ts';
import { parseDeviceTreeModel, parseNvpmodelQuery, parseNvTegraRelease } from './facts.ts';
import { parseTegrastatsLine, tegrastatsToSample } from './parse.ts';

export interface TegrastatsProbeOptions {
  transport: CommandTransport;
  /** Where board facts are read; defaults to this machine for a local transport, `cat` otherwise. */
  files?: FileSource;
  /** The tegrastats executable; default "tegrastats" from PATH. */
  executable?: string;
}

/**
 * Jetson sampler: runs `tegrastats --interval N` and parses each line. Rails are INA3221 readings
 * in mW; the first value is instantaneous, the second tegrastats' running average (kept, never
 * integrated). For sub-100 ms resolution, the hwmon probe reads the same INA3221 directly.
 */
export function createTegrastatsProbe(opts: TegrastatsProbeOptions): Probe {
  const { transport } = opts;
  const exe = opts.executable ?? 'tegrastats';
  const files = opts.files ?? (transport.name === 'local' ? localFiles() : commandFiles(transport, transport.name));
  let lineNo = 0;

  const detect = async (): Promise<ProbeAvailability> => {
    const res = await transport.run([exe, '--help'], { timeoutMs: 5000 });
    if (res.error) {
      return {
        probe: 'tegrastats',
        available: false,
        reason: /not found/.test(res.error)
          ? `${exe} not found on ${transport.name === 'local' ? 'PATH' : transport.name} (not a Jetson, or L4T tools not installed)`
          : res.error,
      };
    }
    return { probe: 'tegrastats', available: true, reason: `${exe} runs on ${transport.name}` };
  };

  const snapshot = async (): Promise<ProbeSnapshot> => {
    const facts: Record<string, string> = {};
    const warnings: string[] = [];
    const model = parseDeviceTreeModel((await tryReadText(files, '/proc/device-tree/model')) ?? '');
    if (model) facts['board.model'] = model;
    else warnings.push('board model unknown: /proc/device-tree/model not readable');
    const release = parseNvTegraRelease((await tryReadText(files, '/etc/nv_tegra_release')) ?? '');
    if (release) {
      facts['l4t.release'] = release.l4t;
      if (release.board) facts['l4t.board'] = release.board;
    } else warnings.push('L4T release unknown: /etc/nv_tegra_release missing or not recognised');
    const jetpack = await transport.run(['dpkg-query', '-W', '-f=${Version}', 'nvidia-jetpack'], { timeoutMs: 5000 });
    if (jetpack.code === 0 && jetpack.stdout.trim()) facts['jetpack.version'] = jetpack.stdout.trim();
    else warnings.push('JetPack version unknown: package nvidia-jetpack not installed (the L4T release identifies the BSP)');
    const nvp = await transport.run(['nvpmodel', '-q'], { timeoutMs: 5000 });
    const mode = parseNvpmodelQuery(`${nvp.stdout}\n${nvp.stderr}`);
    if (mode) {
      facts['power.nvpmodel'] = mode.mode;
      if (mode.id !== undefined) facts['power.nvpmodel_id'] = String(mode.id);
    } else warnings.push(`power mode unknown: nvpmodel -q ${nvp.error ?? `printed nothing recognisable (exit ${nvp.code})`}`);
    Object.assign(facts, await readClockFacts(files));
    return { probe: 'tegrastats', facts, warnings };
  };

  return createStreamedProbe({
    name: 'tegrastats',
    transport,
    detect,
    snapshot,
    command: (intervalMs) => [exe, '--interval', String(Math.max(1, Math.round(intervalMs)))],
    reset: () => {
      lineNo = 0;
    },
    parseLine: (line, tMs) => {
      lineNo += 1;
      return tegrastatsToSample(parseTegrastatsLine(line, 'tegrastats output', lineNo), tMs);
    },
  });
}
