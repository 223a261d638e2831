/**
 * Child-process plumbing shared by the local and SSH transports: run a program to completion
 * with a time limit and optional stdin, or stream its stdout as lines.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { LineStream, StreamExit } from '../core/transport.ts';

const STDERR_TAIL_CHARS = 4000;
const KILL_GRACE_MS = 2000;
/**
 * An ssh master started by this command (ControlPersist) may keep our stderr pipe open after the
 * client exits; stderr is therefore waited for only this long once stdout has ended.
 */
const STDERR_DRAIN_MS = 200;

export interface ChildOutcome {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** errno code when the program could not be started (ENOENT, EACCES). */
  spawnError?: NodeJS.ErrnoException;
  timedOut: boolean;
  wallMs: number;
}

export interface RunChildOptions {
  input?: string;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called once when the time limit is hit, before the process is killed, with the output so far. */
  onTimeout?: (partial: { stdout: string; stderr: string }) => void;
  /** Called with the whole stderr so far each time more arrives (to read a PID it announces). */
  onStderr?: (soFar: string) => void;
}

export function runChild(cmd: string, args: readonly string[], opts: RunChildOptions): Promise<ChildOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const spawnOpts: SpawnOptions = { stdio: ['pipe', 'pipe', 'pipe'] };
    if (opts.env) spawnOpts.env = opts.env;
    if (opts.cwd) spawnOpts.cwd = opts.cwd;
    const child = spawn(cmd, args, spawnOpts);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let stdoutEnded = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;

    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      resolve({ stdout, stderr, code: exit?.code ?? null, signal: exit?.signal ?? null, ...(spawnError ? { spawnError } : {}), timedOut, wallMs: performance.now() - started });
    };
    const maybeDone = () => {
      if (!exit || !stdoutEnded || settled) return;
      if (child.stderr!.readableEnded) return settle();
      drainTimer ??= setTimeout(settle, STDERR_DRAIN_MS);
    };

    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (c: string) => (stdout += c));
    child.stderr!.on('data', (c: string) => {
      stderr += c;
      opts.onStderr?.(stderr);
    });
    child.stdout!.on('end', () => {
      stdoutEnded = true;
      maybeDone();
    });
    child.stderr!.on('end', maybeDone);
    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError = err;
      exit ??= { code: null, signal: null };
      stdoutEnded = true;
      settle();
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      maybeDone();
    });
    // A command that does not read its stdin must not fail the write.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(opts.input ?? '');

    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      opts.onTimeout?.({ stdout, stderr });
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    }, opts.timeoutMs);
  });
}

export interface LineStreamOptions {
  /** Turns a spawn error into the message StreamExit.error carries. */
  describeSpawnError: (err: NodeJS.ErrnoException) => string;
  /** Removes transport bookkeeping (a PID marker) from stderr, and learns from it. */
  filterStderr?: (chunk: string) => string;
  /** Explains an exit in the transport's terms (ssh 255, shell 127); returns undefined for a normal exit. */
  explainExit?: (code: number | null, stderrTail: string) => string | undefined;
  /** Extra work when stop() is called (kill the program on the target). */
  onStop?: () => Promise<void>;
}

/** Wraps a spawned process as a LineStream (stdout split into lines, stderr tail kept). */
export function lineStreamOf(child: ChildProcess, opts: LineStreamOptions): LineStream {
  const lineListeners: Array<(line: string) => void> = [];
  const exitListeners: Array<(exit: StreamExit) => void> = [];
  let stderrTail = '';
  let pending = '';
  let exitInfo: StreamExit | null = null;
  let stoppedByUs = false;
  let resolveExit: (exit: StreamExit) => void = () => undefined;
  const exited = new Promise<StreamExit>((r) => (resolveExit = r));

  const emit = (line: string) => {
    for (const l of lineListeners) l(line);
  };
  const finish = (code: number | null, signal: string | null, error?: string) => {
    if (exitInfo) return;
    if (pending) {
      const last = pending;
      pending = '';
      emit(last);
    }
    const tail = stderrTail.trim();
    const explained = error ?? (stoppedByUs ? undefined : opts.explainExit?.(code, tail));
    exitInfo = { code, signal, ...(explained ? { error: explained } : {}), stderrTail: tail, stoppedByUs };
    for (const l of exitListeners) l(exitInfo);
    resolveExit(exitInfo);
  };

  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).replace(/\r$/, '');
      pending = pending.slice(nl + 1);
      emit(line);
    }
  });
  child.stderr!.on('data', (chunk: string) => {
    const kept = opts.filterStderr ? opts.filterStderr(chunk) : chunk;
    stderrTail = (stderrTail + kept).slice(-STDERR_TAIL_CHARS);
  });
  child.on('error', (err: NodeJS.ErrnoException) => finish(null, null, opts.describeSpawnError(err)));
  child.on('close', (code, signal) => finish(code, signal));

  return {
    onLine: (l) => lineListeners.push(l),
    onExit: (l) => exitListeners.push(l),
    stop: async () => {
      if (exitInfo) return exitInfo;
      // Exited on its own but its pipes are still draining: that exit is not ours to hide.
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      stoppedByUs = true;
      await opts.onStop?.().catch(() => undefined);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
