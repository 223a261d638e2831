import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { newRunId } from '../harness/result-store.ts';
import { loadSuite } from '../harness/suite-loader.ts';
import { readSubgraphLogs } from '../harness/subgraph-logs.ts';
import { composeSuite, renderComposition } from '../reporters/axera-compose-report.ts';

export function registerComposeCommand(program: Command): void {
  program
    .command('compose')
    .description('Compose a suite\'s table (Axera method) from saved per-subgraph ax_run_model outputs, next to its published figures.')
    .requiredOption('-s, --suite <name|file>', 'suite with options.layers, options.chunkSize, options.tokensPerImage (e.g. internvl-ax650)')
    .requiredOption('--subgraph-logs <dir>', 'folder with vit.txt, g0.txt, g1.txt ... gN.txt, post.txt')
    .option('-o, --out <dir>', 'where compose.md and compose.json go (default results/<suite>/compose-<id>/)')
    .option('--json', 'print the composition as JSON instead of Markdown')
    .action((flags: { suite: string; subgraphLogs: string; out?: string; json?: boolean }) => {
      const { suite } = loadSuite(flags.suite);
      const { latencies, logs } = readSubgraphLogs(resolve(flags.subgraphLogs));
      const composition = composeSuite(suite, latencies, logs);
      const markdown = renderComposition(suite, composition);
      const out = resolve(flags.out ?? join('results', suite.name, `compose-${newRunId()}`));
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'compose.md'), markdown);
      writeFileSync(join(out, 'compose.json'), `${JSON.stringify({ suite: suite.name, composed: true, ...composition }, null, 1)}\n`);
      process.stdout.write(flags.json ? `${JSON.stringify(composition, null, 1)}\n` : `${markdown}\nwritten: ${join(out, 'compose.md')}\n`);
      const flagged = composition.checks.some((c) => c.figures.some((f) => f.flagged));
      if (flagged) process.stderr.write('\nnote: some published figures differ from the composition beyond rounding (see the table)\n');
      if (composition.skipped.length) {
        const missing = [...new Set(composition.skipped.flatMap((s) => s.missingGraphs))];
        process.stderr.write(
          `\nerror: ${composition.skipped.length} row(s) not composed (${composition.skipped.map((s) => `${s.images} image(s)`).join(', ')}): ` +
            `--subgraph-logs ${flags.subgraphLogs} has no ${missing.map((g) => `${g}.txt`).join(', ')}\n`,
        );
        // Bad input: the rows it could compose are written, the run of logs is incomplete.
        process.exitCode = 2;
      }
    });
}
