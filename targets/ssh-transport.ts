/**
 * CommandTransport over the system OpenSSH client, so ~/.ssh/config, agents, ProxyJump and
 * known_hosts work as they do in a terminal. Commands are argument arrays, quoted for the
 * board's POSIX shell (shell-quote.ts). One master connection per target is kept open
 * (ControlMaster/ControlPersist in a private temp dir) so each command costs a round trip, not
 * a handshake; a broken master is replaced on the next command. BatchMode: never a prompt.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { errorMessage, InputError } from '../core/errors.ts';
import { estimateClockOffset, type ClockAlignment, type LineStream } from './command-transport.ts';
import { lineStreamOf, runChild } from './child.ts';
import { PID_MARKER, remoteScript } from './shell-quote.ts';
import { classifyExitStatus, classifySshFailure } from './ssh-errors.ts';
import type { CommandFailureKind, TargetCommandResult, TargetDefinition, TargetRunOptions, TargetTransport } from './types.ts';

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_S = 10;
/** Idle time after which the master connection closes by itself (cells may be minutes apart). */
const CONTROL_PERSIST_S = 300;
const CLOCK_ROUNDS = 8;

export interface SshTransportOptions {
  /** The ssh executable (default "ssh" from PATH). */
  sshBinary?: string;
}

/** Expands "~/" and resolves a path relative to the targets file that named it. */
export function resolveLocalPath(path: string, source: string): string {
  if (path === '~' || path.startsWith('~/')) return join(homedir(), path.slice(2));
  if (isAbsolute(path)) return path;
  const base = source === 'builtin' ? process.cwd() : dirname(source);
  return resolve(base, path);
}

/** Removes the PID marker line from stderr and returns the PID it announced. */
export function takePidMarker(stderr: string): { pid: number | null; stderr: string } {
  const at = stderr.indexOf(PID_MARKER);
  if (at < 0) return { pid: null, stderr };
  const end = stderr.indexOf('\n', at);
  const line = stderr.slice(at, end < 0 ? undefined : end);
  const pid = Number(line.slice(PID_MARKER.length));
  return { pid: Number.isInteger(pid) && pid > 0 ? pid : null, stderr: stderr.slice(0, at) + (end < 0 ? '' : stderr.slice(end + 1)) };
}

/** Transports that still hold a master connection, closed when the process exits. */
const open = new Set<SshTransport>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const t of open) t.closeSync();
  });
}

/** sun_path holds 108 bytes on Linux and 104 on macOS and the BSDs: the smaller, with its NUL. */
const SOCKET_PATH_MAX = 103;
/**
 * What ssh adds to the control folder: "/" + %C (40 hex characters), and while it sets up the
 * master it binds "<path>.<16 random characters>" first.
 */
const CONTROL_NAME_LENGTH = 1 + 40 + 17;

/**
 * The folder for the control folder: the user's temporary folder, unless its path is too long for
 * a socket inside it (a long TMPDIR made every connection fail with "path too long for Unix domain
 * socket"); then /tmp, which every POSIX system has.
 */
export function controlParent(temp: string = tmpdir()): string {
  return temp.length + '/bench-ssh-XXXXXX'.length + CONTROL_NAME_LENGTH <= SOCKET_PATH_MAX ? temp : '/tmp';
}

export class SshTransport implements TargetTransport {
  readonly name: string;
  /** "ssh:ax650 (root@10.0.0.2:22)", for messages. */
  readonly where: string;
  private readonly ssh: string;
  private readonly identity: string | undefined;
  private readonly sshConfig: string | undefined;
  private controlDir: string | null = null;
  private connected = false;
  private connecting: Promise<TargetCommandResult> | null = null;
  /** PIDs on the board of the commands running now, stopped by close() (a run that is interrupted). */
  private readonly runningRemote = new Set<number>();

  constructor(
    readonly target: TargetDefinition,
    opts: SshTransportOptions = {},
  ) {
    if (target.kind !== 'ssh' || !target.host) throw new InputError(`target "${target.name}" (${target.source}): field "host": required for kind ssh`);
    this.name = `ssh:${target.name}`;
    this.where = `${this.name} (${target.user ? `${target.user}@` : ''}${target.host}${target.port ? `:${target.port}` : ''})`;
    this.ssh = opts.sshBinary ?? 'ssh';
    if (target.identity !== undefined) {
      this.identity = resolveLocalPath(target.identity, target.source);
      if (!existsSync(this.identity)) throw new InputError(`target "${target.name}" (${target.source}): field "identity": key file ${this.identity} not found`);
    }
    if (target.sshConfig !== undefined) {
      this.sshConfig = resolveLocalPath(target.sshConfig, target.source);
      if (!existsSync(this.sshConfig)) throw new InputError(`target "${target.name}" (${target.source}): field "sshConfig": file ${this.sshConfig} not found`);
    }
  }

  /** Private folder of the control socket; short, because a unix socket path is limited to ~100 bytes. */
  private controlPath(): string {
    if (!this.controlDir) {
      this.controlDir = mkdtempSync(join(controlParent(), 'bench-ssh-'));
      open.add(this);
      installExitHook();
    }
    return join(this.controlDir, '%C');
  }

  /** ssh options up to and including the destination. */
  sshArgs(): string[] {
    const t = this.target;
    const args: string[] = [];
    if (this.sshConfig) args.push('-F', this.sshConfig);
    // ssh keeps the first value it sees for an option: the user's own options go first.
    for (const [k, v] of Object.entries(t.sshOptions ?? {})) args.push('-o', `${k}=${v}`);
    args.push(
      '-o', 'BatchMode=yes',
      '-o', `ConnectTimeout=${t.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_S}`,
      '-o', 'ControlMaster=auto',
      '-o', `ControlPath=${this.controlPath()}`,
      '-o', `ControlPersist=${CONTROL_PERSIST_S}`,
      // Notice a dead link within ~15 s instead of waiting for TCP to give up.
      '-o', 'ServerAliveInterval=5',
      '-o', 'ServerAliveCountMax=3',
      '-T',
    );
    if (t.port !== undefined) args.push('-p', String(t.port));
    if (t.user !== undefined) args.push('-l', t.user);
    if (this.identity) args.push('-i', this.identity, '-o', 'IdentitiesOnly=yes');
    args.push('--', t.host!);
    return args;
  }

  private failed(base: { stdout: string; stderr: string; wallMs: number }, kind: CommandFailureKind, message: string): TargetCommandResult {
    if (kind === 'unreachable' || kind === 'auth' || kind === 'host-key' || kind === 'connection-lost') this.connected = false;
    return { ...base, code: null, error: message, failure: kind };
  }

  /** Runs a remote command line as is (no quoting); the single place ssh is invoked for run(). */
  private async exec(remote: string, program: string, opts: TargetRunOptions, announcedPid: boolean): Promise<TargetCommandResult> {
    const timeoutMs = opts.timeoutMs ?? this.target.commandTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    let pidAtTimeout: number | null = null;
    let announced: number | null = null;
    const out = await runChild(this.ssh, [...this.sshArgs(), remote], {
      timeoutMs,
      input: opts.input,
      onTimeout: (partial) => {
        pidAtTimeout = takePidMarker(partial.stderr).pid;
      },
      onStderr: (soFar) => {
        if (!announcedPid || announced !== null) return;
        // Only a whole marker line: a PID cut between two chunks would name another process.
        const at = soFar.indexOf(PID_MARKER);
        if (at < 0 || soFar.indexOf('\n', at) < 0) return;
        announced = takePidMarker(soFar).pid;
        if (announced !== null) this.runningRemote.add(announced);
      },
    }).finally(() => {
      if (announced !== null) this.runningRemote.delete(announced);
    });
    const { pid, stderr } = announcedPid ? takePidMarker(out.stderr) : { pid: null, stderr: out.stderr };
    const base = { stdout: out.stdout, stderr, wallMs: out.wallMs };
    if (out.spawnError) {
      const msg = out.spawnError.code === 'ENOENT' ? `${this.ssh}: the OpenSSH client is not installed (apt-get install openssh-client)` : `${this.ssh}: ${out.spawnError.message}`;
      return this.failed(base, 'other', msg);
    }
    if (out.timedOut) {
      // Killing our ssh client does not stop the program on the board: kill it there by PID.
      const remotePid = pidAtTimeout ?? pid;
      if (remotePid !== null) await this.killRemote(remotePid);
      return this.failed(base, 'timeout', `${program} on ${this.where}: timed out after ${timeoutMs} ms${remotePid !== null ? ` (stopped on the target, pid ${remotePid})` : ''}`);
    }
    if (out.code === 255) {
      const f = classifySshFailure(stderr, this.where);
      // With the PID announced the remote shell ran: a 255 is the program's own unless the link
      // broke. A mux client may say nothing when its master dies, so the master is asked.
      if (!(announcedPid && pid !== null) || f.kind === 'connection-lost') return this.failed(base, f.kind, f.message);
      if (!(await this.masterAlive())) {
        return this.failed(base, 'connection-lost', `${this.where}: connection lost: the connection broke while the command ran (${program}: ssh exit 255 and the master connection is gone)${stderr.trim() ? ` [ssh: ${stderr.trim().split('\n').pop()}]` : ''}`);
      }
    }
    if (out.code === null) return this.failed(base, 'connection-lost', `${program} on ${this.where}: ssh client killed by ${out.signal ?? 'a signal'}`);
    const status = classifyExitStatus(out.code, program, stderr, this.where);
    if (status) return { ...base, code: null, error: status.message, failure: status.kind };
    this.connected = true;
    return { ...base, code: out.code };
  }

  /**
   * Opens (or checks) the master connection. Resolves with a failure result that says why the
   * board cannot be reached; concurrent callers share one attempt.
   */
  connect(timeoutMs?: number): Promise<TargetCommandResult> {
    if (!this.connecting) {
      const connectTimeout = ((this.target.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_S) + 5) * 1000;
      this.connecting = this.exec('exit 0', 'ssh', { timeoutMs: timeoutMs ?? connectTimeout }, false).finally(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }

  async run(argv: string[], opts: TargetRunOptions = {}): Promise<TargetCommandResult> {
    let remote: string;
    try {
      remote = remoteScript(argv, { cwd: this.target.workDir, env: this.target.env, announcePid: true });
    } catch (err) {
      return { stdout: '', stderr: '', code: null, error: errorMessage(err), failure: 'other', wallMs: 0 };
    }
    if (!this.connected) {
      const c = await this.connect();
      if (c.failure) return c;
    }
    return this.exec(remote, argv[0]!, opts, true);
  }

  /** TERM, then KILL if it is still there after ~2 s. The PID is an integer we parsed, nothing else is interpolated. */
  private async killRemote(pid: number): Promise<void> {
    if (!Number.isInteger(pid) || pid <= 1) return;
    const p = String(pid);
    const script =
      `kill -TERM ${p} 2>/dev/null || exit 0; i=0; ` +
      `while kill -0 ${p} 2>/dev/null && [ $i -lt 20 ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i+1)); done; ` +
      `kill -KILL ${p} 2>/dev/null; exit 0`;
    await this.exec(script, 'kill', { timeoutMs: 10_000 }, false);
  }

  spawn(argv: string[]): LineStream {
    let remote: string;
    try {
      remote = remoteScript(argv, { cwd: this.target.workDir, env: this.target.env, announcePid: true });
    } catch (err) {
      remote = `echo ${JSON.stringify(errorMessage(err)).replace(/[^A-Za-z0-9 _.:-]/g, '')} >&2; exit 2`;
    }
    const child = spawn(this.ssh, [...this.sshArgs(), remote], { stdio: ['ignore', 'pipe', 'pipe'] });
    let remotePid: number | null = null;
    let buffered = '';
    const program = argv[0] ?? '';
    return lineStreamOf(child, {
      describeSpawnError: (err) => (err.code === 'ENOENT' ? `${this.ssh}: the OpenSSH client is not installed` : `${this.ssh}: ${err.message}`),
      filterStderr: (chunk) => {
        if (remotePid !== null) return chunk;
        buffered += chunk;
        const taken = takePidMarker(buffered);
        if (taken.pid === null) return '';
        remotePid = taken.pid;
        buffered = '';
        return taken.stderr;
      },
      explainExit: (code, tail) => {
        const text = remotePid === null ? `${buffered}${tail}` : tail;
        if (code === 255 && (remotePid === null || /Connection (?:closed|reset)|Broken pipe|not responding/.test(text))) return classifySshFailure(text, this.where).message;
        if (code !== null) return classifyExitStatus(code, program, text, this.where)?.message;
        return undefined;
      },
      onStop: async () => {
        if (remotePid !== null) await this.killRemote(remotePid);
      },
    });
  }

  /**
   * Offset of the board's wall clock from the run clock: `date +%s%N` asked over one open
   * session several times; the round with the shortest round trip wins and its error bound is
   * half that trip. Falls back to one command per reading (hw-probes estimateClockOffset).
   */
  async alignClock(clock: Clock): Promise<ClockAlignment> {
    if (!this.connected) await this.connect();
    const viaSession = await this.alignOverSession(clock).catch(() => null);
    return viaSession ?? estimateClockOffset(this, clock);
  }

  private alignOverSession(clock: Clock): Promise<ClockAlignment | null> {
    // A fixed script, no parameters in it: one `date` per line we send.
    const script = 'while read -r _; do date +%s%N; done';
    const child = spawn(this.ssh, [...this.sshArgs(), script], { stdio: ['pipe', 'pipe', 'pipe'] });
    return new Promise<ClockAlignment | null>((resolveAlign) => {
      const lines: string[] = [];
      let waiter: ((line: string) => void) | null = null;
      let pending = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (c: string) => {
        pending += c;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (waiter) {
            const w = waiter;
            waiter = null;
            w(line);
          } else lines.push(line);
        }
      });
      child.stdin.on('error', () => undefined);
      const done = (value: ClockAlignment | null) => {
        clearTimeout(guard);
        child.stdin.end();
        child.kill('SIGTERM');
        resolveAlign(value);
      };
      const guard = setTimeout(() => done(null), 10_000);
      child.on('error', () => done(null));
      child.on('exit', () => {
        if (waiter) done(null);
      });
      const ask = (): Promise<{ line: string; t0: number; t1: number }> =>
        new Promise((r) => {
          const t0 = clock.now();
          waiter = (line) => r({ line, t0, t1: clock.now() });
          child.stdin.write('\n');
        });
      void (async () => {
        let best: { offsetMs: number; errorMs: number; coarse: boolean } | null = null;
        // The first answer also pays for starting the remote shell: discarded.
        for (let i = 0; i <= CLOCK_ROUNDS; i++) {
          const { line, t0, t1 } = await ask();
          if (i === 0) continue;
          const fine = /^(\d+)(\d{9})$/.exec(line);
          const coarse = /^(\d{9,})\D*$/.exec(line);
          if (!fine && !coarse) return done(null);
          const coarseRead = !(fine && line.length >= 19);
          const remoteEpochMs = coarseRead ? Number(coarse![1]) * 1000 + 500 : Number(fine![1]) * 1000 + Number(fine![2]) / 1e6;
          const localEpochMs = clock.originEpochMs + (t0 + t1) / 2;
          const errorMs = (t1 - t0) / 2 + (coarseRead ? 500 : 0);
          if (!best || errorMs < best.errorMs) best = { offsetMs: remoteEpochMs - localEpochMs, errorMs, coarse: coarseRead };
        }
        done(
          best && {
            offsetMs: best.offsetMs,
            errorMs: best.errorMs,
            method: `date +%s%N over one ssh session on ${this.name}, best of ${CLOCK_ROUNDS} round trips${best.coarse ? ' (whole-second date: ±500 ms added)' : ''}`,
          },
        );
      })();
    });
  }

  /** Whether the master connection is still up (`ssh -O check` talks to the local socket only). */
  private async masterAlive(): Promise<boolean> {
    if (!this.controlDir) return false;
    const check = async () => (await runChild(this.ssh, ['-O', 'check', ...this.sshArgs()], { timeoutMs: 5000 })).code === 0;
    if (!(await check())) return false;
    // A master that is shutting down may still answer once: ask again a moment later.
    await new Promise((r) => setTimeout(r, 300));
    return check();
  }

  /** PID of the master connection, when one is running (used by tests to cut the link). */
  masterPid(): number | null {
    if (!this.controlDir) return null;
    const r = spawnSync(this.ssh, ['-O', 'check', ...this.sshArgs()], { encoding: 'utf8', timeout: 5000 });
    const m = /pid=(\d+)/.exec(`${r.stdout}${r.stderr}`);
    return m ? Number(m[1]) : null;
  }

  async close(): Promise<void> {
    if (!this.controlDir) return;
    // A command still running on the board (an interrupted cell: its ssh client died with the
    // signal, the program did not) is stopped there before the master goes.
    await Promise.all([...this.runningRemote].map((pid) => this.killRemote(pid)));
    this.runningRemote.clear();
    await runChild(this.ssh, ['-O', 'exit', ...this.sshArgs()], { timeoutMs: 5000 });
    this.removeControlDir();
  }

  /** For process exit, where nothing asynchronous runs any more. */
  closeSync(): void {
    if (!this.controlDir) return;
    spawnSync(this.ssh, ['-O', 'exit', ...this.sshArgs()], { stdio: 'ignore', timeout: 3000 });
    this.removeControlDir();
  }

  private removeControlDir(): void {
    if (this.controlDir) rmSync(this.controlDir, { recursive: true, force: true });
    this.controlDir = null;
    this.connected = false;
    open.delete(this);
  }
}
