import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { readResult } from '../core/result-store.ts';
import { writeReport } from '../reporters/write-report.ts';

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('Write report.md and charts/*.png for a result.json (beside it, or into --out).')
    .argument('<result>', 'path to a result.json')
    .option('-o, --out <dir>', 'folder for report.md and charts/ (default: the result\'s folder)')
    .action(async (file: string, flags: { out?: string }) => {
      const result = readResult(resolve(file));
      const dir = resolve(flags.out ?? dirname(resolve(file)));
      mkdirSync(dir, { recursive: true });
      const written = await writeReport(result, dir);
      process.stdout.write(`${written.markdown}\nreport: ${written.reportFile}\ncharts: ${written.charts.join(', ')}\n`);
    });
}
