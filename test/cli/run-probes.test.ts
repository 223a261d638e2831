import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../core/result-types.ts';
import { tempDir } from '../helpers/tmp.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = join(repo, 'test', 'fixtures', 'run-tegrastats-orin-nano.txt');

/**
 * No Jetson here: a fake `tegrastats` on PATH replays a real recorded Orin Nano line (VDD_IN
 * 12479 mW, hottest sensor 53.968 °C) at the interval it is given, the way the real tool prints.
 * Constant power makes every energy figure exactly power x window length.
 */
function fakeTegrastats(dir: string): void {
  const line = readFileSync(fixture, 'utf8').split('\n').find((l) => l && !l.startsWith('###'))!;
  const script = `#!/usr/bin/env node
const args = process.argv.slice(2);
if (args.includes('--help')) { console.log('Usage: tegrastats [-option]'); process.exit(0); }
const ms = Number(args[args.indexOf('--interval') + 1] || 1000);
const line = ${JSON.stringify(line)};
setInterval(() => process.stdout.write(line + '\\n'), ms);
`;
  const file = join(dir, 'tegrastats');
  writeFileSync(file, script);
  chmodSync(file, 0o755);
}

describe('bench run with a power probe', () => {
  it('samples during each cell and attributes energy to phases on the run clock', () => {
    const bin = tempDir('fake-tegra-');
    fakeTegrastats(bin);
    const out = tempDir('bench-probe-');
    const r = spawnSync(
      process.execPath,
      [join(repo, 'bin', 'bench.mjs'), 'run', '--suite', 'internvl-tiny', '--filter', 'images=2', '--filter', 'prefill=32', '--filter', 'precision=fp32',
        '--iterations', '3', '--warmup', '0', '--probe', 'tegrastats', '--probe-interval', '5', '--baseline', '2', '--temp-limit', '50', '--out', out],
      { env: { ...process.env, CI: 'true', PATH: `${bin}:${process.env['PATH']}` }, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const runDir = join(out, 'internvl-tiny', readdirSync(join(out, 'internvl-tiny'))[0]!);
    const result = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8')) as RunResult;
    const cell = result.cells[0]!;
    expect(cell.status).toBe('ok');
    expect(result.options.probes).toMatchObject({ names: ['tegrastats'], intervalMs: 5, baselineMs: 2000, tempLimitC: 50 });
    expect(cell.probes!.power!.basis).toBe('VDD_IN');
    // Samples in the idle window before the cell and while it measured (how many depends on how
    // fast a loaded machine lets the sampler run, so the count is not asserted).
    const samples = cell.probes!.samples;
    const idle = cell.probes!.baselineWindow!;
    const timed = cell.iterations.filter((it) => !it.warmup);
    expect(samples.filter((s) => s.tMs >= idle.startMs && s.tMs <= idle.endMs).length).toBeGreaterThanOrEqual(2);
    expect(samples.filter((s) => s.tMs >= timed[0]!.startMs && s.tMs <= timed[timed.length - 1]!.endMs).length).toBeGreaterThanOrEqual(1);
    expect(cell.probes!.power!.baseline!.watts).toBeCloseTo(12.479, 6);
    expect(cell.metrics['power_idle_w']!.median).toBeCloseTo(12.479, 6);
    expect(cell.metrics['power_request_w']!.median).toBeCloseTo(12.479, 6);
    expect(cell.metrics['power_decode_w']!.median).toBeCloseTo(12.479, 6);
    // Energy = 12.479 W x each iteration's own window; compare iteration by iteration.
    const measured = cell.iterations.filter((i) => !i.warmup);
    const requestJ = measured.map((i) => (12.479 * (i.endMs - i.startMs)) / 1000).sort((a, b) => a - b);
    expect(cell.metrics['energy_request_j']!.median).toBeCloseTo(requestJ[1]!, 6);
    const decodeMs = cell.metrics['decode_ms']!.median;
    expect(cell.metrics['energy_decode_j']!.median).toBeCloseTo((12.479 * decodeMs) / 1000, 6);
    expect(cell.metrics['decode_j_per_token']!.median).toBeCloseTo((12.479 * decodeMs) / 1000 / 7, 6); // 8 output tokens, 7 from decode
    expect(cell.metrics['image_encode_j_per_image']!.unit).toBe('J/image');
    // Above idle: the replayed power is constant, so what the work adds to idle is 0 J.
    expect(cell.metrics['decode_net_j_per_token']!.median).toBeCloseTo(0, 9);
    expect(cell.metrics['image_encode_net_j_per_image']!.unit).toBe('J/image');
    // Sampling went on past the last iteration: its windows end between readings.
    expect(samples[samples.length - 1]!.tMs).toBeGreaterThan(measured[measured.length - 1]!.endMs);
    // Throttling watch: the recorded line's hottest sensor is 53.968 °C, over the 50 °C limit.
    expect(cell.throttled).toBe(true);
    expect(cell.throttleReasons!.join(' ')).toMatch(/reached 53\.968? ?°C|reached 54\.0 °C/);
    const report = readFileSync(join(runDir, 'report.md'), 'utf8');
    expect(report).toContain('## Power and energy');
    expect(report).toMatch(/throttled/i);
  }, 120_000);

  it('records a missing probe as a warning and still measures', () => {
    const out = tempDir('bench-noprobe-');
    const r = spawnSync(
      process.execPath,
      [join(repo, 'bin', 'bench.mjs'), 'run', '--suite', 'internvl-tiny', '--filter', 'images=0', '--filter', 'prefill=16', '--filter', 'precision=fp32', '--iterations', '1', '--warmup', '0', '--probe', 'nvidia-smi', '--out', out],
      { env: { ...process.env, CI: 'true', PATH: '/usr/bin:/bin' }, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const runDir = join(out, 'internvl-tiny', readdirSync(join(out, 'internvl-tiny'))[0]!);
    const result = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8')) as RunResult;
    expect(result.warnings.join('\n')).toMatch(/probe nvidia-smi unavailable: nvidia-smi not found/);
    expect(result.cells[0]!.status).toBe('ok');
    expect(result.cells[0]!.metrics['ttft_ms']!.n).toBe(1);
  }, 60_000);
});
