/**
 * `bench doctor --target T`: preflight of a target before a suite runs on it. Reachable (and if
 * not, why: unreachable / key refused / host key), what one command costs, the vendor tools its
 * probes need, free memory and Axera CMM, Jetson power mode and clocks, the clock offset to the
 * run clock, and whether each probe can read anything. A table of ok / warn / fail; exit 1 when
 * something fails. `preflight(target)` is the same check for the run loop.
 */
import type { Command } from 'commander';
import { resolveTarget } from './targets.ts';
import { preflight, type PreflightReport } from '../harness/preflight.ts';

/** The report as an aligned plain-text table. */
export function renderPreflight(r: PreflightReport): string {
  const rows = [['status', 'check', 'detail'], ...r.checks.map((c) => [c.status.toUpperCase(), c.name, c.detail])];
  const w0 = Math.max(...rows.map((x) => x[0]!.length));
  const w1 = Math.max(...rows.map((x) => x[1]!.length));
  const lines = rows.map((x) => `${x[0]!.padEnd(w0)}  ${x[1]!.padEnd(w1)}  ${x[2]}`);
  const fails = r.checks.filter((c) => c.status === 'fail').length;
  const warns = r.checks.filter((c) => c.status === 'warn').length;
  return `doctor: target ${r.target} (${r.transport})\n\n${lines.join('\n')}\n\n${fails ? `${fails} check(s) failed` : 'ready'}${warns ? `, ${warns} warning(s)` : ''}\n`;
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('Preflight a target: reachable, vendor tools, memory / CMM, power mode and clocks, clock offset, probes. Exit 1 when a check fails.')
    .option('-t, --target <name>', 'target to check (see targets.yaml / --targets)', 'local')
    .option('--targets <file>', 'targets file (default: $BENCH_TARGETS, ./targets.yaml, <repo>/targets.yaml)')
    .option('--tool <name>', 'a program the suite will run, checked too (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
    .option('--json', 'print the report as JSON')
    .action(async (flags: { target: string; targets?: string; tool: string[]; json?: boolean }) => {
      const target = resolveTarget(flags.target, flags.targets);
      const report = await preflight(target, { tools: flags.tool });
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 1)}\n` : renderPreflight(report));
      process.exitCode = report.ok ? 0 : 1;
    });
}
