import type { Command } from 'commander';
import { markdownTable } from 'markdown-table';
import { InputError } from '../core/errors.ts';
import { runFacts, weightsOf } from '../analysis/run-facts.ts';
import { DEFAULT_BASELINE_DIR, listBaselines, updateBaseline, type BaselineEntry } from '../harness/baseline-store.ts';

function describeEntries(entries: readonly BaselineEntry[]): string {
  const rows = entries.map((e) => {
    const r = e.result;
    if (!r) return [e.suite, e.board, `unreadable: ${e.error ?? ''}`.replace(/\|/g, '\\|'), '', '', '', '', ''];
    const failed = r.cells.filter((c) => c.status === 'failed').length;
    return [
      e.suite,
      e.board,
      r.runId,
      r.target,
      `${r.environment.host.hostname} (${r.environment.host.cpu})`,
      r.environment.git.revision?.slice(0, 12) ?? '–',
      `${r.cells.length - failed} ok, ${failed} failed`,
      weightsOf(r),
    ];
  });
  return markdownTable([['Suite', 'Board', 'Run', 'Target', 'Host', 'Git', 'Cells', 'Weights'], ...rows]);
}

function describeOne(e: BaselineEntry): string {
  if (!e.result) return `${e.file}: unreadable: ${e.error ?? ''}\n`;
  const facts = [...runFacts(e.result).values()].map((f) => `- ${f.label}: ${f.value}`);
  return `${describeEntries([e])}\n\nFile: ${e.file}\nStarted: ${e.result.startedAt}\n\n${facts.join('\n')}\n`;
}

export function registerBaselineCommand(program: Command): void {
  const baseline = program.command('baseline').description(`Per-board baselines that CI compares against (${DEFAULT_BASELINE_DIR}/<suite>/<board>.json).`);

  baseline
    .command('update')
    .description('Copy a run result into the baseline of a board (atomic write; commit the file to share it).')
    .argument('<result>', 'a result.json or a run folder')
    .requiredOption('-b, --board <label>', 'board label, e.g. orin-nx-16gb (use the same label as the CI runner)')
    .option('--dir <dir>', 'baselines folder', DEFAULT_BASELINE_DIR)
    .option('--allow-incomplete', 'accept an interrupted or unfinished run as the baseline')
    .action((resultArg: string, flags: { board: string; dir: string; allowIncomplete?: boolean }) => {
      const u = updateBaseline(resultArg, flags.board, { dir: flags.dir, allowIncomplete: flags.allowIncomplete === true });
      const replaced = u.replaced ? ` (replaces run ${u.replaced.runId} of ${u.replaced.startedAt})` : ' (new)';
      process.stdout.write(`baseline ${u.result.suite.name}/${flags.board}: run ${u.result.runId}${replaced}\n  -> ${u.file}\n`);
      for (const w of u.warnings) process.stderr.write(`warning: ${w}\n`);
    });

  baseline
    .command('show')
    .description('List baselines; with --suite and --board, show one in detail.')
    .option('-s, --suite <name>', 'only this suite')
    .option('-b, --board <label>', 'only this board')
    .option('--dir <dir>', 'baselines folder', DEFAULT_BASELINE_DIR)
    .action((flags: { suite?: string; board?: string; dir: string }) => {
      const entries = listBaselines(flags.dir, flags);
      if (!entries.length) {
        const what = [flags.suite && `suite ${flags.suite}`, flags.board && `board ${flags.board}`].filter(Boolean).join(', ');
        if (what) throw new InputError(`no baseline for ${what} in ${flags.dir}`);
        process.stdout.write(`no baselines in ${flags.dir} yet; create one with: bench baseline update <result.json> --board <label>\n`);
        return;
      }
      process.stdout.write(entries.length === 1 && flags.suite && flags.board ? describeOne(entries[0]!) : `${describeEntries(entries)}\n`);
    });
}
