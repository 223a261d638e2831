import type { Clock } from './clock.ts';

/**
 * How probes reach the machine they measure. Commands are argument arrays, never shell strings,
 * so a rail name or a path can never turn into a command. The local implementation uses
 * child_process; an SSH implementation only has to provide the same three methods.
 */
export interface CommandTransport {
  /** "local", or e.g. "ssh:orin-nano" for a remote target. */
  readonly name: string;
  run(argv: string[], opts?: RunOptions): Promise<CommandResult>;
  /** Starts a long-running command (tegrastats, nvidia-smi -lms) and streams its stdout lines. */
  spawn(argv: string[]): LineStream;
  /** Offset between the target's clock and the run clock, with its error bound. */
  alignClock(clock: Clock): Promise<ClockAlignment>;
}

export interface RunOptions {
  /** Kill the command after this long; default 10 s. */
  timeoutMs?: number;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when the command could not be started or was killed. */
  code: number | null;
  /** Why the command could not run at all (not found, permission, timeout). */
  error?: string;
}

export interface StreamExit {
  code: number | null;
  signal: string | null;
  /** Set when the command could not be started (e.g. not installed). */
  error?: string;
  /** Last lines of stderr, to explain an unexpected exit. */
  stderrTail: string;
  /** True when stop() ended it, i.e. the exit is expected. */
  stoppedByUs: boolean;
}

/** A running command seen as a stream of stdout lines. Register listeners right after spawn(). */
export interface LineStream {
  onLine(listener: (line: string) => void): void;
  onExit(listener: (exit: StreamExit) => void): void;
  /** Ends the command (SIGTERM, SIGKILL after a grace period) and resolves once it has exited. */
  stop(): Promise<StreamExit>;
}

/**
 * Alignment of a target clock to the run clock. A timestamp T printed by the target (epoch ms)
 * maps to run time `T - clock.originEpochMs - offsetMs`. For lines stamped on arrival, `errorMs`
 * bounds how late a line can be relative to when the target produced it.
 */
export interface ClockAlignment {
  offsetMs: number;
  /** Bound on the error of offsetMs, ms (half the best round trip for remote targets). */
  errorMs: number;
  method: string;
}
