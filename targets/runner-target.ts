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

/** A file a suite will read on the target, and what it is for ("image file", "model file"). */
export interface TargetFile {
  path: string;
  what: string;
}

/**
 * What a suite will call, checked on the target before the first cell: each program (with the
 * env.PATH hint), each file readable, the work folder writable. One sentence per missing thing,
 * [] when everything is there. Paths go to the remote shell as parameters, never in the script.
 */
export async function missingOnTarget(transport: TargetTransport, needs: { programs: readonly string[]; files: readonly TargetFile[]; writableWorkDir?: boolean }): Promise<string[]> {
  const problems: string[] = [];
  for (const program of new Set(needs.programs)) {
    const found = await checkProgram(transport, program);
    if (!found.ok) problems.push(found.error ?? `${program}: not found on ${transport.name}`);
  }
  const files = [...new Map(needs.files.map((f) => [f.path, f])).values()];
  if (files.length === 0 && !needs.writableWorkDir) return problems;
  const script = 'for f in "$@"; do [ -r "$f" ] && [ -f "$f" ] || echo "$f"; done; [ -w . ] || echo "<workdir>"';
  const res = await transport.run(['sh', '-c', script, 'sh', ...files.map((f) => f.path)], { timeoutMs: 15_000 });
  if (res.failure || res.code !== 0) {
    problems.push(`could not check files on ${transport.name}: ${res.error ?? `exit ${res.code}: ${res.stderr.trim()}`}`);
    return problems;
  }
  const where = transport.target.workDir ? `in ${transport.target.workDir} on ${transport.name}` : `on ${transport.name}`;
  for (const line of res.stdout.split('\n').filter(Boolean)) {
    if (line === '<workdir>') {
      if (needs.writableWorkDir) problems.push(`the work folder ${transport.target.workDir ?? '(the login folder)'} is not writable on ${transport.name}`);
      continue;
    }
    const file = files.find((f) => f.path === line);
    if (file) problems.push(`${file.what} ${file.path}: no readable file ${where}`);
  }
  return problems;
}
