import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { errorMessage, InputError, shortExcerpt } from '../core/errors.ts';
import type { ImportKind } from '../core/import-kind.ts';

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
    .argument('[file]', 'log file to read ("-" for standard input)')
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
      let text: string;
      try {
        text = readFileSync(file === '-' ? 0 : file, 'utf8');
      } catch (err) {
        throw new InputError(`bench import ${kind}: cannot read ${file}: ${errorMessage(err)}`);
      }
      const source = file === '-' ? '<stdin>' : file;
      const parsed = found.parse(text, source);
      if (found.recognised(parsed) === 0) {
        const first = text.split('\n', 1)[0] ?? '';
        throw new InputError(
          `bench import ${kind} ${source}: found nothing it recognises as ${found.kind} output (${found.description.split(':')[0]}); ` +
            `the input starts with "${shortExcerpt(first.trim(), 120)}"`,
        );
      }
      process.stdout.write(flags.json ? `${JSON.stringify(parsed, null, 1)}\n` : `${found.summarize(parsed)}\n`);
    });
}
