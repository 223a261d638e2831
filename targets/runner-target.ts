/**
 * Which target a runner works on. The harness's RunnerContext carries no target, so board
 * runners are built with one (`createCommandRunner({ target })`, what runners/<name>/descriptor.ts does
 * with `bench run --target`), and otherwise look at the suite's `options.target`, then
 * $BENCH_TARGET, then fall back to `local` (a CI runner on the board itself).
 */
import { InputError } from '../core/errors.ts';
import type { Suite } from '../core/suite-types.ts';
import { BUILTIN_LOCAL, resolveTarget, sharedTransport } from './targets.ts';
import type { TargetDefinition, TargetTransport } from './types.ts';

export const TARGET_ENV = 'BENCH_TARGET';

export interface RunnerTargetOptions {
  /** A target definition, or a name looked up in the targets file. */
  target?: TargetDefinition | string;
  /** Targets file for name lookups (default: see targets.ts). */
  targetsFile?: string;
  /** Transport to use instead of the shared one (tests). */
  transport?: TargetTransport;
}

export function targetForRunner(suite: Suite, opts: RunnerTargetOptions): TargetDefinition {
  if (opts.transport) return opts.transport.target;
  if (opts.target !== undefined) return typeof opts.target === 'string' ? resolveTarget(opts.target, opts.targetsFile) : opts.target;
  const fromSuite = suite.options?.['target'];
  if (fromSuite !== undefined) {
    if (typeof fromSuite !== 'string') throw new InputError(`suite "${suite.name}": options.target must be a target name (string), got ${JSON.stringify(fromSuite)}`);
    return resolveTarget(fromSuite, opts.targetsFile);
  }
  const fromEnv = process.env[TARGET_ENV];
  if (fromEnv) return resolveTarget(fromEnv, opts.targetsFile);
  return BUILTIN_LOCAL;
}

export function transportForRunner(suite: Suite, opts: RunnerTargetOptions): TargetTransport {
  return opts.transport ?? sharedTransport(targetForRunner(suite, opts));
}

/** Whether a program can be run on the target: `command -v` with the name as a parameter, not in the script. */
export async function checkProgram(transport: TargetTransport, program: string): Promise<{ ok: boolean; path?: string; error?: string }> {
  const res = await transport.run(['sh', '-c', 'command -v "$1"', 'sh', program], { timeoutMs: 15_000 });
  if (res.failure) return { ok: false, error: res.error };
  if (res.code === 0 && res.stdout.trim()) return { ok: true, path: res.stdout.trim() };
  const hint = transport.target.kind === 'ssh' && !transport.target.env?.['PATH'] ? ' (PATH of a non-interactive login; set env.PATH in the target if the tool is elsewhere)' : '';
  return { ok: false, error: `${program}: command not found on ${transport.name}${hint}` };
}
