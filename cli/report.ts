import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.ts';
import { refuseFileAsFolder, refuseOutputOverInput } from '../core/output-path.ts';
import { COMPARE_BY, type CompareBy } from '../reporters/compare/table-grid.ts';
import { writeComparisonReport } from '../reporters/compare/write-comparison-report.ts';
import { loadResultArg, resultInputFiles } from '../harness/load-result.ts';
import { writeReport } from '../reporters/write-report.ts';
import { findCalibration } from '../roofline/calibrate/store.ts';

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('Write report.md and charts/*.png for a result.json; with several results and --compare-by, a published comparison table across them.')
    .argument('<results...>', 'result.json files or run folders')
    .option('-o, --out <dir>', "folder for the report (default: the result's folder; required for a comparison)")
    .option('--compare-by <axis>', `compare results side by side by ${COMPARE_BY.join(' | ')}`)
    .action(async (files: string[], flags: { out?: string; compareBy?: string }) => {
      if (flags.compareBy || files.length > 1) {
        const by = (flags.compareBy ?? 'target') as CompareBy;
        if (!COMPARE_BY.includes(by)) throw new InputError(`--compare-by ${flags.compareBy}: expected one of ${COMPARE_BY.join(', ')}`);
        if (!flags.out) throw new InputError('a comparison of several results needs --out DIR');
        const out = resolve(flags.out);
        refuseFileAsFolder('--out', out);
        const loaded = files.map((f) => loadResultArg(f, 'result'));
        refuseOutputOverInput({ flag: '--out', given: flags.out, writes: [join(out, 'comparison.md'), join(out, 'charts')], reads: loaded.flatMap((l) => resultInputFiles(l.file)) });
        const results = loaded.map((l) => l.result);
        const written = await writeComparisonReport(results, by, out);
        process.stdout.write(`comparison: ${written.markdownFile}\ncharts: ${written.charts.join(', ')}\n`);
        return;
      }
      // A run folder or its result.json, as compare and publish take them.
      const { result, file } = loadResultArg(files[0]!, 'result');
      const dir = resolve(flags.out ?? dirname(file));
      refuseFileAsFolder('--out', dir);
      // The report goes beside the result by default: what it writes must not be the input.
      refuseOutputOverInput({ flag: '--out', given: flags.out ?? dir, writes: [join(dir, 'report.md'), join(dir, 'tables'), join(dir, 'charts')], reads: resultInputFiles(file) });
      mkdirSync(dir, { recursive: true });
      // A result from before results recorded their roofline: the newest calibration of its target.
      const calibration = result.roofline ? null : findCalibration({ target: result.target, host: result.environment.host.hostname }).calibration;
      const written = await writeReport(result, dir, { calibration });
      process.stdout.write(`${written.markdown}\nreport: ${written.reportFile}\ncharts: ${written.charts.join(', ')}\n`);
    });
}
