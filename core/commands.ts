/**
 * The CLI's own commands that lower layers start as child processes: an edge from harness,
 * publish and runners up to cli/ that no import shows, so it is declared here, in one place.
 * Each entry names the command words, who starts it and why; `benchArgv` builds the argv, and
 * test/architecture.test.ts checks that each command exists in cli/main.ts and that no other
 * module names the CLI's entry point.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The CLI's entry point in this checkout. */
export const BENCH_ENTRY = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'bench.mjs');

/** The entry point relative to a checkout's root: how a board's `bench worker` is started from its workDir. */
export const BENCH_ENTRY_RELATIVE = 'bin/bench.mjs';

export interface ChildCommand {
  /** Command words after `bench`. */
  words: readonly string[];
  /** The module that starts it. */
  startedBy: string;
  why: string;
}

export const CHILD_COMMANDS = {
  modelsBuild: {
    words: ['models', 'build'],
    startedBy: 'harness/prebuild.ts',
    why: 'a first run builds the missing zoo models in parallel processes',
  },
  modelsGate: {
    words: ['models', 'gate'],
    startedBy: 'models/accuracy-gate.ts',
    why: "the accuracy gate checks a build against its fp32 twin in its own process, so the twin's memory never enters the process whose cells' peak RSS is measured",
  },
  publishPages: {
    words: ['publish-pages'],
    startedBy: 'publish/write-site.ts',
    why: 'bench publish writes run pages in worker processes (over IPC)',
  },
  worker: {
    words: ['worker'],
    startedBy: 'runners/remote/index.ts',
    why: 'the ORT runner on an SSH target runs its cells in `bench worker` on the board',
  },
} as const satisfies Record<string, ChildCommand>;

export type ChildCommandName = keyof typeof CHILD_COMMANDS;

/** `node`'s arguments to run a child command of this checkout: the entry point, the command words, then `args`. */
export function benchArgv(command: ChildCommandName, args: readonly string[] = []): string[] {
  return [BENCH_ENTRY, ...CHILD_COMMANDS[command].words, ...args];
}

/** How a child command ended: its exit code (-1 when it could not start or was killed), its stdout, and the last of its stderr. */
export interface ChildCommandEnd {
  code: number;
  stdout: string;
  /** The last 2000 characters of stderr (or why the process could not start). */
  stderrTail: string;
  /** The last non-empty stderr line: the child's one-line error. */
  lastStderrLine: string;
}

/**
 * Runs a child command of this checkout to its end. `onStderrLine` gets each stderr line as it
 * comes (a child's progress lines); the tail is kept for the caller's error message.
 */
export function runBenchCommand(command: ChildCommandName, args: readonly string[], opts: { onStderrLine?: (line: string) => void } = {}): Promise<ChildCommandEnd> {
  return new Promise((done) => {
    const child = spawn(process.execPath, benchArgv(command, args), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let pending = '';
    let tail = '';
    const end = (code: number) => done({ code, stdout, stderrTail: tail, lastStderrLine: tail.trim().split('\n').pop() ?? '' });
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString();
      tail = (tail + text).slice(-2000);
      if (!opts.onStderrLine) return;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) opts.onStderrLine(line);
    });
    child.on('error', (err) => {
      tail = err.message;
      end(-1);
    });
    child.on('close', (c) => end(c ?? -1));
  });
}
