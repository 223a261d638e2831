import type { Command } from 'commander';
import { InputError, shortExcerpt } from '../core/errors.ts';
import type { ImportKind } from '../core/import-kind.ts';
import { terminalSafe } from '../core/terminal-text.ts';
import { MiB, readBoundedFile, readBoundedStream } from '../core/bounded-read.ts';

/** Largest log `bench import` reads: hours of tegrastats at 1 Hz are a few MiB. */
export const MAX_IMPORT_BYTES = 256 * MiB;

/** Every log format the suite can read, from board tools and from hardware probes. */
async function importKinds(): Promise<ImportKind[]> {
  const [{ boardImportKinds }, { probeImportKinds }] = await Promise.all([
    import('../parsers/index.ts'),
    import('../hw-probes/import-kinds.ts'),
  ]);
  return [...boardImportKinds, ...probeImportKinds];
}

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description('Parse a log captured elsewhere (vendor tools, tegrastats, nvidia-smi, ONNX Runtime profiles) into normalised figures.')
    .argument('[kind]', 'log format; omit to list the formats')
    .argument('[file]', 'log file to read ("-" for standard input); a regular file of at most 256 MiB')
    .option('--json', 'print the parsed structure as JSON')
    .action(async (kind: string | undefined, file: string | undefined, flags: { json?: boolean }) => {
      const kinds = await importKinds();
      if (!kind) {
        for (const k of kinds) process.stdout.write(`${k.kind.padEnd(18)} ${k.description}\n`);
        return;
      }
      const found = kinds.find((k) => k.kind === kind);
      if (!found) throw new InputError(`bench import: unknown kind "${kind}"; known kinds: ${kinds.map((k) => k.kind).join(', ')}`);
      if (!file) throw new InputError(`bench import ${kind}: give the log file to read (or - for standard input)`);
      // A regular file of at most MAX_IMPORT_BYTES, or standard input cut off at that size.
      const bytes = file === '-'
        ? await readBoundedStream(process.stdin, MAX_IMPORT_BYTES, `bench import ${kind} <stdin>`)
        : readBoundedFile(file, MAX_IMPORT_BYTES, `bench import ${kind}: cannot read`);
      const text = bytes.toString('utf8');
      const source = file === '-' ? '<stdin>' : file;
      const parsed = found.parse(text, source);
      if (found.recognised(parsed) === 0) {
        const first = text.split('\n', 1)[0] ?? '';
        throw new InputError(
          `bench import ${kind} ${source}: found nothing it recognises as ${found.kind} output (${found.description.split(':')[0]}); ` +
            `the input starts with "${shortExcerpt(first.trim(), 120)}"`,
        );
      }
      // JSON escapes control characters itself; the summary quotes the log, so it is made safe.
      process.stdout.write(flags.json ? `${JSON.stringify(parsed, null, 1)}\n` : `${terminalSafe(found.summarize(parsed))}\n`);
    });
}
