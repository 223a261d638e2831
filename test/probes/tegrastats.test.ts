import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../core/errors.ts';
import { importTegrastats, probeImportKinds } from '../../hw-probes/import-kinds.ts';
import { boardPowerSeries } from '../../hw-probes/power-series.ts';
import { parseDeviceTreeModel, parseNvpmodelQuery, parseNvTegraRelease } from '../../hw-probes/tegrastats/facts.ts';
import { parseTegrastatsLine, parseTegrastatsText, tegrastatsToSample, type TegrastatsReading } from '../../hw-probes/tegrastats/parse.ts';
import { windowEnergy } from '../../core/energy.ts';

// Verbatim copy of /work/shared/fixtures/tegrastats.txt: each "### source:" line names the
// repository, file and commit the lines below it come from (the parser skips '#' lines).
const FIXTURE = readFileSync(join(import.meta.dirname, '../fixtures/probes-tegrastats.txt'), 'utf8');

/** Compact renderings, so each expectation below is a transcription of its fixture line. */
const railsOf = (r: TegrastatsReading): string =>
  r.rails.map((x) => `${x.name} ${x.powerMw}/${x.toolAverageMw}${x.toolExtraMw ? `/${x.toolExtraMw.join('/')}` : ''}`).join(' ');
const tempsOf = (r: TegrastatsReading): string => Object.entries(r.temperaturesC).map(([k, v]) => `${k}=${v}`).join(' ');
const cpuOf = (r: TegrastatsReading): string => (r.cpu ?? []).map((c) => (c.online ? `${c.loadPct}@${c.mhz}` : 'off')).join(',');
const gpuOf = (r: TegrastatsReading): string =>
  `${r.gpu?.loadPct !== undefined ? `${r.gpu.loadPct}%` : ''}${r.gpu?.gpcMhz ? `@[${r.gpu.gpcMhz.join(',')}]` : r.gpu?.mhz !== undefined ? `@${r.gpu.mhz}` : ''}`;
const emcOf = (r: TegrastatsReading): string | undefined =>
  r.emc ? `${r.emc.loadPct}%${r.emc.mhz !== undefined ? `@${r.emc.mhz}` : ''}` : undefined;
const swapOf = (r: TegrastatsReading): string | undefined => (r.swap ? `${r.swap.usedMb}/${r.swap.totalMb}/${r.swap.cachedMb}` : undefined);

interface Expected {
  line: number;
  ram: string;
  swap?: string;
  cpu: string;
  emc?: string;
  gpu: string;
  temps: string;
  rails: string;
}

// One entry per record of the fixture, in order (line = fixture line where the record starts).
const EXPECTED: Expected[] = [
  // Jetson Nano, JetPack 4, root: rails without units
  { line: 2, ram: '936/3964', swap: '0/4096/0', cpu: '10@102,3@102,0@102,0@102', emc: '0%@204', gpu: '0%@76', temps: 'PLL=24 CPU=27.5 PMIC=50 GPU=28 AO=29.5 thermal=28', rails: 'POM_5V_IN 920/920 POM_5V_GPU 0/0 POM_5V_CPU 119/119' },
  { line: 3, ram: '958/3964', swap: '0/4096/0', cpu: '3@1479,0@1479,7@1479,19@1479', emc: '0%@1600', gpu: '0%@76', temps: 'PLL=24.5 CPU=27.5 PMIC=50 GPU=28.5 AO=29 thermal=28', rails: 'POM_5V_IN 1537/1228 POM_5V_GPU 0/0 POM_5V_CPU 472/295' },
  { line: 4, ram: '1095/3964', swap: '0/4096/0', cpu: '72@1479,12@1479,8@1479,26@1479', emc: '1%@1600', gpu: '42%@76', temps: 'PLL=25 CPU=28.5 PMIC=50 GPU=25 AO=30 thermal=28', rails: 'POM_5V_IN 2793/1750 POM_5V_GPU 76/25 POM_5V_CPU 1222/604' },
  { line: 5, ram: '1762/3964', swap: '0/4096/0', cpu: '17@204,0@204,3@204,3@204', emc: '4%@1600', gpu: '99%@921', temps: 'PLL=25 CPU=28.5 PMIC=50 GPU=27 AO=30 thermal=27', rails: 'POM_5V_IN 5143/2615 POM_5V_GPU 2949/182 POM_5V_CPU 179/998' },
  { line: 6, ram: '1762/3964', swap: '0/4096/0', cpu: '37@204,0@204,3@204,0@204', emc: '7%@1600', gpu: '99%@921', temps: 'PLL=25 CPU=28 PMIC=50 GPU=27 AO=30.5 thermal=27', rails: 'POM_5V_IN 5206/2702 POM_5V_GPU 3087/279 POM_5V_CPU 179/971' },
  // Nano, non-root
  { line: 9, ram: '2015/3964', swap: '29/1982/3', cpu: '6@102,5@102,4@102,3@102', emc: '0%', gpu: '0%', temps: 'PLL=28 CPU=31.5 PMIC=100 GPU=30.5 AO=36 thermal=31.25', rails: 'POM_5V_IN 1388/1388 POM_5V_GPU 122/122 POM_5V_CPU 163/163' },
  // Nano, two cores offline, no rails
  { line: 12, ram: '1758/3956', swap: '440/1978/9', cpu: '28@921,19@921,off,off', emc: '0%', gpu: '0%', temps: 'PLL=41 CPU=42.5 PMIC=50 GPU=40.5 AO=50 thermal=41.75', rails: '' },
  // TX1 legacy format: one clock for all cores, EMC/GR3D without _FREQ
  { line: 15, ram: '3468/3983', swap: '873/8192/295', cpu: '17@408,13@408,29@408,5@408', emc: '1%@408', gpu: '3%@76', temps: '', rails: '' },
  { line: 16, ram: '3607/3983', swap: '873/8192/281', cpu: '17@1734,11@1734,65@1734,0@1734', emc: '1%@1600', gpu: '39%@76', temps: '', rails: '' },
  // TX2 after a `date` line
  { line: 20, ram: '896/7859', swap: '0/3929/0', cpu: '4@2035,4@345,4@345,1@2035,0@2035,0@2035', emc: '0%', gpu: '0%', temps: 'PLL=34.5 MCPU=34.5 PMIC=100 Tboard=29 GPU=31 BCPU=34.5 thermal=32.8 Tdiode=30.5', rails: 'VDD_SYS_GPU 153/153 VDD_SYS_SOC 383/383 VDD_4V0_WIFI 0/0 VDD_IN 1840/1840 VDD_SYS_CPU 306/306 VDD_SYS_DDR 269/269' },
  { line: 21, ram: '896/7859', swap: '0/3929/0', cpu: '1@345,5@345,3@345,0@345,0@345,0@345', emc: '0%', gpu: '0%', temps: 'PLL=34 MCPU=34 PMIC=100 Tboard=29 GPU=30.5 BCPU=34 thermal=32.8 Tdiode=30.25', rails: 'VDD_SYS_GPU 153/153 VDD_SYS_SOC 306/344 VDD_4V0_WIFI 0/0 VDD_IN 1610/1725 VDD_SYS_CPU 230/268 VDD_SYS_DDR 173/221' },
  { line: 22, ram: '896/7859', swap: '0/3929/0', cpu: '0@345,4@345,6@345,0@345,0@345,0@345', emc: '0%', gpu: '0%', temps: 'PLL=34 MCPU=34 PMIC=100 Tboard=29 GPU=31 BCPU=34 thermal=32.8 Tdiode=30.25', rails: 'VDD_SYS_GPU 153/153 VDD_SYS_SOC 306/331 VDD_4V0_WIFI 0/0 VDD_IN 1572/1674 VDD_SYS_CPU 230/255 VDD_SYS_DDR 134/192' },
  // TX2 4GB, root, MTS, no SWAP field
  { line: 25, ram: '1873/3830', cpu: '8@2016,26@2034,24@2035,7@2026,7@2034,6@2034', emc: '0%@1600', gpu: '0%@114', temps: 'PLL=39 MCPU=39 PMIC=50 Tboard=35 GPU=37 BCPU=39 thermal=38.5 Tdiode=37', rails: 'VDD_SYS_GPU 77/77 VDD_SYS_SOC 539/539 VDD_IN 2930/3405 VDD_SYS_CPU 539/937 VDD_SYS_DDR 727/758' },
  { line: 28, ram: '3276/7859', swap: '1626/12122/181', cpu: '44@1421,49@2031,67@2034,17@1420,25@1419,8@1420', emc: '1%@1866', gpu: '0%@114', temps: 'PLL=42.5 MCPU=42.5 PMIC=50 Tboard=38 GPU=39.5 BCPU=42.5 thermal=41.3 Tdiode=39.25', rails: 'VDD_SYS_GPU 182/182 VDD_SYS_SOC 730/730 VDD_4V0_WIFI 0/0 VDD_IN 5297/5297 VDD_SYS_CPU 1917/1917 VDD_SYS_DDR 1241/1241' },
  // AGX Xavier: rails named GPU/CPU/SOC/... next to temperatures GPU@/CPU@
  { line: 31, ram: '1903/15692', cpu: '1@1190,1@1190,2@1190,0@1190,0@1190,0@1190,0@1190,0@1190', emc: '0%', gpu: '0%', temps: 'AO=32.5 GPU=32 Tboard=32 Tdiode=34.75 AUX=31.5 CPU=33.5 thermal=32.9 PMIC=100', rails: 'GPU 0/0 CPU 216/216 SOC 864/864 CV 0/0 VDDRQ 144/144 SYS5V 1889/1889' },
  // Xavier NX class, JetPack 5 mW units, timestamps
  { line: 34, ram: '2274/6834', swap: '542/3417/2', cpu: '99@1189,100@1188,100@1189,98@1189,off,off', emc: '0%', gpu: '22%', temps: 'AUX=36.5 CPU=40 thermal=37.85 AO=37.5 GPU=38 PMIC=50', rails: 'VDD_IN 5542/5542 VDD_CPU_GPU_CV 1594/1594 VDD_SOC 1234/1234' },
  { line: 35, ram: '2303/6834', swap: '542/3417/2', cpu: '100@1190,100@1190,100@1189,100@1189,off,off', emc: '0%', gpu: '32%', temps: 'AUX=36.5 CPU=40 thermal=38 AO=37.5 GPU=38 PMIC=50', rails: 'VDD_IN 5542/5542 VDD_CPU_GPU_CV 1674/1634 VDD_SOC 1236/1235' },
  { line: 36, ram: '2338/6834', swap: '542/3417/2', cpu: '100@1189,100@1189,100@1190,100@1190,off,off', emc: '0%', gpu: '0%', temps: 'AUX=36.5 CPU=40 thermal=38 AO=37.5 GPU=38 PMIC=50', rails: 'VDD_IN 5542/5542 VDD_CPU_GPU_CV 1594/1620 VDD_SOC 1234/1234' },
  { line: 37, ram: '5453/6834', swap: '542/3417/2', cpu: '100@1190,99@1190,100@1189,100@1190,off,off', emc: '0%', gpu: '99%', temps: 'AUX=37 CPU=40.5 thermal=38.2 AO=38 GPU=41 PMIC=50', rails: 'VDD_IN 9315/5909 VDD_CPU_GPU_CV 4371/1868 VDD_SOC 1589/1267' },
  { line: 38, ram: '5451/6834', swap: '542/3417/2', cpu: '100@1190,100@1190,100@1190,96@1190,off,off', emc: '0%', gpu: '99%', temps: 'AUX=37 CPU=41 thermal=39.7 AO=39 GPU=42.5 PMIC=50', rails: 'VDD_IN 13353/6482 VDD_CPU_GPU_CV 7340/2289 VDD_SOC 1944/1319' },
  { line: 39, ram: '5451/6834', swap: '542/3417/2', cpu: '100@1190,100@1190,100@1190,100@1190,off,off', emc: '0%', gpu: '99%', temps: 'AUX=37 CPU=41 thermal=40 AO=39.5 GPU=43 PMIC=50', rails: 'VDD_IN 13671/6995 VDD_CPU_GPU_CV 7578/2667 VDD_SOC 1984/1367' },
  // Orin Nano, JetPack 6, root: per-GPC GR3D array with one entry, lower-case temperatures
  { line: 42, ram: '6185/7620', swap: '851/3810/1', cpu: '15@729,11@729,14@729,13@729,11@729,8@729', emc: '43%@2133', gpu: '63%@[621]', temps: 'cpu=53.968 soc2=52.437 soc0=50.75 gpu=53.343 tj=53.968 soc1=51.656', rails: 'VDD_IN 12479/12479 VDD_CPU_GPU_CV 4667/4667 VDD_SOC 2817/2817' },
  // Orin Nano, non-root: no EMC field
  { line: 45, ram: '3452/7620', swap: '1518/16384/174', cpu: '1@1420,2@1420,0@1420,2@1420,2@729,1@729', gpu: '0%', temps: 'cpu=50.031 soc2=49.031 soc0=50 gpu=49.031 tj=50.25 soc1=50.25', rails: 'VDD_IN 4824/4824 VDD_CPU_GPU_CV 518/518 VDD_SOC 1475/1475' },
  // Orin Nano, one record wrapped over lines 48-50, "598mW/598" without the second unit
  { line: 48, ram: '3162/7620', swap: '0/3810/0', cpu: '1@729,0@729,0@729,0@729,off,off', gpu: '1%', temps: 'cpu=62.843 soc2=61.968 soc0=60.625 gpu=61.687 tj=62.843 soc1=61.687', rails: 'VDD_IN 3913/3922 VDD_CPU_GPU_CV 598/598 VDD_SOC 1238/1237' },
  // AGX Orin 64GB, JetPack 6, no VDD_IN rail
  { line: 53, ram: '6879/62841', swap: '0/31421/0', cpu: '5@729,1@729,0@729,9@729,1@729,3@729,5@729,0@729,3@729,1@729,1@729,7@729', emc: '0%@2133', gpu: '0%@[305,305]', temps: 'cpu=47.687 tboard=36.75 soc2=44.312 tdiode=37.5 soc0=45.718 gpu=43.218 tj=47.687 soc1=45.125', rails: 'VDD_GPU_SOC 2801/2801 VDD_CPU_CV 400/400 VIN_SYS_5V0 4536/4536 VDDQ_VDD2_1V8AO 604/604' },
  { line: 54, ram: '6878/62841', swap: '0/31421/0', cpu: '5@729,0@729,7@729,0@729,3@729,3@729,5@729,0@729,7@729,19@729,7@729,2@729', emc: '0%@2133', gpu: '0%@[305,305]', temps: 'cpu=47.75 tboard=36.75 soc2=44.25 tdiode=37.5 soc0=45.718 gpu=43.343 tj=47.812 soc1=45.156', rails: 'VDD_GPU_SOC 2801/2801 VDD_CPU_CV 400/400 VIN_SYS_5V0 4636/4586 VDDQ_VDD2_1V8AO 604/604' },
  { line: 55, ram: '6873/62841', swap: '0/31421/0', cpu: '13@729,9@729,7@729,7@729,5@729,1@729,15@729,3@729,3@729,13@729,3@729,9@729', emc: '1%@2133', gpu: '40%@[305,305]', temps: 'cpu=47.906 tboard=36.75 soc2=44.468 tdiode=37.5 soc0=45.781 gpu=43.437 tj=47.968 soc1=45.156', rails: 'VDD_GPU_SOC 3201/2934 VDD_CPU_CV 800/533 VIN_SYS_5V0 4737/4636 VDDQ_VDD2_1V8AO 705/637' },
  // AGX Orin, 4 cores offline, second GPC at 0, three rails
  { line: 58, ram: '17953/62841', swap: '0/31420/0', cpu: '7@1728,31@1036,7@1036,42@1036,4@1420,5@729,6@729,1@729,off,off,off,off', emc: '12%@204', gpu: '39%@[305,0]', temps: 'cpu=43.906 soc2=40.406 soc0=41.187 gpu=40.093 tj=43.906 soc1=40.437', rails: 'VDD_GPU_SOC 2798/2798 VDD_CPU_CV 799/799 VIN_SYS_5V0 3315/3315' },
  { line: 59, ram: '17955/62841', swap: '0/31420/0', cpu: '20@1728,13@1036,2@1036,42@1036,1@729,8@729,5@729,1@729,off,off,off,off', emc: '12%@204', gpu: '40%@[305,0]', temps: 'cpu=43.625 soc2=40.468 soc0=40.968 gpu=40.062 tj=43.625 soc1=40.375', rails: 'VDD_GPU_SOC 2797/2798 VDD_CPU_CV 799/799 VIN_SYS_5V0 3215/3265' },
  { line: 60, ram: '17956/62841', swap: '0/31420/0', cpu: '9@960,66@960,1@960,0@960,3@729,9@729,7@729,2@729,off,off,off,off', emc: '12%@204', gpu: '35%@[305,0]', temps: 'cpu=43.468 soc2=40.562 soc0=41.062 gpu=39.781 tj=43.75 soc1=40.281', rails: 'VDD_GPU_SOC 2798/2798 VDD_CPU_CV 799/799 VIN_SYS_5V0 3215/3248' },
  // JetPack 7: three values per rail, two per temperature
  { line: 63, ram: '20642/62817', cpu: '23@2201,10@2201,4@2201,14@2201,30@2201,18@2201,10@2201,10@2201,33@2201,7@2201,5@2201,27@2201', emc: '3%@3199', gpu: '12%@[1300,1300]', temps: 'cpu=52.968 soc2=48.406 soc0=49.531 gpu=47.625', rails: 'VDD_GPU_SOC 5139/5139/5139 VDD_CPU_CV 3268/3268/3268 VIN_SYS_5V0 5500/5500/5500' },
];

describe('tegrastats parser on every fixture line', () => {
  const parsed = parseTegrastatsText(FIXTURE, 'probes-tegrastats.txt');

  it('finds exactly the records of the fixture, at their lines', () => {
    expect(parsed.readings.map((r) => r.line)).toEqual(EXPECTED.map((e) => e.line));
    expect(parsed.markers).toEqual([{ line: 19, text: 'Tue Jan 26 18:22:31 UTC 2021' }]);
  });

  for (const [i, exp] of EXPECTED.entries()) {
    it(`line ${exp.line}: RAM, swap, CPU, EMC, GPU, temperatures and rails`, () => {
      const r = parsed.readings[i]!;
      expect(`${r.ram!.usedMb}/${r.ram!.totalMb}`).toBe(exp.ram);
      expect(swapOf(r)).toBe(exp.swap);
      expect(cpuOf(r)).toBe(exp.cpu);
      expect(emcOf(r)).toBe(exp.emc);
      expect(gpuOf(r)).toBe(exp.gpu);
      expect(tempsOf(r)).toBe(exp.temps);
      expect(railsOf(r)).toBe(exp.rails);
    });
  }

  it('reads the details each format adds', () => {
    const at = (line: number): TegrastatsReading => parsed.readings.find((r) => r.line === line)!;
    expect(at(2).iram).toEqual({ usedKb: 0, totalKb: 252, largestFreeBlockKb: 252 });
    expect(at(2).ram!.largestFreeBlock).toEqual({ count: 366, sizeKb: 4096 });
    expect(at(37).ram!.largestFreeBlock).toEqual({ count: 54, sizeKb: 128 });
    expect(at(2).engines['APE']).toEqual({ on: true, mhz: 25 });
    expect(at(25).mts).toEqual({ foregroundPct: 0, backgroundPct: 1 });
    expect(at(42).engines['NVDEC']).toEqual({ on: false });
    expect(at(53).engines['PVA0_FREQ']).toEqual({ on: false });
    expect(at(63).engines['NVENC0']).toEqual({ on: false });
    // The GPU clock of a per-GPC array is its highest entry (a GPC at 0 is power-gated).
    expect(at(58).gpu).toEqual({ index: 0, loadPct: 39, mhz: 305, gpcMhz: [305, 0] });
    expect(at(12).cpu![2]).toEqual({ index: 2, online: false });
    expect(at(63).rails[0]).toEqual({ name: 'VDD_GPU_SOC', powerMw: 5139, toolAverageMw: 5139, toolExtraMw: [5139] });
    expect(at(63).temperatureExtraC).toEqual({ cpu: [52.968], soc2: [48.406], soc0: [49.531], gpu: [47.625] });
    expect(at(34).deviceTime).toBe('10-01-2025 20:05:55');
    expect(at(35).deviceClockMs! - at(34).deviceClockMs!).toBe(1000);
    expect(at(2).deviceTime).toBeUndefined();
  });

  it('parses a Thor line: GPC clocks without a load', () => {
    // From rbonghi/jetson_stats jtop/tests/test_06_tegra_parse.py@f41d5ca (TEGRASTATS_THOR).
    const r = parseTegrastatsLine('RAM 4722/7844MB (lfb 1x512kB) EMC_FREQ 2%@1866 GR3D_FREQ @[1000,1000,1000] APE 150');
    expect(r.gpu).toEqual({ index: 0, mhz: 1000, gpcMhz: [1000, 1000, 1000] });
    expect(r.ram!.largestFreeBlock).toEqual({ count: 1, sizeKb: 512 });
  });
});

describe('tegrastats rejects what it cannot read, naming the line', () => {
  it('rejects a line that is not tegrastats output', () => {
    expect(() => parseTegrastatsText('hello world\n', 'log.txt')).toThrow(ParseError);
    expect(() => parseTegrastatsText('hello world\n', 'log.txt')).toThrow(/log\.txt:1: not a tegrastats line/);
  });

  it('rejects an unknown field and says which text', () => {
    const text = `${FIXTURE.split('\n')[1]}\nRAM 958/3964MB (lfb 366x4MB) CPU [3%@1479] ?? VDD_IN 1/1\n`;
    expect(() => parseTegrastatsText(text, 'log.txt')).toThrow(/log\.txt:2: unrecognised tegrastats field at column \d+: "\?\? VDD_IN 1\/1"/);
  });

  it('rejects garbage continuing a record on the next line', () => {
    expect(() => parseTegrastatsText('RAM 1/2MB CPU [1%@2]\nnot a field\n', 'x')).toThrow(/x:2: unrecognised tegrastats field at column 1: "not a field"/);
  });

  it('rejects two records run together', () => {
    const line = FIXTURE.split('\n')[1]!;
    expect(() => parseTegrastatsLine(`${line} ${line}`, 'live', 7)).toThrow(/live:7: RAM appears twice/);
  });

  it('rejects a malformed CPU entry and an empty log', () => {
    expect(() => parseTegrastatsLine('RAM 1/2MB CPU [1%@2,x]')).toThrow(/CPU core 1: expected/);
    expect(() => parseTegrastatsText('\n# only a comment\n', 'empty.log')).toThrow(/empty\.log: no tegrastats lines found/);
  });
});

describe('tegrastats samples and board power', () => {
  const { readings } = parseTegrastatsText(FIXTURE, 'fixture');
  const sampleAt = (line: number, tMs = 0) => tegrastatsToSample(readings.find((r) => r.line === line)!, tMs);

  it('uses the input rail where there is one and sums rails where there is not', () => {
    expect(boardPowerSeries([sampleAt(2)])).toMatchObject({ basis: 'POM_5V_IN', points: [{ tMs: 0, watts: 0.92 }] });
    expect(boardPowerSeries([sampleAt(20)])).toMatchObject({ basis: 'VDD_IN', points: [{ watts: 1.84 }] });
    const agx = boardPowerSeries([sampleAt(53)]);
    expect(agx.basis).toMatch(/^sum of rails VDDQ_VDD2_1V8AO \+ VDD_CPU_CV \+ VDD_GPU_SOC \+ VIN_SYS_5V0/);
    expect(agx.points[0]!.watts).toBeCloseTo(2.801 + 0.4 + 4.536 + 0.604, 9);
    // Never the running average: 9315 mW instant vs 5909 mW average on line 37.
    expect(boardPowerSeries([sampleAt(37)]).points[0]!.watts).toBe(9.315);
  });

  it('integrates the timestamped Xavier NX log (lines 34-39) by trapezoid on the 1 s clock', () => {
    const imported = importTegrastats(FIXTURE.split('\n').slice(32, 39).join('\n'), 'nx.log');
    expect(imported.timed).toBe(true);
    expect(imported.samples.map((s) => s.tMs)).toEqual([0, 1000, 2000, 11000, 12000, 13000]);
    const series = boardPowerSeries(imported.samples);
    const e = windowEnergy(series.points, { name: 'log', startMs: 0, endMs: 13000 });
    // 5.542 + 5.542 + 9 x (5.542 + 9.315) / 2 + (9.315 + 13.353) / 2 + (13.353 + 13.671) / 2;
    // mean VDD_IN = 52.965 W / 6 = 8.8275 W
    expect(e.joules).toBeCloseTo(102.7865, 9);
    expect(e.lowConfidence).toBe(true); // the 9 s gap
    const summary = probeImportKinds[0]!.summarize(imported);
    expect(summary).toContain('tegrastats: 6 records, lines 2-7, 10-01-2025 20:05:55 .. 10-01-2025 20:06:08');
    expect(summary).toContain('board energy (VDD_IN): 102.79 J over 13 s, average 7.91 W');
    expect(summary).toContain('VDD_IN: min 5.54  mean 8.83  max 13.67  (n=6)');
  });

  it('sums the AGX Orin rails (lines 53-55) and flags two records in the same second', () => {
    const imported = importTegrastats(FIXTURE.split('\n').slice(51, 56).join('\n'), 'agx.log');
    expect(imported.samples.map((s) => s.tMs)).toEqual([0, 0, 1000]);
    const series = boardPowerSeries(imported.samples);
    expect(series.points.map((p) => p.watts)).toEqual([8.341, 8.441, 9.443]);
    // The zero-width pair adds nothing; then (8.441 + 9.443) / 2 W over 1 s.
    expect(windowEnergy(series.points, { name: 'log', startMs: 0, endMs: 1000 }).joules).toBeCloseTo(8.942, 9);
    const summary = probeImportKinds[0]!.summarize(imported);
    expect(summary).toContain('1 record(s) share their second with the previous one');
    expect(summary).toContain('): 8.94 J over 1 s');
  });

  it('imports the whole fixture without timestamps on every record', () => {
    const imported = probeImportKinds[0]!.parse(FIXTURE, 'all') as ReturnType<typeof importTegrastats>;
    expect(imported.timed).toBe(false);
    expect(imported.samples).toHaveLength(EXPECTED.length);
    expect(probeImportKinds[0]!.summarize(imported)).toContain('no energy figure');
  });
});

describe('Jetson board facts', () => {
  it('reads L4T releases as published in /etc/nv_tegra_release', () => {
    // First lines of /etc/nv_tegra_release as quoted in public Jetson setup notes and tests
    // (found through the code index: Xavier NX / AGX Xavier on L4T 35.4.1, an R32.6.1 board).
    expect(parseNvTegraRelease('# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, DATE: Tue Aug  1 19:57:35 UTC 2023')).toEqual({
      l4t: '35.4.1',
      board: 't186ref',
      date: 'Tue Aug  1 19:57:35 UTC 2023',
    });
    expect(parseNvTegraRelease('# R32 (release), REVISION: 6.1, GCID: 27863751, BOARD: t186ref, EABI: aarch64, DATE: Mon Jul 26 19:36:31 UTC 2021')?.l4t).toBe('32.6.1');
    expect(parseNvTegraRelease('garbage')).toBeNull();
  });

  it('reads nvpmodel -q in both published shapes', () => {
    // "sudo nvpmodel -q" on a Jetson Nano, from a public Jetson Nano cookbook post.
    expect(parseNvpmodelQuery('NV Power Mode: MAXN\n0\n')).toEqual({ mode: 'MAXN', id: 0 });
    expect(parseNvpmodelQuery('NV Power Mode: 5W\n1\n')).toEqual({ mode: '5W', id: 1 });
    expect(parseNvpmodelQuery('NV Power Mode: MAXN_SUPER  (ID: 2)')).toEqual({ mode: 'MAXN_SUPER', id: 2 });
    expect(parseNvpmodelQuery('nvpmodel: command not found')).toBeNull();
    expect(parseDeviceTreeModel('NVIDIA Jetson Orin Nano Developer Kit\0')).toBe('NVIDIA Jetson Orin Nano Developer Kit');
  });
});
