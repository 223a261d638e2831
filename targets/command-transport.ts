import { execFile, spawn as spawnChild } from 'node:child_process';
import type { Clock } from '../core/clock.ts';
import type { ClockAlignment, CommandResult, CommandTransport, LineStream, RunOptions, StreamExit } from '../core/transport.ts';
import { lineStreamOf } from './child.ts';

function describeSpawnError(argv0: string, err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return `${argv0}: command not found`;
  if (err.code === 'EACCES') return `${argv0}: permission denied`;
  return `${argv0}: ${err.message}`;
}

/** Runs commands on this machine. Samples are stamped on arrival, so the clock offset is 0. */
export class LocalTransport implements CommandTransport {
  readonly name = 'local';

  run(argv: string[], opts: RunOptions = {}): Promise<CommandResult> {
    const [cmd, ...args] = argv;
    if (!cmd) return Promise.resolve({ stdout: '', stderr: '', code: null, error: 'empty command' });
    return new Promise((resolve) => {
      execFile(
        cmd,
        args,
        { timeout: opts.timeoutMs ?? 10_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (!err) return resolve({ stdout, stderr, code: 0 });
          const e = err as NodeJS.ErrnoException & { code?: string | number; killed?: boolean };
          if (typeof e.code === 'number') return resolve({ stdout, stderr, code: e.code });
          if (e.killed) {
            return resolve({ stdout, stderr, code: null, error: `${cmd}: timed out after ${opts.timeoutMs ?? 10_000} ms` });
          }
          resolve({ stdout, stderr, code: null, error: describeSpawnError(cmd, e) });
        },
      );
    });
  }

  spawn(argv: string[]): LineStream {
    return spawnLocalLines(argv);
  }

  alignClock(): Promise<ClockAlignment> {
    return Promise.resolve({ offsetMs: 0, errorMs: 0, method: 'local: samples stamped on the run clock as they arrive' });
  }
}

function spawnLocalLines(argv: string[]): LineStream {
  const [cmd, ...args] = argv;
  if (!cmd) return failedStream('empty command');
  return lineStreamOf(spawnChild(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }), {
    describeSpawnError: (err) => describeSpawnError(cmd, err),
  });
}

/** A stream that never started: no lines, one exit carrying the reason. */
function failedStream(error: string): LineStream {
  const exit: StreamExit = { code: null, signal: null, error, stderrTail: '', stoppedByUs: false };
  const exitListeners: Array<(e: StreamExit) => void> = [];
  queueMicrotask(() => exitListeners.forEach((l) => l(exit)));
  return { onLine: () => undefined, onExit: (l) => exitListeners.push(l), stop: async () => exit };
}

/**
 * Estimates a remote target's wall-clock offset from the run clock by asking it for the time a
 * few times and keeping the round with the shortest round trip (its error is half that trip).
 * Meant for SSH transports; busybox `date` without %N support falls back to whole seconds.
 */
export async function estimateClockOffset(transport: CommandTransport, clock: Clock, rounds = 5): Promise<ClockAlignment> {
  let best: { offsetMs: number; errorMs: number; resolutionMs: number } | null = null;
  const failures: string[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = clock.now();
    const res = await transport.run(['date', '+%s.%N']);
    const t1 = clock.now();
    const text = res.stdout.trim();
    const fine = /^(\d+)\.(\d{9})$/.exec(text);
    const coarse = /^(\d+)(?:\.|$)/.exec(text);
    if (res.code !== 0 || !coarse) {
      failures.push(res.error ?? `unexpected output "${text.slice(0, 40)}"`);
      continue;
    }
    const remoteEpochMs = fine ? Number(fine[1]) * 1000 + Number(fine[2]) / 1e6 : Number(coarse[1]) * 1000;
    const resolutionMs = fine ? 0 : 1000;
    const localEpochMs = clock.originEpochMs + (t0 + t1) / 2;
    // A whole-second reading lies anywhere in its second: centre it and widen the bound by half.
    const errorMs = (t1 - t0) / 2 + resolutionMs / 2;
    if (!best || errorMs < best.errorMs) {
      best = { offsetMs: remoteEpochMs + resolutionMs / 2 - localEpochMs, errorMs, resolutionMs };
    }
  }
  if (!best) {
    return {
      offsetMs: 0,
      errorMs: Number.POSITIVE_INFINITY,
      method: `unaligned: could not read the target clock (${failures[0] ?? 'no rounds'})`,
    };
  }
  return {
    offsetMs: best.offsetMs,
    errorMs: best.errorMs,
    method: `date round trip on ${transport.name}, best of ${rounds}${best.resolutionMs ? ', whole-second resolution' : ''}`,
  };
}

export type { ClockAlignment, CommandResult, CommandTransport, LineStream, RunOptions, StreamExit } from '../core/transport.ts';
