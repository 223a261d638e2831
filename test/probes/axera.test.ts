import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClock } from '../../core/clock.ts';
import { ParseError } from '../../core/errors.ts';
import { parseAxclCmmInfo, parseAxclSmi, parseCmmInfo, parseMeminfo, parseNpuTop } from '../../hw-probes/axera/parse.ts';
import { createAxeraProbe } from '../../hw-probes/axera/probe.ts';
import { tempDir } from '../helpers/tmp.ts';

// Fixtures keep their "### source:" line (repository, file, commit) and the shell prompt lines
// of the documentation they were copied from.
const fixture = (name: string): string => readFileSync(join(import.meta.dirname, '../fixtures', name), 'utf8');
/** The text after the prompt line that ran `command`, up to the next blank line. */
const outputOf = (text: string, command: string): string => {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.includes(command));
  const end = lines.findIndex((l, i) => i > at && l.trim() === '');
  return lines.slice(at + 1, end < 0 ? undefined : end).join('\n');
};

describe('CMM from /proc/ax_proc/mem_cmm_info', () => {
  it('reads a dump cut short (axcl-docs): partition size and nbytes Cur', () => {
    const cmm = parseCmmInfo(fixture('probes-axera-mem-cmm-info.txt'), 'axcl-docs');
    expect(cmm).toEqual({
      sdkVersion: 'ax_cmm V2.26.0_20250211193319 Feb 11 2025 19:52:13 JK',
      partitions: [{ name: 'anonymous', totalKb: 3145728, usedKb: 18876 }],
      totalKb: 3145728,
      usedKb: 18876,
    });
    // The same card's `axcl-smi info --cmm` agrees.
    expect(parseAxclCmmInfo(fixture('probes-axera-axcl-cmm.txt'))).toEqual({ totalKb: 3145728, usedKb: 18876 });
  });

  it('reads a complete dump (radxa-docs) including the CMM_USE_INFO totals', () => {
    const cmm = parseCmmInfo(fixture('probes-axera-radxa-mem-cmm-info.txt'), 'radxa');
    expect(cmm.totalKb).toBe(7208960);
    expect(cmm.usedKb).toBe(18876);
    expect(cmm.sdkVersion).toBe('ax_cmm V3.6.5_20250908154509 Sep  8 2025 16:04:54 JK');
    expect(parseAxclCmmInfo(fixture('probes-axera-radxa-cmm.txt'))).toEqual({ totalKb: 7208960, usedKb: 18876 });
  });

  it('rejects text that is not a CMM dump', () => {
    expect(() => parseCmmInfo('nothing here', 'cmm')).toThrow(ParseError);
    expect(() => parseCmmInfo('nothing here', 'cmm')).toThrow(/cmm: no "PARTITION: \.\.\. Size=NKB" line found/);
    expect(() => parseCmmInfo('+---PARTITION: Phys(0x1, 0x2), Size=10KB(0MB), NAME="a"\n', 'cmm')).toThrow(/cmm:1: partition line without/);
  });
});

describe('NPU utilisation from /proc/ax_proc/npu/top', () => {
  it('reads a busy NPU (AX8850 board guide)', () => {
    const text = outputOf(fixture('probes-axera-ax8850-board.txt'), 'cat /proc/ax_proc/npu/top');
    expect(text).toBe('core:vnpu-Non\ntime:568387\nperiod:1000000\nutilization:96%');
    expect(parseNpuTop(text)).toEqual({ state: 'busy', loadPct: 96, perCorePct: { 'vnpu-Non': 96 } });
  });

  it('averages several virtual cores', () => {
    const text = 'core:vnpu_stdd_1\ntime:10\nperiod:1000000\nutilization:90%\ncore:vnpu_stdd_2\ntime:10\nperiod:1000000\nutilization:30%\n';
    expect(parseNpuTop(text)).toEqual({ state: 'busy', loadPct: 60, perCorePct: { vnpu_stdd_1: 90, vnpu_stdd_2: 30 } });
  });

  it('tells idle from disabled, and rejects garbage with its line', () => {
    // Messages as the AXCL FAQ documents them.
    expect(parseNpuTop('nputop info is empty!\n')).toEqual({ state: 'idle', loadPct: 0, message: 'nputop info is empty!' });
    expect(parseNpuTop('nputop info not updated over 1000 ms!')).toMatchObject({ state: 'idle', loadPct: 0 });
    expect(parseNpuTop('nputop info is not enabled!')).toMatchObject({ state: 'disabled' });
    expect(() => parseNpuTop('core:x\nutilization:lots\n', 'top')).toThrow('top:2: utilization "lots" is not a percentage');
    expect(() => parseNpuTop('hello there\n', 'top')).toThrow(/top:1: expected "key:value"/);
  });
});

describe('axcl-smi card table', () => {
  it('V2.18.0 (axcl-docs): idle card', () => {
    expect(parseAxclSmi(fixture('probes-axera-axcl-smi-v2.18.txt'))).toEqual({
      version: 'V2.18.0',
      driver: 'V2.18.0',
      cards: [
        {
          index: 0,
          name: 'AX650N',
          firmware: 'V2.18.0',
          busId: '0001:81:00.0',
          temperatureC: 52,
          cpuPct: 3,
          npuPct: 0,
          memUsedMiB: 181,
          memTotalMiB: 954,
          cmmUsedMiB: 22,
          cmmTotalMiB: 3072,
        },
      ],
    });
  });

  it('V3.6.5 (radxa-docs) and V3.6.4 with a busy NPU and process rows', () => {
    const radxa = parseAxclSmi(fixture('probes-axera-radxa-axcl-smi.txt'));
    expect(radxa.version).toBe('V3.6.5_20250908154509');
    expect(radxa.cards[0]).toMatchObject({ busId: '0001:11:00.0', temperatureC: 81, cpuPct: 1, npuPct: 0, cmmUsedMiB: 18, cmmTotalMiB: 7040 });
    const busy = parseAxclSmi(fixture('probes-axera-ax8850-board.txt'));
    expect(busy.cards).toHaveLength(1);
    expect(busy.cards[0]).toMatchObject({ firmware: 'V3.6.4', temperatureC: 57, cpuPct: 2, npuPct: 97, memUsedMiB: 193, cmmUsedMiB: 1408, cmmTotalMiB: 7040 });
    expect(() => parseAxclSmi('axcl-smi: command not found', 'axcl-smi')).toThrow(/axcl-smi: no card rows found/);
  });
});

function fakeBoard(files: Record<string, string>): string {
  const root = tempDir('probes-axera-');
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), c);
  }
  return root;
}

describe('Axera probe on a fake AX650N procfs', () => {
  // The file's content as the card printed it: everything after the source and prompt lines.
  const cmmText = fixture('probes-axera-radxa-mem-cmm-info.txt').split('\n').slice(2).join('\n');
  const busyRoot = fakeBoard({
    '/proc/ax_proc/mem_cmm_info': cmmText,
    '/proc/ax_proc/npu/top': 'core:vnpu-Non\ntime:568387\nperiod:1000000\nutilization:96%\n',
    '/proc/ax_proc/version': 'Ax_Version V3.6.5\n',
    '/sys/class/thermal/thermal_zone0/type': 'soc_thermal\n',
    '/sys/class/thermal/thermal_zone0/temp': '49263\n',
    '/proc/meminfo': 'MemTotal:        3500000 kB\nMemFree:          500000 kB\nMemAvailable:    2000000 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n',
  });

  it('detects it, says there is no power sensor, and samples CMM, NPU, temperature, RAM', async () => {
    const probe = createAxeraProbe({ root: busyRoot });
    const a = await probe.detect();
    expect(a.available).toBe(true);
    expect(a.reason).toBe('CMM 7040 MB on ' + busyRoot + '; NPU utilisation available; no power sensor (use an external meter)');
    const s = await probe.readOnce(createClock());
    expect(s.cmm).toEqual({ usedKb: 18876, totalKb: 7208960 });
    expect(s.npu).toEqual({ loadPct: 96, perCorePct: { 'vnpu-Non': 96 } });
    expect(s.temperaturesC).toEqual({ soc_thermal: 49.263 });
    expect(s.ram!.totalMb).toBeCloseTo(3500000 / 1024, 9);
    expect(s.ram!.usedMb).toBeCloseTo(1500000 / 1024, 9);
    expect(s.swap).toBeUndefined();
    expect(s.rails).toBeUndefined();
    const snap = await probe.snapshot();
    expect(snap.facts['axera.bsp_version']).toBe('Ax_Version V3.6.5');
    expect(snap.facts['axera.cmm_total_mb']).toBe('7040');
  });

  it('reports NPU statistics that are switched off, and a board that is not Axera', async () => {
    const offRoot = fakeBoard({ '/proc/ax_proc/mem_cmm_info': cmmText, '/proc/ax_proc/npu/top': 'nputop info is not enabled!\n' });
    const probe = createAxeraProbe({ root: offRoot });
    expect((await probe.detect()).reason).toContain('NPU utilisation statistics are off (echo 1 > /proc/ax_proc/npu/enable, or enableNpuStats)');
    await probe.start(createClock(), 20);
    await new Promise((r) => setTimeout(r, 50));
    const run = await probe.stop();
    expect(run.samples.length).toBeGreaterThan(0);
    expect(run.samples[0]!.npu).toBeUndefined();
    expect(run.warnings).toContain('NPU utilisation not sampled: statistics are off (echo 1 > /proc/ax_proc/npu/enable)');

    const none = createAxeraProbe({ root: fakeBoard({ '/etc/hostname': 'vm\n' }) });
    expect((await none.detect()).reason).toMatch(/^no \/proc\/ax_proc\/mem_cmm_info on .* \(not an Axera board; for a PCIe\/M\.2 card use axclDevice\)$/);
  });

  it('turns the statistics on only when asked', async () => {
    const root = fakeBoard({ '/proc/ax_proc/mem_cmm_info': cmmText, '/proc/ax_proc/npu/top': 'nputop info is empty!\n', '/proc/ax_proc/npu/enable': '0\n' });
    const probe = createAxeraProbe({ root, enableNpuStats: true });
    await probe.start(createClock(), 50);
    const run = await probe.stop();
    expect(readFileSync(join(root, '/proc/ax_proc/npu/enable'), 'utf8')).toBe('1');
    expect(run.samples[0]?.npu).toEqual({ loadPct: 0 });
  });

  it('reads /proc/meminfo as `free` does', () => {
    expect(parseMeminfo('MemTotal: 2048 kB\nMemAvailable: 1024 kB\nSwapTotal: 1024 kB\nSwapFree: 256 kB\n')).toEqual({ usedMb: 1, totalMb: 2, swapTotalMb: 1, swapUsedMb: 0.75 });
    expect(() => parseMeminfo('nothing', 'meminfo')).toThrow('meminfo: expected MemTotal and MemAvailable lines');
  });
});
