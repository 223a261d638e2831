import { Command, CommanderError } from 'commander';
import { fileSystemProblem, InputError } from '../core/errors.ts';
import { terminalSafe } from '../core/terminal-text.ts';
/** Exit codes: 0 ok, 1 some cells failed (or a regression), 2 bad input. */
export const EXIT = { ok: 0, failures: 1, badInput: 2 } as const;

type Register = (program: Command) => void;

/**
 * Each top-level command and the module that defines it, in the order help lists them. A module
 * is loaded only when its command is the one asked for: loading all of them (runners, probes,
 * history's database, the zoo) costs about a second through tsx, which every `bench publish`
 * worker process and every short command would otherwise pay.
 */
const COMMANDS: ReadonlyArray<readonly [names: readonly string[], load: () => Promise<Register>]> = [
  [['run'], async () => (await import('./run.ts')).registerRunCommand],
  [['plan'], async () => (await import('./plan.ts')).registerPlanCommand],
  [['merge'], async () => (await import('./merge.ts')).registerMergeCommand],
  [['list'], async () => (await import('./list.ts')).registerListCommand],
  [['report'], async () => (await import('./report.ts')).registerReportCommand],
  [['publish', 'publish-pages'], async () => (await import('./publish.ts')).registerPublishCommand],
  [['compose'], async () => (await import('./compose.ts')).registerComposeCommand],
  [['import'], async () => (await import('./import.ts')).registerImportCommand],
  [['probe'], async () => (await import('./probe.ts')).registerProbeCommand],
  [['doctor'], async () => (await import('./doctor.ts')).registerDoctorCommand],
  [['compare'], async () => (await import('./compare.ts')).registerCompareCommand],
  [['baseline'], async () => (await import('./baseline.ts')).registerBaselineCommand],
  [['history'], async () => (await import('./history.ts')).registerHistoryCommand],
  [['models'], async () => (await import('./models.ts')).registerModelsCommand],
  [['calibrate'], async () => (await import('./calibrate.ts')).registerCalibrateCommand],
  [['worker'], async () => (await import('./worker.ts')).registerWorkerCommand],
];

/**
 * The program with the command argv names, or with every command when argv names none of them
 * (help, a typo that commander answers with a suggestion).
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('bench')
    .description('Benchmark and profile vision-language models on edge hardware (and on this CPU with ONNX Runtime).')
    .showHelpAfterError()
    .exitOverride();
  const asked = argv[2];
  const one = COMMANDS.find(([names]) => asked !== undefined && names.includes(asked));
  // Loaded together (the loader resolves them concurrently), registered in help's order.
  for (const register of await Promise.all((one ? [one] : COMMANDS).map(([, load]) => load()))) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    // Plug-in runners and probes (bench.config.yaml) are registered before any command reads the registries.
    await (await import('../harness/plugins.ts')).loadPlugins();
    const program = await buildProgram(argv);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version arrive here too, with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    if (err instanceof InputError) {
      // Messages quote files, logs and server answers: shown, never obeyed by the terminal.
      process.stderr.write(`error: ${terminalSafe(err.message)}\n`);
      return EXIT.badInput;
    }
    // Disk full, permission denied, a file where a folder was expected: the user's to fix, in
    // one line naming the path (commands that had written part of their work say what was kept).
    const problem = fileSystemProblem(err);
    if (problem) {
      process.stderr.write(`error: ${terminalSafe(problem)}\n`);
      return EXIT.badInput;
    }
    process.stderr.write(`error: ${terminalSafe(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
    return EXIT.failures;
  }
}
