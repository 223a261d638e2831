/**
 * A REAL OpenSSH server for tests, on 127.0.0.1 and a random high port, with a generated host
 * key and user key (ssh-keygen), its own authorized_keys and known_hosts, and a PATH that puts a
 * fake board's tools first (helpers/fake-board.ts). Nothing outside a temp folder is touched
 * except /run/sshd, the privilege-separation folder sshd needs when it runs as root.
 *
 * When sshd is missing the helper throws: these tests must FAIL, not skip, on a machine without
 * it (CI: `apt-get install -y openssh-server openssh-client`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { TargetDefinition } from '../../../targets/types.ts';
import { tempDir } from '../../helpers/tmp.ts';

export const SSHD_MISSING =
  'sshd (the OpenSSH server) is not installed, so the SSH target tests cannot run. Install it: ' +
  'apt-get install -y openssh-server openssh-client (and, when tests run as root, mkdir -p /run/sshd)';

function findSshd(): string {
  for (const p of ['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/sbin/sshd', '/usr/bin/sshd']) if (existsSync(p)) return p;
  throw new Error(SSHD_MISSING);
}

function keygen(file: string, comment: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`ssh-keygen failed (${r.error?.message ?? r.stderr}); install openssh-client`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once the server sends its "SSH-2.0-..." banner. */
async function waitForBanner(port: number, child: ChildProcess, log: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = createConnection({ host: '127.0.0.1', port });
      sock.setTimeout(1000);
      sock.once('data', (d) => {
        sock.destroy();
        resolve(d.toString().startsWith('SSH-'));
      });
      sock.once('error', () => resolve(false));
      sock.once('timeout', () => {
        sock.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not answer on port ${port}: ${log()}`);
}

/** PIDs of every descendant of `root`, from /proc (Linux). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the ")" that closes the command name.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(entry), ppid);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, ppid] of parent) {
      if (ppid === pid) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return out;
}

export interface TestSshd {
  port: number;
  user: string;
  dir: string;
  identity: string;
  /** A key the server does not accept. */
  rejectedIdentity: string;
  /** An empty ssh_config (-F) so the host's own ssh config does not change the tests. */
  sshConfig: string;
  knownHosts: string;
  /** An ssh target definition for this server. */
  target(name?: string, extra?: Partial<TargetDefinition>): TargetDefinition;
  /** Kills sshd and every process under it (sessions, remote commands): the board goes away. */
  cut(): void;
  /** Starts sshd again on the same port. */
  restart(): Promise<void>;
  /** Kills the server and removes its folder. */
  stop(): void;
  log(): string;
}

export async function startSshd(pathDirs: string[]): Promise<TestSshd> {
  const sshd = findSshd();
  const dir = tempDir('bench-sshd-');
  const hostKey = join(dir, 'host_ed25519');
  const identity = join(dir, 'user_ed25519');
  const rejectedIdentity = join(dir, 'other_ed25519');
  keygen(hostKey, 'bench-test-host');
  keygen(identity, 'bench-test-user');
  keygen(rejectedIdentity, 'bench-test-rejected');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${identity}.pub`));
  const port = await freePort();
  const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPub}\n`);
  const sshConfig = join(dir, 'ssh_config');
  writeFileSync(sshConfig, '');
  const user = userInfo().username;
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${user}`,
      'MaxSessions 50',
      'MaxStartups 50',
      // HOME points at the temp folder so the session shell does not run this machine's own rc
      // files (a slow ~/.bashrc would add seconds to every command). TMPDIR is the test file's
      // (test/setup/temp-per-file.ts): what the "board" side leaves there is checked with the file.
      `SetEnv PATH=${[...pathDirs, '/usr/local/bin', '/usr/bin', '/bin'].join(':')} HOME=${dir} TMPDIR=${tmpdir()}`,
      'LogLevel INFO',
      '',
    ].join('\n'),
  );
  // sshd running as root needs its privilege-separation folder.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true });

  let child: ChildProcess;
  let stderr = '';
  const launch = async () => {
    child = spawn(sshd, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (c: string) => {
      stderr = (stderr + c).slice(-20_000);
    });
    await waitForBanner(port, child, () => stderr);
  };
  await launch();

  const cut = () => {
    const pid = child.pid;
    if (pid === undefined || child.exitCode !== null) return;
    const all = [...descendants(pid), pid];
    for (const p of all) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };

  return {
    port,
    user,
    dir,
    identity,
    rejectedIdentity,
    sshConfig,
    knownHosts,
    target: (name = 'board', extra = {}) => ({
      name,
      kind: 'ssh',
      host: '127.0.0.1',
      port,
      user,
      identity,
      sshConfig,
      sshOptions: { UserKnownHostsFile: knownHosts, GlobalKnownHostsFile: '/dev/null', StrictHostKeyChecking: 'yes' },
      connectTimeoutSeconds: 5,
      source: join(dir, 'targets.yaml'),
      ...extra,
    }),
    cut,
    restart: async () => {
      cut();
      await new Promise((r) => setTimeout(r, 100));
      await launch();
    },
    stop: () => {
      cut();
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => stderr,
  };
}
