/**
 * The `command` runner: runs a program on the target once per iteration (over SSH for a board,
 * directly for `local`), parses its output with a named parser (llamacpp, ax-llm) and records
 * the phases the tool timed itself. The command is an argument array with placeholders
 * substituted per element (options.ts) — never a shell string.
 */
import type { IterationRecord } from '../../core/events.ts';
import type { PreparedCell, Runner, RunnerContext } from '../../core/runner.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import { checkProgram, missingOnTarget, transportForRunner, type RunnerTargetOptions, type TargetFile } from '../../targets/runner-target.ts';
import { cellImages, commandFor, parseCommandOptions } from './options.ts';
import { failedRecord, recordFromTimings } from './record.ts';
import { errorMessage } from '../../core/errors.ts';

export { parseCommandOptions, commandFor, type CommandRunnerConfig } from './options.ts';
export { recordFromTimings, failedRecord, UNKNOWN_COUNT } from './record.ts';
export { TOOL_PARSERS, llamaCppTimings, axLlmTimings, type ToolTimings } from './tool-timings.ts';
export { substitute, expandArgv, type ArgTemplate } from './template.ts';

const STDERR_IN_ERROR = 400;

function tail(text: string, chars = STDERR_IN_ERROR): string {
  const t = text.trim();
  return t.length > chars ? `…${t.slice(-chars)}` : t;
}

/** Arguments whose next argument is a model file on the target (llama.cpp CLIs); -hf downloads instead. */
const MODEL_FILE_FLAGS = new Set(['-m', '--model', '-mm', '--mmproj']);

/** What the planned cells will run and read on the target: the program, model files, image files. */
export function commandNeeds(suite: Suite, cells: readonly Cell[]): { programs: string[]; files: TargetFile[] } {
  const config = parseCommandOptions(suite);
  const programs = new Set<string>();
  const files: TargetFile[] = [];
  for (const cell of cells) {
    const { argv } = commandFor(config, suite, cell, 0);
    programs.add(argv[0]!);
    argv.forEach((arg, i) => {
      const next = argv[i + 1];
      if (MODEL_FILE_FLAGS.has(arg) && next !== undefined) files.push({ path: next, what: 'model file' });
    });
    // Images are cycled through imageFiles: a cell of N images reads the first min(N, all).
    config.imageFiles.slice(0, cellImages(cell)).forEach((path) => files.push({ path, what: 'image file' }));
  }
  return { programs: [...programs], files };
}

export function createCommandRunner(opts: RunnerTargetOptions = {}): Runner {
  return {
    name: 'command',
    async checkTarget(suite: Suite, cells: readonly Cell[]): Promise<string[]> {
      let needs: ReturnType<typeof commandNeeds>;
      try {
        needs = commandNeeds(suite, cells);
      } catch {
        // A bad template fails its cells with the template's own message; nothing to look for.
        return [];
      }
      return missingOnTarget(transportForRunner(suite, opts), { ...needs, writableWorkDir: true });
    },
    async prepare(cell: Cell, suite: Suite, ctx: RunnerContext): Promise<PreparedCell> {
      const started = ctx.clock.now();
      const config = parseCommandOptions(suite);
      const transport = transportForRunner(suite, opts);
      const images = cellImages(cell);
      // Placeholders are checked before anything runs on the board.
      const first = commandFor(config, suite, cell, 0);
      const program = first.argv[0]!;
      const found = await checkProgram(transport, program);
      if (!found.ok) throw new Error(found.error);
      ctx.log(`command: ${transport.name}: ${first.argv.join(' ')}`);
      const loadMs = ctx.clock.now() - started;

      const settings: Record<string, string | number | boolean> = {
        runner: 'command',
        target: transport.name,
        program,
        programPath: found.path ?? program,
        parser: config.parserName,
        figureSource: 'tool-reported',
        timing: `tool-reported: ${program}'s own durations, parsed from its output by parser ${config.parserName}, laid back to back ending when the command exited; this run's clock timed only the whole command`,
        loadMsMeans: "time to reach the target and check the program; the tool's own model load is per iteration in reported tool.load_ms / tool.init_ms",
        countsUnknownAre: 'null (the tool does not print them)',
      };
      // The suite's word for the model's weight type: the roofline counts its bytes in it.
      if (config.weightFormat) settings['rooflineFormat'] = config.weightFormat;

      const runIteration = async (index: number, warmup: boolean): Promise<IterationRecord> => {
        let inv: ReturnType<typeof commandFor>;
        try {
          inv = commandFor(config, suite, cell, index);
        } catch (err) {
          return failedRecord(index, warmup, ctx.clock.now(), images, errorMessage(err));
        }
        const res = await transport.run(inv.argv, { timeoutMs: config.timeoutMs, ...(inv.stdin !== undefined ? { input: inv.stdin } : {}) });
        const endMs = ctx.clock.now();
        if (res.failure) return failedRecord(index, warmup, endMs, images, res.error ?? 'command failed', { 'command.wall_ms': res.wallMs });
        if (res.code !== 0) {
          return failedRecord(index, warmup, endMs, images, `${program} exited with ${res.code} on ${transport.name}${res.stderr.trim() ? `: ${tail(res.stderr)}` : ''}`, {
            'command.wall_ms': res.wallMs,
            'command.exit_code': res.code ?? -1,
          });
        }
        try {
          const timings = config.parse(`${res.stdout}\n${res.stderr}`, `${program} output on ${transport.name} (iteration ${index})`);
          settings['timingNotes'] ??= timings.notes.join(' ');
          return recordFromTimings(timings, { index, warmup, endMs, images, wallMs: res.wallMs });
        } catch (err) {
          return failedRecord(index, warmup, endMs, images, errorMessage(err), { 'command.wall_ms': res.wallMs });
        }
      };

      return {
        loadMs,
        model: {
          architecture: 'name' in suite.model ? suite.model.name : 'path' in suite.model ? suite.model.path : suite.model.zoo,
          precision: String(cell.params['precision'] ?? config.weightFormat ?? 'as built'),
          layout: `command:${program}`,
          synthetic: false,
        },
        settings,
        runIteration,
        close: async () => undefined,
      };
    },
  };
}

