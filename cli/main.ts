import { Command, CommanderError } from 'commander';
import { InputError } from '../core/errors.ts';
import { registerBaselineCommand } from './baseline.ts';
import { registerCalibrateCommand } from './calibrate.ts';
import { registerCompareCommand } from './compare.ts';
import { registerComposeCommand } from './compose.ts';
import { registerDoctorCommand } from './doctor.ts';
import { registerHistoryCommand } from './history.ts';
import { registerImportCommand } from './import.ts';
import { registerListCommand } from './list.ts';
import { registerModelsCommand } from './models.ts';
import { registerProbeCommand } from './probe.ts';
import { registerPublishCommand } from './publish.ts';
import { registerWorkerCommand } from './worker.ts';
import { registerReportCommand } from './report.ts';
import { registerRunCommand } from './run.ts';

/** Exit codes: 0 ok, 1 some cells failed (or a regression), 2 bad input. */
export const EXIT = { ok: 0, failures: 1, badInput: 2 } as const;

export function buildProgram(): Command {
  const program = new Command('bench')
    .description('Benchmark and profile vision-language models on edge hardware (and on this CPU with ONNX Runtime).')
    .showHelpAfterError()
    .exitOverride();
  registerRunCommand(program);
  registerListCommand(program);
  registerReportCommand(program);
  registerPublishCommand(program);
  registerComposeCommand(program);
  registerImportCommand(program);
  registerProbeCommand(program);
  registerDoctorCommand(program);
  registerCompareCommand(program);
  registerBaselineCommand(program);
  registerHistoryCommand(program);
  registerModelsCommand(program);
  registerCalibrateCommand(program);
  registerWorkerCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version arrive here too, with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    if (err instanceof InputError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT.badInput;
    }
    process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.failures;
  }
}
