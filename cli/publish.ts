import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../core/errors.ts';
import { refuseFolderAsFile, refuseOutputOverInput } from '../core/output-path.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { checkSiteFolder } from '../publish/site-folder.ts';
import { resultInputFiles } from '../harness/load-result.ts';
import { collectRuns, resultFiles } from '../publish/collect.ts';
import { DEFAULT_SITE_OPTIONS, parseDimensions, parseMetrics, type SiteOptions } from '../publish/site-model.ts';
import { publishSite, servePages, siteMarkdown } from '../publish/write-site.ts';

export function registerPublishCommand(program: Command): void {
  program
    .command('publish')
    .description('Publish results as a static comparison site (offline, file:// or GitHub Pages) or as Markdown tables for a README.')
    .argument('<results...>', 'result.json files or folders holding them (searched recursively)')
    .requiredOption('-o, --out <dir>', 'folder for the site (or the Markdown file with --format md)')
    .option('--rows <dims>', `comparison rows, comma-separated (default ${DEFAULT_SITE_OPTIONS.rows.join(',')})`)
    .option('--cols <dims>', `comparison columns, comma-separated (default ${DEFAULT_SITE_OPTIONS.columns.join(',')})`)
    .option('--metric <names>', `metrics to compare, comma-separated (default ${DEFAULT_SITE_OPTIONS.metrics.join(',')})`)
    .option('--format <format>', 'html (a site) or md (README tables with a provenance footer)', 'html')
    .action(async (args: string[], flags: { out: string; rows?: string; cols?: string; metric?: string; format: string }) => {
      if (flags.format !== 'html' && flags.format !== 'md') throw new InputError(`--format ${flags.format}: expected html or md`);
      const options: SiteOptions = {
        rows: flags.rows ? parseDimensions(flags.rows, '--rows') : DEFAULT_SITE_OPTIONS.rows,
        columns: flags.cols ? parseDimensions(flags.cols, '--cols') : DEFAULT_SITE_OPTIONS.columns,
        metrics: flags.metric ? parseMetrics(flags.metric) : DEFAULT_SITE_OPTIONS.metrics,
      };
      const out = resolve(flags.out);
      const files = resultFiles(args);
      if (flags.format === 'md') {
        const file = out.endsWith('.md') ? out : join(out, 'results.md');
        refuseFolderAsFile('--out', file);
        refuseOutputOverInput({ flag: '--out', given: flags.out, writes: [file], reads: files.flatMap(resultInputFiles) });
        const runs = collectRuns(files);
        mkdirSync(dirname(file), { recursive: true });
        writeFileAtomic(file, siteMarkdown(runs, options));
        process.stdout.write(`published ${runs.length} run(s): ${file}\n`);
        return;
      }
      // The site replaces its folder whole: no input may be in it, and it may hold only a site.
      refuseOutputOverInput({ flag: '--out', given: flags.out, writes: [out], reads: files.flatMap(resultInputFiles) });
      checkSiteFolder(out);
      const site = await publishSite(files, out, options);
      process.stdout.write(`published ${files.length} run(s): ${site.index} (${site.pages} pages)\n`);
    });
  // A worker of a large publish, started by publishSite, which sends it slices over IPC.
  program
    .command('publish-pages', { hidden: true })
    .requiredOption('-o, --out <dir>', 'the site folder')
    .action((flags: { out: string }) => servePages(resolve(flags.out)));
}
