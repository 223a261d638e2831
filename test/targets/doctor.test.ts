/**
 * `bench doctor` / preflight() against a REAL sshd whose PATH holds fake vendor tools printing
 * recorded real outputs (helpers/fake-board.ts): nvpmodel and jetson_clocks from an Orin NX
 * report (GPU at 306 of 624.75 MHz: clocks not locked), tegrastats from an Orin, and for the
 * Axera board a recorded /proc/ax_proc/mem_cmm_info served by a `cat` shim.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerDoctorCommand, renderPreflight } from '../../cli/doctor.ts';
import { preflight, type PreflightReport } from '../../harness/preflight.ts';
import { parseJetsonClocks, unlockedDomains } from '../../targets/jetson-clocks.ts';
import { createFakeBoard, type FakeBoard } from './helpers/fake-board.ts';
import { fixtureSection } from './helpers/fixtures.ts';
import { freePort, startSshd, type TestSshd } from './helpers/sshd.ts';

let board: FakeBoard;
let sshd: TestSshd;

beforeAll(async () => {
  board = createFakeBoard();
  sshd = await startSshd([board.binDir]);
});

afterAll(() => {
  sshd?.stop();
  board?.remove();
});
afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

const byName = (r: PreflightReport) => Object.fromEntries(r.checks.map((c) => [c.name, c]));

describe('jetson_clocks --show parser (recorded Orin NX output)', () => {
  it('reads every domain in MHz and finds the unlocked ones', () => {
    const c = parseJetsonClocks(fixtureSection('targets-orin-nx-power.txt', 'jetson_clocks --show'));
    expect(c.socFamily).toBe('tegra234');
    expect(c.machine).toBe('NVIDIA Jetson Orin NX Engineering Reference Developer Kit');
    expect(c.powerMode).toBe('MAXN_SUPER');
    expect(c.domains).toHaveLength(8);
    expect(c.domains.find((d) => d.name === 'GPU')).toEqual({ name: 'GPU', minMhz: 306, maxMhz: 624.75, currentMhz: 306 });
    expect(c.domains.find((d) => d.name === 'EMC')).toEqual({ name: 'EMC', minMhz: 204, maxMhz: 2133, currentMhz: 2133 });
    expect(c.domains[0]).toEqual({ name: 'cpu0', minMhz: 729.6, maxMhz: 1510.4, currentMhz: 1510.4, online: true });
    expect(unlockedDomains(c).map((d) => d.name)).toEqual(['cpu1', 'cpu2', 'cpu3', 'cpu4', 'cpu5', 'GPU']);
    expect(() => parseJetsonClocks('Error: Run this script as a root user')).toThrow(/no "NAME MinFreq=\.\.\. MaxFreq=\.\.\. CurrentFreq=\.\.\." line/);
  });
});

describe('preflight over ssh', () => {
  it('checks a Jetson: tools, power mode, unlocked clocks (warn), clock offset, tegrastats probe', async () => {
    board.setAxeraProc(false);
    const r = await preflight(sshd.target('orin-nx', { probes: ['tegrastats'] }));
    const c = byName(r);
    expect(r.ok).toBe(true);
    expect(c['reachable']!.status).toBe('ok');
    expect(c['reachable']!.detail).toMatch(/^ssh:orin-nx \(.*127\.0\.0\.1:\d+\): connected in \d+ ms$/);
    expect(c['tool tegrastats']).toEqual({ name: 'tool tegrastats', status: 'ok', detail: join(board.binDir, 'tegrastats') });
    expect(c['tool nvpmodel']!.status).toBe('ok');
    expect(c['power mode']).toEqual({ name: 'power mode', status: 'ok', detail: 'nvpmodel: MAXN_SUPER (id 2)' });
    expect(c['clocks']!.status).toBe('warn');
    expect(c['clocks']!.detail).toBe(
      'not locked: cpu1 1497.6 of 1510.4 MHz, cpu2 1190.4 of 1510.4 MHz, cpu3 1113.6 of 1510.4 MHz, cpu4 729.6 of 1510.4 MHz, cpu5 883.2 of 1510.4 MHz, GPU 306 of 624.75 MHz (sudo jetson_clocks locks them at maximum)',
    );
    expect(c['memory']!.status).toBe('ok');
    expect(c['CMM']).toBeUndefined();
    expect(c['clock offset']!.status).toBe('ok');
    expect(Math.abs(r.clock!.offsetMs)).toBeLessThanOrEqual(r.clock!.errorMs + 1);
    expect(c['probe tegrastats']).toMatchObject({ status: 'ok' });
    expect(r.facts).toMatchObject({ 'power.nvpmodel': 'MAXN_SUPER', 'power.nvpmodel_id': '2', 'clock.gpu_mhz': '306/624.75', 'clock.emc_mhz': '2133/2133' });
    const table = renderPreflight(r);
    expect(table).toMatch(/^doctor: target orin-nx \(ssh:orin-nx\)\n\nstatus +check +detail\n/);
    expect(table).toMatch(/\nWARN +clocks +not locked: /);
    expect(table).toMatch(/\nready, 1 warning\(s\)\n$/);
  });

  it('checks an AX650N: ax_run_model and axllm, CMM from /proc/ax_proc/mem_cmm_info', async () => {
    board.setAxeraProc(true);
    const r = await preflight(sshd.target('ax650', { probes: ['axera'] }));
    const c = byName(r);
    expect(r.ok).toBe(true);
    expect(c['tool ax_run_model']!.status).toBe('ok');
    expect(c['tool axllm']!.status).toBe('ok');
    // Recorded: "total size=7208960KB(7040MB),used=18876KB".
    expect(c['CMM']).toEqual({ name: 'CMM', status: 'ok', detail: '18876 KiB used of 7040 MiB (0.3%)' });
    expect(c['power mode']).toBeUndefined();
    expect(c['probe axera']!.status).toBe('ok');
    board.setAxeraProc(false);
  });

  it('fails clearly: unreachable board, refused key, missing tool (CLI exit 1)', async () => {
    const down = await preflight(sshd.target('gone', { port: await freePort() }));
    expect(down.ok).toBe(false);
    expect(down.checks).toHaveLength(1);
    expect(down.checks[0]).toMatchObject({ name: 'reachable', status: 'fail' });
    expect(down.checks[0]!.detail).toMatch(/unreachable: .*Connection refused/);

    const key = await preflight(sshd.target('badkey', { identity: sshd.rejectedIdentity }));
    expect(key.checks[0]!.detail).toMatch(/authentication failed: the board refused the key/);

    const t = sshd.target('orin-nx', { probes: ['tegrastats'] });
    const file = join(sshd.dir, 'doctor-targets.yaml');
    writeFileSync(file, JSON.stringify({ targets: [{ ...t, source: undefined }] }));
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const program = new Command().exitOverride();
    registerDoctorCommand(program);
    await program.parseAsync(['node', 'bench', 'doctor', '--target', 'orin-nx', '--targets', file, '--tool', 'llama-mtmd-cli']);
    expect(process.exitCode).toBe(1);
    const text = out.join('');
    expect(text).toMatch(/\nFAIL +tool llama-mtmd-cli +llama-mtmd-cli: command not found on ssh:orin-nx .*— needed for run by the suite\n/);
    expect(text).toMatch(/\n1 check\(s\) failed, 1 warning\(s\)\n$/);
  });
});
