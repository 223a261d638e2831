import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.ts';
import type { CommandTransport } from '../../core/transport.ts';
import { LocalTransport } from '../../targets/command-transport.ts';
import { acquireRunLock, type HeldRunLock } from '../../targets/run-lock.ts';
import { SshTransport } from '../../targets/ssh-transport.ts';
import type { TargetDefinition } from '../../targets/types.ts';
import { startSshd, type TestSshd } from './helpers/sshd.ts';
import { tempDir } from '../helpers/tmp.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const me = (command: string) => ({ host: hostname(), pid: process.pid, user: userInfo().username, since: new Date().toISOString(), command });

/** Another run, in its own process, that holds the board's lock until it is killed. */
async function holderProcess(target: TargetDefinition, dir: string): Promise<ChildProcess> {
  // Its own TMPDIR (one letter: its ssh control socket goes below it): SIGKILLed, the holder cannot
  // remove its ssh control folder, and the folder goes with this test's.
  const env = { ...process.env, TMPDIR: tempDir('h') };
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'helpers', 'hold-run-lock.ts'), JSON.stringify(target), dir], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolveHeld, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('held') && resolveHeld());
    child.once('exit', (code) => reject(new Error(`holder exited ${code}: ${err}`)));
  });
  return child;
}

/** Tries until the lock is free (a dead holder's shell notices within about a second). */
async function acquireWhenFree(transport: CommandTransport, board: string, dir: string): Promise<HeldRunLock> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await acquireRunLock(transport, me('bench run --suite next'), board, dir);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

async function exercise(target: TargetDefinition, transport: CommandTransport): Promise<void> {
  const dir = tempDir('bench-lock-');
  const holder = await holderProcess(target, dir);
  // A second run on the same board is refused, naming who holds the lock and since when.
  const refused = await acquireRunLock(transport, me('bench run --suite second'), target.name, dir).then(
    () => null,
    (e: Error) => e.message,
  );
  expect(refused).toMatch(new RegExp(`target "${target.name}" is in use: .*pid ${holder.pid} on host ${hostname()} \\(user ${userInfo().username}\\), since 20\\d\\d-\\d\\d-\\d\\dT[^ ]+ \\(0 min ago\\), running: bench run --suite held-by-test`));
  // The holder dies without releasing: the next run takes the lock over, naming the dead run.
  holder.kill('SIGKILL');
  const taken = await acquireWhenFree(transport, target.name, dir);
  expect(taken.tookOver?.pid).toBe(holder.pid);
  expect(taken.tookOver?.command).toBe('bench run --suite held-by-test');
  // A normal release frees it with nothing to take over.
  await taken.release();
  expect(existsSync(`${taken.path}.holder`)).toBe(false);
  const again = await acquireRunLock(transport, me('bench run --suite third'), target.name, dir);
  expect(again.tookOver).toBeNull();
  await again.release();
}

describe('run lock on the board', () => {
  it('local target: one run at a time, a dead run\'s lock is taken over', async () => {
    await exercise({ name: 'local', kind: 'local', source: 'builtin' }, new LocalTransport());
  });

  describe('over SSH (real sshd on loopback)', () => {
    let sshd: TestSshd;
    let transport: SshTransport;
    beforeAll(async () => {
      sshd = await startSshd([]);
      transport = new SshTransport(sshd.target('board-1'));
    });
    afterAll(async () => {
      await transport?.close();
      sshd?.stop();
    });
    it('ssh target: one run at a time, a dead run\'s lock is taken over', async () => {
      await exercise(sshd.target('board-1'), transport);
    });
  });

  it('SIGINT to a running bench run releases its lock: the next run takes it with nothing to take over', async () => {
    const dir = tempDir('bench-lock-');
    const holderFile = join(dir, 'vlm-edge-bench.lock.holder');
    const child = spawn(process.execPath, [join(repo, 'bin', 'bench.mjs'), 'run', '--suite', 'internvl-tiny', '--filter', 'images=0', '--filter', 'prefill=16', '--iterations', '30', '--warmup', '0', '--out', join(dir, 'out')], {
      cwd: repo,
      env: { ...process.env, CI: 'true', BENCH_LOCK_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout!.on('data', () => undefined);
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const deadline = Date.now() + 120_000;
    // The run holds the board's lock (its holder file names it) and is measuring a cell.
    while (!(existsSync(holderFile) && /iteration \d+\/30/.test(stderr))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the run never took the lock and started: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(readFileSync(holderFile, 'utf8')).toContain(`"pid":${child.pid}`);
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    // Released on the way out (not left for the next run to take over).
    expect(existsSync(holderFile)).toBe(false);
    const next = await acquireRunLock(new LocalTransport(), me('bench run --suite next'), 'local', dir);
    expect(next.tookOver).toBeNull();
    await next.release();
  }, 150_000);

  it('bench run refuses while another run holds the board, naming it (exit 2)', async () => {
    const dir = tempDir('bench-lock-');
    const held = await acquireRunLock(new LocalTransport(), me('bench run --suite holding'), 'local', dir);
    let stderr = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
    const before = process.env['BENCH_LOCK_DIR'];
    process.env['BENCH_LOCK_DIR'] = dir;
    try {
      const code = await main(['node', 'bench', 'run', '--suite', 'internvl-tiny', '--iterations', '1', '--out', join(dir, 'out')]);
      expect(code).toBe(2);
      expect(stderr).toMatch(new RegExp(`target "local" is in use: .*pid ${process.pid} on host .*running: bench run --suite holding`));
      expect(existsSync(join(dir, 'out'))).toBe(false);
    } finally {
      spy.mockRestore();
      process.exitCode = undefined;
      if (before === undefined) delete process.env['BENCH_LOCK_DIR'];
      else process.env['BENCH_LOCK_DIR'] = before;
      await held.release();
    }
  });
});
