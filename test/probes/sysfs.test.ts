import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClock, type Clock } from '../../core/clock.ts';
import type { FileSource } from '../../hw-probes/files.ts';
import { localFiles } from '../../hw-probes/files.ts';
import { createHwmonProbe, discoverHwmon, readHwmon } from '../../hw-probes/hwmon.ts';
import { boardPowerSeries, raplEnergySeries } from '../../hw-probes/power-series.ts';
import type { Probe } from '../../hw-probes/probe.ts';
import { startProbes } from '../../hw-probes/session.ts';
import { counterDeltaUj, createPowercapProbe, discoverPowercap, EnergyAccumulator, raplTotalZones } from '../../hw-probes/powercap.ts';
import { counterWindowEnergy } from '../../core/energy.ts';
import { tempDir } from '../helpers/tmp.ts';

/** A fake sysfs: path -> content, written under a fresh temp dir that stands for "/". */
function fakeTree(files: Record<string, string>): string {
  const root = tempDir('probes-sysfs-');
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return root;
}

const H = '/sys/class/hwmon';
// Layouts per the kernel hwmon ABI: an INA3221 as on Jetson JetPack 5+ (labels, bus mV, mA, no
// power file), an INA226 (ina2xx driver: power µW), and a CPU temperature sensor.
const HWMON_TREE = {
  [`${H}/hwmon0/name`]: 'ina3221\n',
  [`${H}/hwmon0/in1_label`]: 'VDD_IN\n',
  [`${H}/hwmon0/in1_input`]: '5008\n',
  [`${H}/hwmon0/curr1_input`]: '1264\n',
  [`${H}/hwmon0/in2_label`]: 'VDD_CPU_GPU_CV\n',
  [`${H}/hwmon0/in2_input`]: '5016\n',
  [`${H}/hwmon0/curr2_input`]: '160\n',
  [`${H}/hwmon0/in3_label`]: 'NC\n',
  [`${H}/hwmon0/in3_input`]: '0\n',
  [`${H}/hwmon0/curr3_input`]: '0\n',
  [`${H}/hwmon0/in4_input`]: '12\n', // shunt voltage of channel 1
  [`${H}/hwmon0/curr4_input`]: '1424\n', // summed current: in4 x curr4 is not a rail
  [`${H}/hwmon1/name`]: 'ina226\n',
  [`${H}/hwmon1/in0_input`]: '2\n',
  [`${H}/hwmon1/in1_input`]: '12000\n',
  [`${H}/hwmon1/curr1_input`]: '250\n',
  [`${H}/hwmon1/power1_input`]: '3000000\n',
  [`${H}/hwmon1/power1_average`]: '2750000\n',
  [`${H}/hwmon2/name`]: 'k10temp\n',
  [`${H}/hwmon2/temp1_label`]: 'Tctl\n',
  [`${H}/hwmon2/temp1_input`]: '45500\n',
  [`${H}/hwmon2/temp2_input`]: '38125\n',
  [`${H}/hwmon3/name`]: 'amdgpu\n',
  [`${H}/hwmon3/power1_average`]: '17000000\n', // only a smoothed figure
};

describe('hwmon on a fake sysfs tree', () => {
  const root = fakeTree(HWMON_TREE);
  const files = localFiles(root);

  it('discovers rails and temperatures per chip', async () => {
    const chips = await discoverHwmon(files);
    expect(chips.map((c) => [c.chip, c.rails.map((r) => r.name), c.temperatures.map((t) => t.name)])).toEqual([
      ['ina3221', ['VDD_IN', 'VDD_CPU_GPU_CV'], []],
      ['ina226', ['ina226.power1'], []],
      ['k10temp', [], ['Tctl', 'k10temp.temp2']],
      ['amdgpu', ['amdgpu.power1'], []],
    ]);
  });

  it('computes INA3221 power as V x I, keeps power_average apart, converts units', async () => {
    const { rails, temperaturesC } = await readHwmon(files, await discoverHwmon(files));
    expect(rails).toEqual([
      { name: 'VDD_IN', powerMw: (5008 * 1264) / 1000, voltageMv: 5008, currentMa: 1264 },
      { name: 'VDD_CPU_GPU_CV', powerMw: (5016 * 160) / 1000, voltageMv: 5016, currentMa: 160 },
      { name: 'ina226.power1', powerMw: 3000, toolAverageMw: 2750, voltageMv: 12000, currentMa: 250 },
      { name: 'amdgpu.power1', powerMw: null, toolAverageMw: 17000 },
    ]);
    expect(temperaturesC).toEqual({ Tctl: 45.5, 'k10temp.temp2': 38.125 });
  });

  it('samples on the run clock and picks VDD_IN as board power', async () => {
    const probe = createHwmonProbe({ root });
    expect(await probe.detect()).toMatchObject({ available: true, reason: expect.stringContaining('ina3221: 2 power, 0 temperature') });
    const clock = createClock();
    await probe.start(clock, 20);
    await new Promise((r) => setTimeout(r, 130));
    const run = await probe.stop();
    // Ticks may be skipped on a loaded machine (reported, not an error); nothing else may warn.
    expect(run.warnings.filter((w) => !/tick\(s\) skipped/.test(w))).toEqual([]);
    expect(run.alignment).toEqual({ offsetMs: 0, errorMs: 0, method: 'local: read and stamped on the run clock' });
    expect(run.samples.length).toBeGreaterThanOrEqual(4);
    const times = run.samples.map((s) => s.tMs);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(times[0]!).toBeGreaterThanOrEqual(run.startedMs);
    expect(times.at(-1)!).toBeLessThanOrEqual(run.stoppedMs);
    const series = boardPowerSeries(run.samples);
    expect(series.basis).toBe('VDD_IN');
    expect(series.points[0]!.watts).toBeCloseTo(6.330112, 9);
  });

  it('runs beside other probes in a session; one that cannot start is a warning', async () => {
    const broken: Probe = {
      name: 'broken',
      detect: async () => ({ probe: 'broken', available: true, reason: '' }),
      snapshot: async () => ({ probe: 'broken', facts: {}, warnings: [] }),
      start: async () => {
        throw new Error('device busy');
      },
      stop: async () => {
        throw new Error('never started');
      },
      readOnce: async () => {
        throw new Error('no');
      },
    };
    const clock = createClock();
    const session = await startProbes([{ probe: createHwmonProbe({ root }) }, { probe: broken, intervalMs: 5 }], clock, 25);
    await new Promise((r) => setTimeout(r, 80));
    const [hw, br] = await session.stop();
    expect(hw!.probe).toBe('hwmon');
    expect(hw!.intervalMs).toBe(25);
    expect(hw!.samples.length).toBeGreaterThan(0);
    expect(br).toMatchObject({ probe: 'broken', samples: [], warnings: ['broken: could not start: device busy'] });
  });

  it('says plainly when there is no hwmon at all', async () => {
    const empty = fakeTree({ '/etc/hostname': 'x\n' });
    const probe = createHwmonProbe({ root: empty });
    expect(await probe.detect()).toEqual({
      probe: 'hwmon',
      available: false,
      reason: '/sys/class/hwmon does not exist here (no hwmon sensors exposed to this kernel)',
    });
    await probe.start(createClock(), 10);
    const run = await probe.stop();
    expect(run.samples).toEqual([]);
    expect(run.warnings).toEqual(['hwmon: not sampled: /sys/class/hwmon does not exist here (no hwmon sensors exposed to this kernel)']);
  });
});

const P = '/sys/class/powercap';

describe('powercap / RAPL', () => {
  it('undoes a wrap-around with max_energy_range_uj', () => {
    expect(counterDeltaUj(100, 250, 1_000_000)).toBe(150);
    expect(counterDeltaUj(999_900, 50, 1_000_000)).toBe(150);
    const acc = new EnergyAccumulator();
    const zone = { id: 'intel-rapl:0', name: 'package-0', isSubzone: false, isMmio: false, energyFile: '', maxRangeUj: 262_143_328_850 };
    expect(acc.update(zone, 262_143_000_000, 0)).toEqual({ name: 'package-0', joules: 0 });
    // 328_850 µJ to the top, then 671_150 µJ after the wrap: 1 J in 100 ms = 10 W.
    const s = acc.update(zone, 671_150, 100);
    expect(s.joules).toBeCloseTo(1, 12);
    expect(s.intervalPowerMw).toBeCloseTo(10_000, 9);
  });

  it('discovers zones with qualified names and chooses the total', async () => {
    const root = fakeTree({
      [`${P}/intel-rapl/enabled`]: '1\n',
      [`${P}/intel-rapl:0/name`]: 'package-0\n',
      [`${P}/intel-rapl:0/energy_uj`]: '1000\n',
      [`${P}/intel-rapl:0/max_energy_range_uj`]: '262143328850\n',
      [`${P}/intel-rapl:0:0/name`]: 'core\n',
      [`${P}/intel-rapl:0:0/energy_uj`]: '500\n',
      [`${P}/intel-rapl:0:0/max_energy_range_uj`]: '262143328850\n',
      [`${P}/intel-rapl:0:2/name`]: 'dram\n',
      [`${P}/intel-rapl:0:2/energy_uj`]: '300\n',
      [`${P}/intel-rapl:0:2/max_energy_range_uj`]: '65712999613\n',
    });
    const zones = await discoverPowercap(localFiles(root));
    expect(zones.map((z) => [z.id, z.name, z.isSubzone, z.maxRangeUj])).toEqual([
      ['intel-rapl:0', 'package-0', false, 262143328850],
      ['intel-rapl:0:0', 'package-0/core', true, 262143328850],
      ['intel-rapl:0:2', 'package-0/dram', true, 65712999613],
    ]);
    expect(raplTotalZones(zones.map((z) => z.name))).toEqual({ names: ['package-0', 'package-0/dram'], basis: 'RAPL package-0 + package-0/dram' });
    expect(raplTotalZones(['package-0', 'psys'])).toEqual({ names: ['psys'], basis: 'RAPL psys (platform)' });
  });

  it('samples a counter that wraps and integrates phases from it', async () => {
    // A scripted counter: each read of energy_uj returns the next value (max range 1e6 µJ).
    const raw = [999_000, 999_500, 200, 700, 1_200, 1_700, 2_200, 2_700, 3_200, 3_700, 4_200, 4_700, 5_200];
    let reads = 0;
    const files: FileSource = {
      description: 'scripted',
      async list(dir) {
        if (dir === P) return ['intel-rapl:0'];
        throw new Error(`unexpected list ${dir}`);
      },
      async readText(path) {
        if (path === `${P}/intel-rapl:0/name`) return 'package-0\n';
        if (path === `${P}/intel-rapl:0/max_energy_range_uj`) return '1000000\n';
        if (path === `${P}/intel-rapl:0/energy_uj`) return `${raw[Math.min(reads++, raw.length - 1)]}\n`;
        throw new Error(`unexpected read ${path}`);
      },
    };
    // A clock that advances 10 ms per call keeps the timestamps deterministic.
    let now = 0;
    const clock: Clock = { now: () => (now += 10), originEpochMs: 0 };
    const probe = createPowercapProbe({ files });
    expect((await probe.detect()).available).toBe(true);
    reads = 0;
    await probe.start(clock, 1);
    await new Promise((r) => setTimeout(r, 60));
    const run = await probe.stop();
    const joules = run.samples.map((s) => s.energyCounters![0]!.joules);
    // start() re-runs detect(), which reads 999_000 once; sampling then sees 999_500 (origin),
    // 200 (wrapped: 500 + 200), 700, 1_200.
    expect(joules.slice(0, 4).map((j) => Math.round(j * 1e6))).toEqual([0, 700, 1200, 1700]);
    const series = raplEnergySeries(run.samples);
    expect(series.basis).toBe('RAPL package-0');
    const first = series.points[0]!.tMs;
    const e = counterWindowEnergy(series.points, { name: 'w', startMs: first, endMs: series.points[3]!.tMs });
    expect(e.joules).toBeCloseTo(0.0017, 12);
  });

  it('explains a missing powercap tree and a root-only counter', async () => {
    const empty = fakeTree({ '/etc/hostname': 'x\n' });
    expect((await createPowercapProbe({ root: empty }).detect()).reason).toBe(
      '/sys/class/powercap does not exist here (no RAPL: a VM, an ARM board, or the intel_rapl driver not loaded)',
    );
    const denied: FileSource = {
      description: 'denied',
      list: async () => ['intel-rapl:0'],
      async readText(path) {
        if (path.endsWith('/name')) return 'package-0';
        if (path.endsWith('/max_energy_range_uj')) return '1000';
        const { FileReadError } = await import('../../core/errors.ts');
        throw new FileReadError(path, 'denied', 'EACCES');
      },
    };
    const a = await createPowercapProbe({ files: denied }).detect();
    expect(a.available).toBe(false);
    expect(a.reason).toBe('package-0: energy_uj is root-only (kernel 5.10+ hides RAPL from users, a Platypus side-channel fix)');
  });
});
