/**
 * SshTransport against a REAL OpenSSH server on 127.0.0.1 (helpers/sshd.ts). The board's vendor
 * tools are fake scripts that print recorded real outputs (helpers/fake-board.ts); ssh, sshd,
 * the remote shell and the processes are real.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClock } from '../../core/clock.ts';
import { createTegrastatsProbe } from '../../hw-probes/tegrastats/probe.ts';
import { controlParent, SshTransport } from '../../targets/ssh-transport.ts';
import { tempDir } from '../helpers/tmp.ts';
import { createFakeBoard, type FakeBoard } from './helpers/fake-board.ts';
import { NASTY } from './helpers/nasty.ts';
import { startSshd, type TestSshd } from './helpers/sshd.ts';

let board: FakeBoard;
let sshd: TestSshd;
let ssh: SshTransport;
const opened: SshTransport[] = [];

function transport(...args: Parameters<TestSshd['target']>): SshTransport {
  const t = new SshTransport(sshd.target(...args));
  opened.push(t);
  return t;
}

function accepted(): number {
  return (sshd.log().match(/Accepted publickey/g) ?? []).length;
}

beforeAll(async () => {
  board = createFakeBoard();
  sshd = await startSshd([board.binDir]);
  ssh = transport('board');
});

afterAll(async () => {
  for (const t of opened) await t.close();
  sshd?.stop();
  board?.remove();
});

describe('SshTransport on a real sshd', () => {
  it('passes every nasty argument through ssh and the remote shell intact', async () => {
    const work = join(board.dir, 'work dir with spaces');
    mkdirSync(work, { recursive: true });
    const t = transport('nasty', { workDir: work, env: { BENCH_X: "it's $HOME; `id`" } });
    const r = await t.run(['printf', '%s\\0', ...NASTY]);
    expect(r.error).toBeUndefined();
    expect(r.code).toBe(0);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(NASTY);
    // ">out.txt" and friends were arguments, not redirections.
    expect(readdirSync(work)).toEqual([]);
    const env = await t.run(['sh', '-c', 'pwd; printf "%s" "$BENCH_X"']);
    expect(env.stdout).toBe(`${work}\nit's $HOME; \`id\``);
  });

  it('connects with a TMPDIR too long for a socket inside it (its control socket goes to /tmp)', async () => {
    expect(controlParent('/tmp/vtAbCdEf/GhIjKl')).toBe('/tmp/vtAbCdEf/GhIjKl');
    const long = join(tempDir('bench-long-tmp-'), 'a-temporary-folder-whose-path-is-longer-than-a-unix-socket-allows');
    mkdirSync(long);
    expect(controlParent(long)).toBe('/tmp');
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = long;
    try {
      const t = transport('long-tmpdir');
      const r = await t.run(['echo', 'ok']);
      expect(r.error).toBeUndefined();
      expect(r.stdout).toBe('ok\n');
      await t.close();
    } finally {
      if (saved === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = saved;
    }
  });

  it('reuses one connection for many commands (ControlMaster)', async () => {
    const t = transport('reuse');
    const before = accepted();
    for (let i = 0; i < 6; i++) {
      const r = await t.run(['echo', String(i)]);
      expect(r.stdout).toBe(`${i}\n`);
    }
    expect(accepted() - before).toBe(1);
    const master = t.masterPid();
    expect(master).toBeGreaterThan(0);
    await t.close();
    // The master exits (a zombie counts: it may be reparented to a PID 1 that does not reap).
    const gone = () => !existsSync(`/proc/${master}`) || /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${master}/stat`, 'utf8'));
    const deadline = Date.now() + 3000;
    while (!gone() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(gone()).toBe(true);
  });

  it('feeds stdin and passes exit statuses through, 255 included', async () => {
    const r = await ssh.run(['sh', '-c', 'read a; read b; echo "$b $a"'], { input: "first line\nsecond 'line'\n" });
    expect(r.stdout).toBe("second 'line' first line\n");
    const three = await ssh.run(['sh', '-c', 'echo oops >&2; exit 3']);
    expect(three).toMatchObject({ code: 3, stderr: 'oops\n' });
    expect(three.failure).toBeUndefined();
    // A program's own 255 is not mistaken for an ssh failure.
    const own = await ssh.run(['sh', '-c', 'exit 255']);
    expect(own.code).toBe(255);
    expect(own.failure).toBeUndefined();
  });

  it('tells an unreachable host, a refused key, an unknown host key and a missing tool apart', async () => {
    const closedPort = await import('./helpers/sshd.ts').then((m) => m.freePort());
    const unreachable = await transport('closed', { port: closedPort }).run(['true']);
    expect(unreachable.failure).toBe('unreachable');
    expect(unreachable.code).toBeNull();
    expect(unreachable.error).toMatch(new RegExp(`^ssh:closed \\(.*127\\.0\\.0\\.1:${closedPort}\\): unreachable: .*Connection refused`));

    const refused = await transport('badkey', { identity: sshd.rejectedIdentity }).run(['true']);
    expect(refused.failure).toBe('auth');
    expect(refused.error).toMatch(/^ssh:badkey .*: authentication failed: the board refused the key .*Permission denied \(publickey\)/);

    const otherHosts = join(board.dir, 'other_known_hosts');
    writeFileSync(otherHosts, `[127.0.0.1]:${sshd.port} ${readFileSync(`${sshd.rejectedIdentity}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
    const hostKey = await transport('hostkey', { sshOptions: { UserKnownHostsFile: otherHosts, GlobalKnownHostsFile: '/dev/null', StrictHostKeyChecking: 'yes' } }).run(['true']);
    expect(hostKey.failure).toBe('host-key');
    expect(hostKey.error).toMatch(/host key check failed/);

    const missing = await ssh.run(['ax_run_model_not_installed', '-m', 'x.axmodel']);
    expect(missing.failure).toBe('missing-tool');
    expect(missing.code).toBeNull();
    expect(missing.error).toMatch(/^ax_run_model_not_installed: command not found on ssh:board .*\(exit 127/);

    expect(new Set([unreachable.error, refused.error, hostKey.error, missing.error]).size).toBe(4);
  });

  it('stops a command that outlives its time limit, on the board too', async () => {
    const r = await ssh.run(['sleep', '30'], { timeoutMs: 1500 });
    expect(r.failure).toBe('timeout');
    expect(r.wallMs).toBeLessThan(10_000);
    const pid = Number(/pid (\d+)/.exec(r.error ?? '')?.[1]);
    expect(pid).toBeGreaterThan(0);
    // sshd runs on this machine, so the remote PID is visible here.
    const deadline = Date.now() + 5000;
    while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  it('estimates the clock offset from date round trips (same machine: offset within the bound)', async () => {
    const clock = createClock();
    const a = await ssh.alignClock(clock);
    expect(a.method).toMatch(/^date \+%s%N over one ssh session on ssh:board, best of 8 round trips$/);
    expect(a.errorMs).toBeGreaterThan(0);
    expect(a.errorMs).toBeLessThan(250);
    // The board's clock IS this clock: the true offset is 0 (±1 ms of Date.now resolution).
    expect(Math.abs(a.offsetMs)).toBeLessThanOrEqual(a.errorMs + 1);
  });

  it('streams a long-running tool and the tegrastats probe samples over the same connection', async () => {
    const stream = ssh.spawn(['tegrastats', '--interval', '100']);
    const lines: string[] = [];
    stream.onLine((l) => lines.push(l));
    while (lines.length < 3) await new Promise((r) => setTimeout(r, 50));
    const exit = await stream.stop();
    expect(exit.stoppedByUs).toBe(true);
    expect(lines[0]).toMatch(/^11-15-2024 08:38:09 RAM 6185\/7620MB .* VDD_IN 12479mW\/12479mW VDD_CPU_GPU_CV 4667mW\/4667mW VDD_SOC 2817mW\/2817mW$/);

    const probe = createTegrastatsProbe({ transport: ssh });
    expect((await probe.detect()).available).toBe(true);
    const clock = createClock();
    await probe.start(clock, 100);
    await new Promise((r) => setTimeout(r, 700));
    const run = await probe.stop();
    expect(run.samples.length).toBeGreaterThanOrEqual(2);
    const vin = run.samples[0]!.rails!.find((r) => r.name === 'VDD_IN')!;
    expect(vin).toMatchObject({ powerMw: 12479, toolAverageMw: 12479 });
    expect(run.samples[0]!.gpus?.[0]?.gpcMhz).toEqual([621]);
  });

  it('reports a missing streamed tool with the same clear message', async () => {
    const stream = ssh.spawn(['tegrastats_missing', '--interval', '100']);
    const exit = await new Promise<import('../../targets/command-transport.ts').StreamExit>((r) => stream.onExit(r));
    expect(exit.error).toMatch(/^tegrastats_missing: command not found on ssh:board/);
  });
});
