import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { refuseFileAsFolder, refuseOutputOverInput } from '../core/output-path.ts';
import { resultInputFiles } from '../harness/load-result.ts';
import type { Command } from 'commander';
import { InputError } from '../core/errors.ts';
import { mergeShards } from '../analysis/merge-shards.ts';
import { readResult, RESULT_FILE, writeFileAtomic } from '../harness/result-store.ts';
import { resultFiles } from '../publish/collect.ts';
import { writeReport } from '../reporters/write-report.ts';

/** The output folder is new or empty, and neither is nor holds nor lies inside an input: a merge never overwrites an input. */
function checkOutDir(given: string, out: string, inputs: readonly string[]): void {
  refuseFileAsFolder('--out', out);
  refuseOutputOverInput({ flag: '--out', given, writes: [out], reads: inputs.flatMap(resultInputFiles) });
  if (existsSync(out) && readdirSync(out).length > 0) throw new InputError(`--out ${given}: the folder exists and is not empty; a merge writes into a new or empty folder`);
}

export function registerMergeCommand(program: Command): void {
  program
    .command('merge')
    .description('Join the shard results of one plan (bench run --shard K/N on several boards) into one result, with report.md; each cell keeps its board.')
    .argument('<shard-results...>', 'result.json files of the shards, or folders holding them (searched recursively)')
    .requiredOption('-o, --out <dir>', 'new or empty folder for the merged result.json and report')
    .action(async (args: string[], flags: { out: string }) => {
      const files = resultFiles(args);
      const out = resolve(flags.out);
      checkOutDir(flags.out, out, files);
      const inputs = files.map((file) => ({ file, result: readResult(file) }));
      const { result, record } = mergeShards(inputs);
      mkdirSync(out, { recursive: true });
      writeFileAtomic(join(out, RESULT_FILE), `${JSON.stringify(result, null, 1)}\n`);
      const written = await writeReport(result, out);
      const failed = result.cells.filter((c) => c.status === 'failed').length;
      const lines = [
        `merged ${record.shards.length} of ${record.count} shard(s) of plan ${record.planHash}: ${result.cells.length} of ${result.plannedCells.length} cell(s)` +
          (failed ? `, ${failed} failed` : ''),
        ...record.shards.map((s) => `  shard ${s.index}/${record.count} on ${s.board}: ${s.cells} cell(s), ${s.status}`),
      ];
      if (record.missingShards.length) {
        lines.push(`MISSING shard(s) ${record.missingShards.map((k) => `${k}/${record.count}`).join(', ')}: ${record.missingCells.length} cell(s) not measured (${record.missingCells.slice(0, 5).join('; ')}${record.missingCells.length > 5 ? '; ...' : ''})`);
      } else if (record.missingCells.length) {
        lines.push(`MISSING ${record.missingCells.length} cell(s) of unfinished shards (${record.missingCells.slice(0, 5).join('; ')}${record.missingCells.length > 5 ? '; ...' : ''})`);
      }
      lines.push(`result: ${join(out, RESULT_FILE)}`, `report: ${written.reportFile}`);
      process.stdout.write(`${lines.join('\n')}\n`);
      // 1 as for a run: something planned was not measured, or a cell failed.
      process.exitCode = record.missingCells.length || failed ? 1 : 0;
    });
}
