import type { Clock } from '../../core/clock.ts';
import { errorMessage, FileReadError } from '../../core/errors.ts';
import { commandFiles, localFiles, tryReadText, type FileSource } from '../files.ts';
import { readClockFacts, readThermalZones } from '../linux-facts.ts';
import { createPolledProbe, midpointOf } from '../polling.ts';
import type { Probe, ProbeAvailability, ProbeSnapshot } from '../probe.ts';
import type { CommandTransport } from '../../targets/command-transport.ts';
import type { HwSample } from '../../core/probe-types.ts';
import { parseAxclSmi, parseCmmInfo, parseMeminfo, parseNpuTop } from './parse.ts';

export const CMM_INFO = '/proc/ax_proc/mem_cmm_info';
export const NPU_TOP = '/proc/ax_proc/npu/top';
export const NPU_ENABLE = '/proc/ax_proc/npu/enable';

export interface AxeraProbeOptions {
  /**
   * For an AX650N board: where its procfs is read (default this machine; `root` for a fake tree).
   * For a PCIe/M.2 card: leave unset and give `transport` + `axclDevice`.
   */
  files?: FileSource;
  root?: string;
  /** Host transport; with `axclDevice` the card's files are read through `axcl-smi sh cat`. */
  transport?: CommandTransport;
  axclDevice?: number;
  /**
   * NPU statistics are off until "1" is written to /proc/ax_proc/npu/enable. Writing it changes
   * the board's state, so it is only done when asked.
   */
  enableNpuStats?: boolean;
}

/**
 * Axera AX650N sampler: CMM used/total, NPU utilisation (npu/top), SoC temperatures (thermal
 * zones) and RAM. No power: no Axera tool exposes a power sensor, so board energy needs an
 * external meter (detect() says so).
 */
export function createAxeraProbe(opts: AxeraProbeOptions = {}): Probe {
  const card = opts.axclDevice;
  const files: FileSource =
    opts.files ??
    (card !== undefined && opts.transport
      ? commandFiles(opts.transport, `axcl-smi device ${card}`, (argv) => ['axcl-smi', 'sh', ...argv, '-d', String(card)])
      : opts.transport && opts.transport.name !== 'local'
        ? commandFiles(opts.transport, opts.transport.name)
        : localFiles(opts.root ?? '/'));
  let npuNote: string | null = null;

  const detect = async (): Promise<ProbeAvailability> => {
    try {
      const cmm = parseCmmInfo(await files.readText(CMM_INFO), CMM_INFO);
      const npu = await tryReadText(files, NPU_TOP);
      let npuState = 'NPU utilisation not exposed (no /proc/ax_proc/npu/top)';
      if (npu !== null) {
        const top = safeNpuTop(npu);
        npuState =
          top === null
            ? 'NPU utilisation unreadable'
            : top.state === 'disabled'
              ? `NPU utilisation statistics are off (${opts.enableNpuStats ? 'will enable' : `echo 1 > ${NPU_ENABLE}, or enableNpuStats`})`
              : 'NPU utilisation available';
      }
      return {
        probe: 'axera',
        available: true,
        reason: `CMM ${Math.round(cmm.totalKb / 1024)} MB on ${files.description}; ${npuState}; no power sensor (use an external meter)`,
      };
    } catch (err) {
      if (err instanceof FileReadError && err.problem === 'missing') {
        return {
          probe: 'axera',
          available: false,
          reason:
            card !== undefined
              ? `${CMM_INFO} not readable through axcl-smi on device ${card}`
              : `no ${CMM_INFO} on ${files.description} (not an Axera board; for a PCIe/M.2 card use axclDevice)`,
        };
      }
      return { probe: 'axera', available: false, reason: errorMessage(err) };
    }
  };

  const snapshot = async (): Promise<ProbeSnapshot> => {
    const facts: Record<string, string> = {};
    const warnings: string[] = [];
    const version = (await tryReadText(files, '/proc/ax_proc/version'))?.trim();
    if (version) facts['axera.bsp_version'] = version;
    else warnings.push('Axera BSP version unknown: /proc/ax_proc/version not readable');
    const boardId = (await tryReadText(files, '/proc/ax_proc/board_id'))?.trim();
    if (boardId) facts['axera.board_id'] = boardId;
    const model = (await tryReadText(files, '/proc/device-tree/model'))?.replace(/\0/g, '').trim();
    if (model) facts['board.model'] = model;
    try {
      const cmm = parseCmmInfo(await files.readText(CMM_INFO), CMM_INFO);
      facts['axera.cmm_total_mb'] = String(Math.round(cmm.totalKb / 1024));
      if (cmm.sdkVersion) facts['axera.cmm_sdk'] = cmm.sdkVersion;
    } catch (err) {
      warnings.push(`CMM size unknown: ${errorMessage(err)}`);
    }
    if (card !== undefined && opts.transport) {
      const res = await opts.transport.run(['axcl-smi'], { timeoutMs: 10_000 });
      try {
        const table = parseAxclSmi(res.stdout, 'axcl-smi');
        if (table.version) facts['axcl.smi_version'] = table.version;
        if (table.driver) facts['axcl.driver'] = table.driver;
        const c = table.cards.find((x) => x.index === card);
        if (c) {
          facts['axcl.card'] = `${c.name} firmware ${c.firmware} at ${c.busId}`;
        }
      } catch (err) {
        warnings.push(`axcl-smi: ${res.error ?? errorMessage(err)}`);
      }
    }
    Object.assign(facts, await readClockFacts(files));
    return { probe: 'axera', facts, warnings };
  };

  const read = async (clock: Clock): Promise<HwSample> => {
    const t0 = clock.now();
    const cmmText = await files.readText(CMM_INFO);
    const npuText = await tryReadText(files, NPU_TOP);
    const temps = await readThermalZones(files);
    const memText = await tryReadText(files, '/proc/meminfo');
    const sample: HwSample = { tMs: midpointOf(clock, t0), probe: 'axera' };
    const cmm = parseCmmInfo(cmmText, CMM_INFO);
    sample.cmm = { usedKb: cmm.usedKb, totalKb: cmm.totalKb };
    if (npuText !== null) {
      const top = parseNpuTop(npuText, NPU_TOP);
      if (top.state === 'disabled') npuNote = `NPU utilisation not sampled: statistics are off (echo 1 > ${NPU_ENABLE})`;
      else sample.npu = top.state === 'busy' ? { loadPct: top.loadPct, perCorePct: top.perCorePct } : { loadPct: 0 };
    }
    if (Object.keys(temps).length) sample.temperaturesC = temps;
    if (memText) {
      const mem = parseMeminfo(memText);
      sample.ram = { usedMb: mem.usedMb, totalMb: mem.totalMb };
      if (mem.swapTotalMb !== undefined && mem.swapTotalMb > 0) sample.swap = { usedMb: mem.swapUsedMb ?? 0, totalMb: mem.swapTotalMb };
    }
    return sample;
  };

  const probe = createPolledProbe({
    name: 'axera',
    detect,
    snapshot,
    reset: () => {
      npuNote = null;
    },
    read,
  });

  return {
    ...probe,
    async start(clock, intervalMs) {
      if (opts.enableNpuStats && files.writeText) {
        await files.writeText(NPU_ENABLE, '1').catch(() => undefined);
      }
      return probe.start(clock, intervalMs);
    },
    async stop() {
      const run = await probe.stop();
      if (npuNote) run.warnings.push(npuNote);
      return run;
    },
  };
}

function safeNpuTop(text: string): ReturnType<typeof parseNpuTop> | null {
  try {
    return parseNpuTop(text);
  } catch {
    return null;
  }
}
