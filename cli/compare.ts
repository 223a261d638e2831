import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { InputError } from '../core/errors.ts';
import type { RunResult } from '../core/result-types.ts';
import { runSuite } from '../harness/run-suite.ts';
import { createProgress } from './progress.ts';
import { loadRunners } from '../runners/registry.ts';
import { resolveTarget } from './targets.ts';
import { compareRuns, DEFAULT_CONFIDENCE, GATE_EXIT_CODE, gateOutcome } from '../analysis/compare-runs.ts';
import { formatComparisonJson } from '../reporters/compare/json.ts';
import { formatComparisonJunit } from '../reporters/compare/junit.ts';
import { loadResultArg, resultInputFiles } from '../harness/load-result.ts';
import { refuseFolderAsFile, refuseOutputOverInput } from '../core/output-path.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { comparisonStepSummary, formatComparisonMarkdown } from '../reporters/compare/markdown.ts';
import type { Comparison } from '../analysis/comparison-types.ts';
import { gateLine } from '../reporters/compare/verdict-text.ts';
import { takeRunLock } from './run-lock.ts';
import { parseAllowedDifferences } from '../analysis/identity.ts';

export type CompareFormat = 'md' | 'json' | 'junit';

interface CompareFlags {
  metric: string[];
  threshold: number;
  confidence: number;
  format: CompareFormat;
  out?: string;
  confirm?: boolean;
  resultsDir: string;
  allowDifference: string[];
}

/** "5%", "5" and "2.5 %" all mean 5 / 2.5 percent. */
export function parsePercent(name: string) {
  return (value: string): number => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(value);
    if (!m) throw new InputError(`${name} expects a percentage such as 5% or 2.5, got "${value}"`);
    return Number(m[1]);
  };
}

/** "0.99" or "99%". */
export function parseConfidence(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(value);
  const level = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(level > 0 && level < 1)) throw new InputError(`--confidence expects a level such as 0.99 or 95%, got "${value}"`);
  return level;
}

function render(c: Comparison, format: CompareFormat): string {
  if (format === 'json') return formatComparisonJson(c);
  if (format === 'junit') return formatComparisonJunit(c);
  return formatComparisonMarkdown(c);
}

/**
 * Runs the regressed cells of the candidate again, in a new run with the candidate's suite,
 * target and options, and returns the candidate with those cells replaced by the re-run: a
 * regression that a throttled or disturbed board produced once does not fail the job.
 */
async function confirmRegressions(cand: RunResult, cellIds: string[], resultsDir: string): Promise<{ merged: RunResult; runDir: string }> {
  const target = resolveTarget(cand.target);
  const lock = await takeRunLock(target);
  const { store } = await runSuite({
    suite: { suite: cand.suite.definition, source: cand.suite.source, hash: cand.suite.hash },
    target: target.name,
    filters: [],
    cellIds,
    iterations: cand.options.iterations,
    warmup: cand.options.warmup,
    threads: cand.options.threads,
    outDir: resolve(resultsDir),
    runners: await loadRunners(target),
    progress: createProgress(),
  }).finally(() => lock.release());
  const rerun = new Map(store.result.cells.map((c) => [c.id, c]));
  return { merged: { ...cand, cells: cand.cells.map((c) => rerun.get(c.id) ?? c) }, runDir: store.runDir };
}

export function registerCompareCommand(program: Command): void {
  program
    .command('compare')
    .description(
      'Compare a candidate run with a base run (e.g. a board baseline), cell by cell: change of medians, confidence interval, verdict. ' +
        'Exit 0 only when every base cell has a candidate of the same configuration and every gated metric was measured on both sides, judged, and did not regress. ' +
        'Exit 1 (cell and reason named) on a regression, a newly failing or lost cell, a gated metric missing in the candidate, fewer output tokens than asked, ' +
        'or a failing or worse accuracy verdict. Exit 2 (cannot judge, not a pass) when the runs cannot be compared, a cell\'s configuration differs ' +
        '(each field named; see --allow-difference), a gated metric could not be judged, or a would-be regression was measured on a busy or throttled machine (see --confirm).',
    )
    .argument('<base>', 'base result: a result.json, a baseline .json or a run folder')
    .argument('<cand>', 'candidate result: a result.json or a run folder')
    .option('-m, --metric <name>', 'metric to compare (repeatable or comma-separated; default: image_encode_ms, prefill_ms, ttft_ms, decode_tokens_per_s)', (v: string, prev: string[]) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)], [])
    .option('--threshold <pct>', 'smallest slowdown that counts as a regression', parsePercent('--threshold'), 5)
    .option('--confidence <level>', 'confidence level of intervals and significance', parseConfidence, DEFAULT_CONFIDENCE)
    .addOption(new Option('--format <format>', 'output format').choices(['md', 'json', 'junit']).default('md'))
    .option('-o, --out <file>', 'write the output to this file instead of stdout')
    .option('--confirm', 'on a regression, or one measured on a busy or throttled machine, re-run only those cells of the candidate (same suite, target and options) and judge the re-run')
    .option(
      '--allow-difference <fields>',
      'identity fields the runs may differ in (repeatable or comma-separated, e.g. threads,scale); the comparison is then labelled as crossing them',
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .option('--results-dir <dir>', 'with --confirm: where the confirmation run is written', 'results')
    .action(async (baseArg: string, candArg: string, flags: CompareFlags) => {
      const base = loadResultArg(baseArg, 'base');
      const cand = loadResultArg(candArg, 'candidate');
      if (flags.out) {
        refuseFolderAsFile('--out', flags.out);
        refuseOutputOverInput({ flag: '--out', given: flags.out, writes: [resolve(flags.out)], reads: [base.file, cand.file].flatMap(resultInputFiles) });
      }
      const opts = {
        metrics: flags.metric.length ? flags.metric : undefined,
        thresholdPct: flags.threshold,
        confidence: flags.confidence,
        baseSource: baseArg,
        candSource: candArg,
        allowDifferences: parseAllowedDifferences(flags.allowDifference),
      };
      let comparison = compareRuns(base.result, cand.result, opts);
      // Regressions, and would-be regressions a busy or throttled machine made unjudgeable, are re-measured.
      const toConfirm = [...new Set([...comparison.regressedCells, ...comparison.findings.filter((f) => f.kind === 'machine-load').map((f) => f.cellId)])];
      if (flags.confirm && toConfirm.length > 0) {
        const confirmed = await confirmRegressions(cand.result, toConfirm, flags.resultsDir);
        process.stderr.write(`compare: ${toConfirm.length} regressed cell(s) re-run in ${confirmed.runDir}\n`);
        comparison = compareRuns(base.result, confirmed.merged, { ...opts, candSource: `${candArg} (regressed cells re-run: ${confirmed.runDir})` });
      }
      const text = render(comparison, flags.format);
      if (flags.out) {
        const out = resolve(flags.out);
        mkdirSync(dirname(out), { recursive: true });
        writeFileAtomic(out, text);
      } else {
        process.stdout.write(text);
      }
      const summaryFile = process.env['GITHUB_STEP_SUMMARY'];
      if (summaryFile) appendFileSync(summaryFile, `${comparisonStepSummary(comparison)}\n`);
      // The verdict on stderr too, so a CI log shows it whatever the format and destination.
      process.stderr.write(`compare: ${gateLine(comparison)}${flags.out ? `; written to ${flags.out}` : ''}\n`);
      process.exitCode = GATE_EXIT_CODE[gateOutcome(comparison)];
    });
}
