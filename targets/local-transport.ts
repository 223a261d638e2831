/**
 * The `local` target's transport: commands run on this machine with no shell in between, in the
 * target's workDir and with its env added. Used for the built-in `local` target and for a CI
 * runner that runs on the board itself (a targets-file entry of kind local).
 */
import { spawn } from 'node:child_process';
import type { Clock } from '../core/clock.ts';
import type { ClockAlignment, LineStream } from './command-transport.ts';
import { lineStreamOf, runChild } from './child.ts';
import type { CommandFailureKind, TargetCommandResult, TargetDefinition, TargetRunOptions, TargetTransport } from './types.ts';

const DEFAULT_TIMEOUT_MS = 10_000;

function describeSpawnError(program: string, err: NodeJS.ErrnoException): { kind: CommandFailureKind; message: string } {
  if (err.code === 'ENOENT') return { kind: 'missing-tool', message: `${program}: command not found` };
  if (err.code === 'EACCES') return { kind: 'not-executable', message: `${program}: permission denied` };
  return { kind: 'other', message: `${program}: ${err.message}` };
}

export class LocalTargetTransport implements TargetTransport {
  readonly name: string;

  constructor(readonly target: TargetDefinition) {
    // Probes treat the transport named exactly "local" as this machine (file reads without cat).
    this.name = 'local';
  }

  private env(): NodeJS.ProcessEnv | undefined {
    return this.target.env ? { ...process.env, ...this.target.env } : undefined;
  }

  async run(argv: string[], opts: TargetRunOptions = {}): Promise<TargetCommandResult> {
    const [cmd, ...args] = argv;
    if (!cmd) return { stdout: '', stderr: '', code: null, error: 'empty command', failure: 'other', wallMs: 0 };
    const timeoutMs = opts.timeoutMs ?? this.target.commandTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    const out = await runChild(cmd, args, { timeoutMs, input: opts.input, env: this.env(), cwd: this.target.workDir });
    const base = { stdout: out.stdout, stderr: out.stderr, wallMs: out.wallMs };
    if (out.spawnError) {
      const d = describeSpawnError(cmd, out.spawnError);
      return { ...base, code: null, error: d.message, failure: d.kind };
    }
    if (out.timedOut) return { ...base, code: null, error: `${cmd}: timed out after ${timeoutMs} ms`, failure: 'timeout' };
    if (out.code === null) return { ...base, code: null, error: `${cmd}: killed by ${out.signal ?? 'a signal'}`, failure: 'other' };
    return { ...base, code: out.code };
  }

  spawn(argv: string[]): LineStream {
    const [cmd, ...args] = argv;
    const child = spawn(cmd ?? '', args, { stdio: ['ignore', 'pipe', 'pipe'], env: this.env(), cwd: this.target.workDir });
    return lineStreamOf(child, { describeSpawnError: (err) => describeSpawnError(cmd ?? '', err).message });
  }

  alignClock(_clock: Clock): Promise<ClockAlignment> {
    return Promise.resolve({ offsetMs: 0, errorMs: 0, method: 'local: samples stamped on the run clock as they arrive' });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
