import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClock, type Clock } from '../../core/clock.ts';
import { detectProbes, readOnce } from '../../hw-probes/detect.ts';
import { describeSample } from '../../hw-probes/describe.ts';
import { createNvidiaSmiProbe } from '../../hw-probes/nvidia-smi/probe.ts';
import { loadBetween, readSystemSample, type SystemReaders } from '../../hw-probes/system.ts';
import { createTegrastatsProbe } from '../../hw-probes/tegrastats/probe.ts';
import { estimateClockOffset, LocalTransport, type CommandResult, type CommandTransport, type LineStream } from '../../targets/command-transport.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('probes-transport-');

// Real lines of the Xavier NX log in the fixture (lines 34-39, bjgeiser/tegra_burn@f405d8b).
const NX_LINES = readFileSync(join(import.meta.dirname, '../fixtures/probes-tegrastats.txt'), 'utf8').split('\n').slice(33, 39);

/** Polls until `cond` holds: starting node takes most of a second on a loaded 2-core box. */
async function waitFor(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An executable that behaves like tegrastats: --help, and --interval N printing lines. */
function fakeTool(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/usr/bin/env node\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const fakeTegrastats = fakeTool(
  'fake-tegrastats',
  `const lines = ${JSON.stringify(NX_LINES)};
if (process.argv.includes('--help')) { console.log('Usage: tegrastats [-option]'); process.exit(0); }
const ms = Number(process.argv[process.argv.indexOf('--interval') + 1]);
let i = 0;
setInterval(() => {
  console.log(lines[i++ % lines.length]);
  // Tell the test that five lines are out.
  if (i === 5) require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'fake-tegrastats.five'))}, '');
}, ms);`,
);

const dyingTegrastats = fakeTool(
  'dying-tegrastats',
  `if (process.argv.includes('--help')) process.exit(0);
console.log(${JSON.stringify(NX_LINES[0])});
console.log('RAM 1/2MB SOMETHING_NEW ?!');
console.error('tegrastats: lost the INA3221');
process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'dying-tegrastats.exited'))}, ''));
setTimeout(() => process.exit(3), 30);`,
);

describe('LocalTransport', () => {
  const t = new LocalTransport();

  it('passes arguments verbatim: no shell ever sees them', async () => {
    const tricky = '$(echo pwned); rm -rf / `id` > /tmp/x';
    const res = await t.run([process.execPath, '-e', 'console.log(process.argv[1])', tricky]);
    expect(res).toEqual({ stdout: `${tricky}\n`, stderr: '', code: 0 });
  });

  it('reports exit codes and missing commands without throwing', async () => {
    expect((await t.run([process.execPath, '-e', 'process.exit(4)'])).code).toBe(4);
    const missing = await t.run(['definitely-not-a-command-xyz', '--help']);
    expect(missing.code).toBeNull();
    expect(missing.error).toBe('definitely-not-a-command-xyz: command not found');
  });

  it('streams lines and stops the command', async () => {
    const stream = t.spawn([process.execPath, '-e', 'let i=0; setInterval(() => console.log("line " + i++), 5)']);
    const lines: string[] = [];
    stream.onLine((l) => lines.push(l));
    await waitFor(() => lines.length > 3, 'four lines');
    const exit = await stream.stop();
    expect(exit.stoppedByUs).toBe(true);
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.slice(0, 3)).toEqual(['line 0', 'line 1', 'line 2']);
  });

  it('is aligned with itself: offset 0, error 0', async () => {
    expect(await t.alignClock()).toEqual({ offsetMs: 0, errorMs: 0, method: 'local: samples stamped on the run clock as they arrive' });
  });
});

describe('clock alignment for remote transports', () => {
  /** A target whose clock runs 2.5 s ahead and answers after 4 ms (or 1 ms on round 3). */
  function remote(dateOutput: (epochMs: number) => string): CommandTransport {
    let clockMs = 0;
    let round = 0;
    return {
      name: 'ssh:fake',
      async run(): Promise<CommandResult> {
        round += 1;
        const trip = round === 3 ? 1 : 4;
        clockMs += trip / 2;
        const out = dateOutput(1_700_000_000_000 + clockMs + 2500);
        clockMs += trip / 2;
        return { stdout: out, stderr: '', code: 0 };
      },
      spawn: () => {
        throw new Error('not used');
      },
      alignClock: async () => ({ offsetMs: 0, errorMs: 0, method: 'n/a' }),
      // expose the simulated time to the test clock
      get now() {
        return clockMs;
      },
    } as CommandTransport & { now: number };
  }

  it('keeps the shortest round trip and records half of it as the error', async () => {
    const target = remote((ms) => `${Math.floor(ms / 1000)}.${String(Math.round((ms % 1000) * 1e6)).padStart(9, '0')}`) as CommandTransport & { now: number };
    const clock: Clock = { now: () => target.now, originEpochMs: 1_700_000_000_000 };
    const a = await estimateClockOffset(target, clock, 5);
    expect(a.offsetMs).toBeCloseTo(2500, 6);
    expect(a.errorMs).toBeCloseTo(0.5, 9);
    expect(a.method).toBe('date round trip on ssh:fake, best of 5');
  });

  it('widens the error to half a second when the target prints whole seconds (busybox date)', async () => {
    const target = remote((ms) => `${Math.floor(ms / 1000)}.%N`) as CommandTransport & { now: number };
    const clock: Clock = { now: () => target.now, originEpochMs: 1_700_000_000_000 };
    const a = await estimateClockOffset(target, clock, 3);
    expect(a.errorMs).toBeCloseTo(500.5, 9);
    expect(Math.abs(a.offsetMs - 2500)).toBeLessThanOrEqual(a.errorMs);
  });
});

describe('tegrastats probe end to end (fake tegrastats executable)', () => {
  it('spawns with the interval, stamps lines on the run clock, parses them', async () => {
    const probe = createTegrastatsProbe({ transport: new LocalTransport(), executable: fakeTegrastats });
    expect((await probe.detect()).available).toBe(true);
    const clock = createClock();
    await probe.start(clock, 20);
    await waitFor(() => existsSync(join(dir, 'fake-tegrastats.five')), 'five tegrastats lines');
    await new Promise((r) => setTimeout(r, 50));
    const run = await probe.stop();
    expect(run.warnings).toEqual([]);
    expect(run.intervalMs).toBe(20);
    expect(run.samples.length).toBeGreaterThanOrEqual(4);
    const first = run.samples[0]!;
    expect(first.probe).toBe('tegrastats');
    expect(first.deviceTime).toBe('10-01-2025 20:05:55');
    expect(first.rails).toEqual([
      { name: 'VDD_IN', powerMw: 5542, toolAverageMw: 5542 },
      { name: 'VDD_CPU_GPU_CV', powerMw: 1594, toolAverageMw: 1594 },
      { name: 'VDD_SOC', powerMw: 1234, toolAverageMw: 1234 },
    ]);
    expect(run.samples[3]!.rails![0]!.powerMw).toBe(9315);
    const t = run.samples.map((s) => s.tMs);
    expect(t.every((v, i) => i === 0 || v >= t[i - 1]!)).toBe(true);
    expect(t[0]!).toBeGreaterThan(run.startedMs);
  });

  it('a tool that prints garbage and dies gives warnings, and stop() does not throw', async () => {
    const probe = createTegrastatsProbe({ transport: new LocalTransport(), executable: dyingTegrastats });
    await probe.start(createClock(), 50);
    await waitFor(() => existsSync(join(dir, 'dying-tegrastats.exited')), 'the tool to exit');
    // Give the exit event a moment to arrive through the pipe before stop() is called.
    await new Promise((r) => setTimeout(r, 300));
    const run = await probe.stop();
    expect(run.samples).toHaveLength(1);
    expect(run.warnings).toEqual([
      'tegrastats: unreadable output skipped: tegrastats output:2: unrecognised tegrastats field at column 11: "SOMETHING_NEW ?!"',
      'tegrastats: stopped by itself (exit code 3): tegrastats: lost the INA3221',
    ]);
  });

  it('a missing tool is a warning', async () => {
    const probe = createTegrastatsProbe({ transport: new LocalTransport(), executable: 'no-such-tegrastats' });
    expect(await probe.detect()).toEqual({
      probe: 'tegrastats',
      available: false,
      reason: 'no-such-tegrastats not found on PATH (not a Jetson, or L4T tools not installed)',
    });
    await probe.start(createClock(), 100);
    const run = await probe.stop();
    expect(run.samples).toEqual([]);
    expect(run.warnings).toEqual(['tegrastats: not sampled: no-such-tegrastats not found on PATH (not a Jetson, or L4T tools not installed)']);
  });
});

describe('nvidia-smi probe end to end (fake nvidia-smi)', () => {
  const fakeSmi = fakeTool(
    'fake-nvidia-smi',
    `const q = process.argv.find((a) => a.startsWith('--query-gpu='));
const fields = q.slice(12).split(',');
const values = { timestamp: '2026/07/14 08:12:53.353', index: '0', name: 'NVIDIA H100 80GB HBM3', 'power.draw': '631.95', 'power.draw.average': '631.95', 'power.draw.instant': '[N/A]', 'utilization.gpu': '100' };
console.log(fields.map((f) => f).join(', '));
const row = () => console.log(fields.map((f) => values[f] ?? '[N/A]').join(', '));
const lms = process.argv.indexOf('-lms');
if (lms < 0) { row(); process.exit(0); }
let n = 0;
setInterval(() => {
  row();
  if (++n === 3) require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'fake-smi.three'))}, '');
}, Number(process.argv[lms + 1]));`,
  );

  it('falls back to power.draw when the instant column is [N/A], and says so', async () => {
    const probe = createNvidiaSmiProbe({ transport: new LocalTransport(), executable: fakeSmi });
    expect(await probe.detect()).toMatchObject({ available: true, reason: '0: NVIDIA H100 80GB HBM3' });
    await probe.start(createClock(), 20);
    await waitFor(() => existsSync(join(dir, 'fake-smi.three')), 'three nvidia-smi rows');
    await new Promise((r) => setTimeout(r, 50));
    const run = await probe.stop();
    expect(run.samples.length).toBeGreaterThanOrEqual(3);
    expect(run.samples[0]!.rails).toEqual([{ name: 'GPU0', powerMw: 631950, toolAverageMw: 631950 }]);
    expect(run.warnings[0]).toMatch(/^nvidia-smi: power from power\.draw \(power\.draw\.instant not reported\)/);
  });
});

describe('detection on a machine without boards', () => {
  /** A transport on which no vendor tool exists. */
  const bare: CommandTransport = {
    name: 'local',
    run: async (argv) => ({ stdout: '', stderr: '', code: null, error: `${argv[0]}: command not found` }),
    spawn: (): LineStream => {
      throw new Error('nothing to spawn');
    },
    alignClock: async () => ({ offsetMs: 0, errorMs: 0, method: 'local' }),
  };

  it('says plainly what it cannot read', async () => {
    const empty = mkdtempSync(join(dir, 'root-'));
    const found = await detectProbes(bare, { root: empty });
    const byName = Object.fromEntries(found.map((d) => [d.name, d]));
    expect(found.map((d) => d.name)).toEqual(['tegrastats', 'axera', 'hwmon', 'powercap', 'nvidia-smi', 'system']);
    expect(byName['tegrastats']!.reason).toBe('tegrastats not found on PATH (not a Jetson, or L4T tools not installed)');
    expect(byName['axera']!.reason).toBe(`no /proc/ax_proc/mem_cmm_info on ${empty} (not an Axera board; for a PCIe/M.2 card use axclDevice)`);
    expect(byName['hwmon']!.reason).toBe('/sys/class/hwmon does not exist here (no hwmon sensors exposed to this kernel)');
    expect(byName['powercap']!.reason).toBe('/sys/class/powercap does not exist here (no RAPL: a VM, an ARM board, or the intel_rapl driver not loaded)');
    expect(byName['nvidia-smi']!.reason).toBe('nvidia-smi not found (no NVIDIA driver on local)');
    expect(found.filter((d) => d.available).map((d) => d.name)).toEqual(['system']);

    const live = await readOnce(found, createClock());
    expect(live).toHaveLength(1);
    const s = live[0]!.sample!;
    expect(s.cpu).toHaveLength(cpus().length);
    expect(s.cpuLoadPct).toBeGreaterThanOrEqual(0);
    expect(s.ram!.totalMb).toBeGreaterThan(0);
    expect(describeSample(s).some((l) => l.startsWith('RAM: '))).toBe(true);
  });

  it('normalises systeminformation readings and computes load from CPU time counters', async () => {
    const GB = 1024 ** 3;
    const times = [
      { user: 100, nice: 0, sys: 50, idle: 850, irq: 0 },
      { user: 10, nice: 0, sys: 10, idle: 980, irq: 0 },
    ];
    const later = [
      { user: 400, nice: 0, sys: 100, idle: 1350, irq: 0 }, // busy 350 of 850 ms
      { user: 10, nice: 0, sys: 10, idle: 1980, irq: 0 }, // idle
    ];
    const readers: SystemReaders = {
      cpuTimes: () => later,
      cpuCurrentSpeed: async () => ({ min: 1.2, max: 2.4, avg: 1.8, cores: [1.2, 2.4] }),
      mem: async () => ({ total: 8 * GB, active: 3 * GB, swaptotal: 2 * GB, swapused: 0.5 * GB }) as Awaited<ReturnType<SystemReaders['mem']>>,
      cpuTemperature: async () => ({ main: 51, cores: [50, 52], max: 52, chipset: null }) as unknown as Awaited<ReturnType<SystemReaders['cpuTemperature']>>,
    };
    expect(loadBetween(times, later)).toEqual([(100 * 350) / 850, 0]);
    const { sample: s } = await readSystemSample(readers, createClock(), times, true);
    expect(s.cpuLoadPct).toBeCloseTo((100 * 350) / 850 / 2, 12);
    expect(s.cpu).toEqual([
      { index: 0, online: true, loadPct: (100 * 350) / 850, mhz: 1200 },
      { index: 1, online: true, loadPct: 0, mhz: 2400 },
    ]);
    expect(s.ram).toEqual({ usedMb: 3072, totalMb: 8192 });
    expect(s.swap).toEqual({ usedMb: 512, totalMb: 2048 });
    expect(s.temperaturesC).toEqual({ cpu: 51, core0: 50, core1: 52 });
    const { sample: first } = await readSystemSample(readers, createClock(), null, false);
    expect(first.cpuLoadPct).toBeUndefined();
    expect(first.temperaturesC).toBeUndefined();
    expect(first.cpu![0]).toEqual({ index: 0, online: true, mhz: 1200 });
  });
});
