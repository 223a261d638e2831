import { randomBytes } from 'node:crypto';
import { appendFileSync, createWriteStream, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { FileSystemError, fileSystemProblem, InputError, toError } from '../core/errors.ts';
import { HEADLINE_METRICS } from '../core/metric-registry.ts';
import { DEFAULT_CONFIDENCE, GATE_EXIT_CODE } from '../analysis/compare-runs.ts';
import { parseAllowedDifferences } from '../analysis/identity.ts';
import { loadResultArg, resultInputFiles } from '../harness/load-result.ts';
import { renderChart } from '../reporters/render/png.ts';
import { checkRun, DEFAULT_WINDOW, type HistoryCheck } from '../history/check.ts';
import { DEFAULT_EDIVISIVE } from '../history/e-divisive.ts';
import { exportCsv, exportJson } from '../history/export.ts';
import { checkComplete, recordFromResult, type RecordOptions } from '../history/record.ts';
import { formatHistoryJson, formatHistoryJunit, formatHistoryMarkdown, historyGateLine, historyStepSummary } from '../history/render.ts';
import { databaseFiles, DB_ENV, DEFAULT_DB, HistoryStore, resolveDbPath } from '../history/store.ts';
import { refuseFileAsFolder, refuseFolderAsFile, refuseOutputOverInput } from '../core/output-path.ts';
import { fsyncDir, writeFileAtomic } from '../core/atomic-write.ts';
import { formatTrendMarkdown, seriesTrend, trendChart } from '../history/trend.ts';
import { parseConfidence, parsePercent } from './compare.ts';

const DB_HELP = `history database file (default: $${DB_ENV}, else ${DEFAULT_DB})`;

const collect = (v: string, prev: string[]) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InputError(`${name} expects a positive whole number, got "${value}"`);
    return n;
  };
}

function probability(value: string): number {
  const p = Number(value);
  if (!(p > 0 && p < 1)) throw new InputError(`--p-value expects a probability between 0 and 1 (e.g. 0.01), got "${value}"`);
  return p;
}

function isoDate(value: string): string {
  if (Number.isNaN(Date.parse(value))) throw new InputError(`--commit-date expects an ISO 8601 date (e.g. 2026-11-25T10:00:00Z), got "${value}"`);
  return value;
}

/** Refuses (exit 2) an --out file that is a folder, or is or lies inside the database or another input. */
function checkOutFile(out: string | undefined, reads: readonly string[]): void {
  if (!out) return;
  refuseFolderAsFile('--out', out);
  refuseOutputOverInput({ flag: '--out', given: out, writes: [resolve(out)], reads });
}

function writeOut(text: string, out: string | undefined): void {
  if (!out) {
    process.stdout.write(text);
    return;
  }
  const file = resolve(out);
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic(file, text);
}

function withStore<T>(dbFlag: string | undefined, create: boolean, fn: (store: HistoryStore) => T): T {
  const store = HistoryStore.open(resolveDbPath(dbFlag), { create });
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

/** The one suite (and board) of the database when the user names none; an error listing them when there are several. */
function pickSuiteBoard(store: HistoryStore, suite: string | undefined, board: string | undefined): { suite: string; board: string } {
  const runs = store.runs({ ...(suite ? { suite } : {}), ...(board ? { board } : {}) });
  const pairs = [...new Set(runs.map((r) => `${r.suite}\u0000${r.board}`))].map((k) => k.split('\u0000') as [string, string]);
  if (!pairs.length) throw new InputError(`${store.file}: no runs${suite ? ` of suite "${suite}"` : ''}${board ? ` on board "${board}"` : ''}`);
  if (pairs.length > 1) {
    throw new InputError(`${store.file} holds several suites/boards; pass --suite and --board (one of: ${pairs.map(([s, b]) => `${s} on ${b}`).join(', ')})`);
  }
  return { suite: pairs[0]![0], board: pairs[0]![1] };
}

interface RecordFlags {
  db?: string;
  board?: string;
  commit?: string;
  commitDate?: string;
}

function recordOptions(flags: RecordFlags, source: string): RecordOptions {
  return {
    source,
    ...(flags.board ? { board: flags.board } : {}),
    ...(flags.commit ? { commit: flags.commit } : {}),
    ...(flags.commitDate ? { commitDate: flags.commitDate } : {}),
  };
}

interface CheckFlags extends RecordFlags {
  metric: string[];
  threshold: number;
  confidence: number;
  pValue: number;
  permutations: number;
  minSize: number;
  window: number;
  gateTwoRun?: boolean;
  format: 'md' | 'json' | 'junit';
  out?: string;
  allowDifference: string[];
}

function renderCheck(c: HistoryCheck, format: CheckFlags['format']): string {
  if (format === 'json') return formatHistoryJson(c);
  if (format === 'junit') return formatHistoryJunit(c);
  return formatHistoryMarkdown(c);
}

export function registerHistoryCommand(program: Command): void {
  const history = program
    .command('history')
    .description('Keep every run of a board in a SQLite file and judge new runs against that history (change points with E-divisive means).');

  const recordOpts = (cmd: Command) =>
    cmd
      .option('--db <file>', DB_HELP)
      .option('--board <label>', 'board the run belongs to (default: the target name, or the host name for local runs)')
      .option('--commit <rev>', 'commit that was measured (default: the run\'s git revision)')
      .option('--commit-date <iso>', 'date of that commit, which orders the history (default: asked of git here, else the run\'s start)', isoDate);

  recordOpts(
    history
      .command('add')
      .description('Store runs (result.json files or run folders); a run already stored is left as it is.')
      .argument('<results...>', 'result.json files or run folders'),
  )
    .option('--allow-incomplete', 'also store a run that is still running or was interrupted (the history otherwise holds complete runs only)')
    .action((results: string[], flags: RecordFlags & { allowIncomplete?: boolean }) => {
      // Read and check every input first: a bad file among several adds nothing.
      const loaded = results.map((arg) => ({ arg, ...loadResultArg(arg, 'result') }));
      for (const { result, file } of loaded) checkComplete(result, file, flags.allowIncomplete === true);
      const records = loaded.map(({ arg, result, file }) => ({ arg, record: recordFromResult(result, recordOptions(flags, file)) }));
      withStore(flags.db, true, (store) => {
        const added: string[] = [];
        for (const { arg, record } of records) {
          const values = record.cells.reduce((s, c) => s + [...c.metrics.values()].reduce((t, m) => t + m.values.length, 0), 0);
          let outcome: ReturnType<HistoryStore['add']>;
          try {
            outcome = store.add(record);
          } catch (err) {
            // Each run is one transaction: the runs before this one are stored whole, this one not at all.
            const problem = fileSystemProblem(err, store.file);
            if (!problem) throw err;
            throw new FileSystemError(`history add ${arg}: ${problem}`, `kept: ${added.length} of ${records.length} run(s) added${added.length ? ` (${added.join(', ')})` : ''}; ${arg} and the rest not added`);
          }
          const { run } = outcome;
          if (outcome.added) added.push(run.runId);
          process.stdout.write(
            outcome.added
              ? `added ${arg}: run ${run.runId} (${run.suite} on ${run.board}, commit ${run.gitCommit?.slice(0, 12) ?? 'unknown'}, ${run.commitDate}), ${record.cells.length} cells, ${values} values\n`
              : `already stored: ${arg} (run ${run.runId}, added ${run.addedAt})\n`,
          );
        }
        process.stderr.write(`history: ${store.file}\n`);
      });
    });

  history
    .command('list')
    .description('The stored runs, in commit-date order.')
    .option('--db <file>', DB_HELP)
    .option('--suite <name>', 'only runs of this suite')
    .option('--board <label>', 'only runs of this board')
    .addOption(new Option('--format <format>', 'output format').choices(['md', 'json']).default('md'))
    .action((flags: { db?: string; suite?: string; board?: string; format: 'md' | 'json' }) => {
      withStore(flags.db, false, (store) => {
        const runs = store.runs({ ...(flags.suite ? { suite: flags.suite } : {}), ...(flags.board ? { board: flags.board } : {}) });
        if (flags.format === 'json') {
          process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
          return;
        }
        const esc = (s: string) => s.replace(/\|/g, '\\|');
        const lines = runs.map((r) =>
          `| ${[r.suite, r.board, `\`${r.runId}\``, r.gitCommit ? r.gitCommit.slice(0, 12) : '–', `${r.commitDate} (${r.commitDateSource})`, r.runner, r.runtime || '–', r.precisions || '–', r.powerMode || '–', r.modelHash ?? '–', r.status].map(esc).join(' | ')} |`,
        );
        process.stdout.write(
          `| Suite | Board | Run | Commit | Commit date | Runner | Runtime | Precisions | Power mode | Model hash | Status |\n|---|---|---|---|---|---|---|---|---|---|---|\n${lines.join('\n')}\n\n${runs.length} run(s) in ${store.file}\n`,
        );
      });
    });

  history
    .command('export')
    .description('Every stored iteration value with its run\'s provenance, as CSV (one row per value) or JSON (one object per run).')
    .option('--db <file>', DB_HELP)
    .option('--suite <name>', 'only runs of this suite')
    .option('--board <label>', 'only runs of this board')
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'json']).default('csv'))
    .option('-o, --out <file>', 'write to this file instead of stdout')
    .action(async (flags: { db?: string; suite?: string; board?: string; format: 'csv' | 'json'; out?: string }) => {
      checkOutFile(flags.out, databaseFiles(resolveDbPath(flags.db)));
      const store = HistoryStore.open(resolveDbPath(flags.db), { create: false });
      // To a file: written beside it and renamed into place once whole, so a full disk leaves
      // the old file (or none), never a truncated CSV.
      const target = flags.out ? resolve(flags.out) : null;
      const temp = target ? `${target}.${process.pid}.${randomBytes(3).toString('hex')}.tmp` : null;
      try {
        let stream: NodeJS.WritableStream = process.stdout;
        if (target && temp) {
          mkdirSync(dirname(target), { recursive: true });
          stream = createWriteStream(temp, { flags: 'wx' });
        }
        const filter = { ...(flags.suite ? { suite: flags.suite } : {}), ...(flags.board ? { board: flags.board } : {}) };
        const lines = flags.format === 'csv' ? exportCsv(store, filter) : exportJson(store, filter);
        // A reader that stops early (`| head`) closes the pipe: stop writing, without a stack
        // trace. Any other write error (disk full) stops the export and is reported.
        let closed = false;
        let failure: Error | undefined;
        stream.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code !== 'EPIPE') failure ??= err;
          closed = true;
          stream.emit('drain');
        });
        for (const line of lines) {
          if (closed) break;
          if (!stream.write(line)) await new Promise((r) => stream.once('drain', r));
        }
        if (target && temp) {
          if (!failure) await finished((stream as Writable).end()).catch((err: unknown) => (failure ??= toError(err)));
          if (failure) throw failure;
          renameSync(temp, target);
          fsyncDir(dirname(target));
        }
      } catch (err) {
        if (temp) rmSync(temp, { force: true });
        throw err;
      } finally {
        store.close();
      }
    });

  recordOpts(
    history
      .command('check')
      .description(
        'Is this run part of a change nobody has accepted? Per cell and metric: change points (E-divisive means, permutation test) over the run medians ' +
          'since the last accepted change (of the same configuration identity), and the two-run test against the last stable window. ' +
          'Exit 0 only when something was judged and nothing failed; 1 (cell and reason named) on an unaccepted regression, a newly failing or lost cell, ' +
          'a metric of the cell\'s history missing, fewer output tokens than asked or a failing accuracy verdict; 2 (cannot judge) when the run cannot be judged: ' +
          'nothing compared, too short a history, another configuration than its history (see --allow-difference) or a would-be regression on a busy or throttled machine.',
      )
      .argument('<result>', 'the run to check: a result.json or a run folder (stored or not; check does not add it)'),
  )
    .option('-m, --metric <name>', 'metric to check (repeatable or comma-separated; default: image_encode_ms, prefill_ms, ttft_ms, decode_tokens_per_s)', collect, [])
    .option('--threshold <pct>', 'smallest change that fails the gate', parsePercent('--threshold'), 5)
    .option('--confidence <level>', 'confidence of the two-run test', parseConfidence, DEFAULT_CONFIDENCE)
    .option('--p-value <p>', 'significance level of a change point', probability, DEFAULT_EDIVISIVE.pValue)
    .option('--permutations <n>', 'most permutations per change-point test', positiveInt('--permutations'), DEFAULT_EDIVISIVE.permutations)
    .option('--min-size <n>', 'fewest runs on each side of a change point', positiveInt('--min-size'), DEFAULT_EDIVISIVE.minSize)
    .option('--window <n>', 'most run medians analysed per series (the newest since the last accepted change)', positiveInt('--window'), DEFAULT_WINDOW)
    .option('--gate-two-run', 'also fail when the two-run test alone finds a regression (more false alarms on a drifting board: see docs/history.md)')
    .option(
      '--allow-difference <fields>',
      'identity fields in which the run may differ from its history (repeatable or comma-separated, e.g. threads); the check is then labelled as crossing them',
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .addOption(new Option('--format <format>', 'output format').choices(['md', 'json', 'junit']).default('md'))
    .option('-o, --out <file>', 'write the output to this file instead of stdout')
    .action((arg: string, flags: CheckFlags) => {
      const { result, file } = loadResultArg(arg, 'result');
      checkOutFile(flags.out, [...databaseFiles(resolveDbPath(flags.db)), ...resultInputFiles(file)]);
      const check = withStore(flags.db, false, (store) =>
        checkRun(store, recordFromResult(result, recordOptions(flags, file)), {
          metrics: flags.metric,
          thresholdPct: flags.threshold,
          confidence: flags.confidence,
          detector: { pValue: flags.pValue, permutations: flags.permutations, minSize: flags.minSize },
          window: flags.window,
          gateTwoRun: flags.gateTwoRun === true,
          source: arg,
          allowDifferences: parseAllowedDifferences(flags.allowDifference),
        }),
      );
      writeOut(renderCheck(check, flags.format), flags.out);
      const summaryFile = process.env['GITHUB_STEP_SUMMARY'];
      if (summaryFile) appendFileSync(summaryFile, `${historyStepSummary(check)}\n`);
      process.stderr.write(`history check: ${historyGateLine(check)}${flags.out ? `; written to ${flags.out}` : ''}\n`);
      process.exitCode = GATE_EXIT_CODE[check.outcome];
    });

  history
    .command('accept')
    .description('Accept the change that begins at a commit: from its first run on, the new level is the baseline of the series.')
    .requiredOption('--commit <rev>', 'commit where the accepted level begins (a full hash or a prefix)')
    .option('--db <file>', DB_HELP)
    .option('--suite <name>', 'suite (needed when the database holds several)')
    .option('--board <label>', 'board (needed when the database holds several for the suite)')
    .option('--cell <id>', 'cell (repeatable; default: every cell)', (v: string, prev: string[]) => [...prev, v], [])
    .option('-m, --metric <name>', 'metric (repeatable or comma-separated; default: every metric)', collect, [])
    .option('--note <text>', 'why the change is accepted (kept with it)', '')
    .action((flags: { commit: string; db?: string; suite?: string; board?: string; cell: string[]; metric: string[]; note: string }) => {
      withStore(flags.db, false, (store) => {
        const { suite, board } = pickSuiteBoard(store, flags.suite, flags.board);
        const all = store.series({ suite, board });
        const cells = new Set(all.map((s) => s.cellId));
        const metrics = new Set(all.map((s) => s.metric));
        for (const c of flags.cell) if (!cells.has(c)) throw new InputError(`--cell ${c}: no such cell in the history of ${suite} on ${board}`);
        for (const m of flags.metric) if (!metrics.has(m)) throw new InputError(`--metric ${m}: no such metric in the history of ${suite} on ${board}; stored: ${[...metrics].sort().join(', ')}`);
        const chosen = all.filter((s) => (!flags.cell.length || flags.cell.includes(s.cellId)) && (!flags.metric.length || flags.metric.includes(s.metric)));
        const prefix = flags.commit.trim();
        // An empty prefix matches every commit: it would accept at the first run of every series.
        if (!prefix) throw new InputError('--commit is empty: name the commit where the accepted level begins (a full hash or an unambiguous prefix)');
        const matching = store.commitsWithPrefix(suite, board, prefix);
        if (matching.length > 1) {
          throw new InputError(
            `--commit ${prefix}: ambiguous, ${matching.length} stored commits of ${suite} on ${board} begin with it: ${matching.slice(0, 10).join(', ')}${matching.length > 10 ? ', …' : ''}; give more characters`,
          );
        }
        const done = matching.length ? store.accept(chosen, matching[0]!, flags.note) : [];
        if (!done.length) throw new InputError(`--commit ${prefix}: no stored run of that commit in the chosen series of ${suite} on ${board}`);
        for (const { series, point } of done) {
          process.stdout.write(`accepted ${series.cellId} ${series.metric}: new level from run ${point.runId} (commit ${point.gitCommit?.slice(0, 12) ?? '?'}, ${point.commitDate})\n`);
        }
        process.stderr.write(`history: ${done.length} series accepted at ${flags.commit} in ${store.file}\n`);
      });
    });

  history
    .command('show')
    .description('Trends per cell and metric: a Markdown table of levels and change points, and a PNG chart per series with the change points marked.')
    .option('--db <file>', DB_HELP)
    .option('--suite <name>', 'suite (needed when the database holds several)')
    .option('--board <label>', 'board (needed when the database holds several for the suite)')
    .option('--cell <id>', 'only this cell (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
    .option('-m, --metric <name>', 'metrics (default: image_encode_ms, prefill_ms, ttft_ms, decode_tokens_per_s)', collect, [])
    .option('--last <n>', 'newest runs shown per series', positiveInt('--last'), 200)
    .option('--out <dir>', 'folder for trend.md and charts/ (default: print the table only)')
    .option('--max-charts <n>', 'most charts written', positiveInt('--max-charts'), 40)
    .action(async (flags: { db?: string; suite?: string; board?: string; cell: string[]; metric: string[]; last: number; out?: string; maxCharts: number }) => {
      const store = HistoryStore.open(resolveDbPath(flags.db), { create: false });
      try {
        const { suite, board } = pickSuiteBoard(store, flags.suite, flags.board);
        const metrics: readonly string[] = flags.metric.length ? flags.metric : HEADLINE_METRICS;
        const series = store
          .series({ suite, board })
          .filter((s) => metrics.includes(s.metric) && (!flags.cell.length || flags.cell.includes(s.cellId)))
          .sort((a, b) => metrics.indexOf(a.metric) - metrics.indexOf(b.metric));
        if (!series.length) throw new InputError(`no series of ${suite} on ${board} matches --cell/--metric (metrics: ${metrics.join(', ')})`);
        const trends = series.map((s) => seriesTrend(store, s, flags.last));
        const markdown = formatTrendMarkdown(trends, `History: ${suite} on ${board}`);
        if (!flags.out) {
          process.stdout.write(markdown);
          return;
        }
        const dir = resolve(flags.out);
        refuseFileAsFolder('--out', dir);
        refuseOutputOverInput({ flag: '--out', given: flags.out, writes: [join(dir, 'trend.md'), join(dir, 'charts')], reads: databaseFiles(store.file) });
        mkdirSync(join(dir, 'charts'), { recursive: true });
        const charts: string[] = [];
        for (const [i, t] of trends.slice(0, flags.maxCharts).entries()) {
          const name = `${String(i + 1).padStart(2, '0')}-${t.series.metric}-${t.series.cellId.replace(/[^A-Za-z0-9=.,_-]+/g, '_')}.png`;
          const subtitle = `${suite} on ${board}, ${t.points.length} runs; red: change not accepted, green: improvement, grey dashed: accepted`;
          writeFileSync(join(dir, 'charts', name), await renderChart(trendChart(t, subtitle), 1200, 480));
          charts.push(name);
        }
        const chartList = charts.map((c) => `![${c}](charts/${c})`).join('\n\n');
        const omitted = trends.length - charts.length;
        writeFileSync(join(dir, 'trend.md'), `${markdown}\n${chartList}\n${omitted > 0 ? `\n${omitted} more series have no chart (--max-charts).\n` : ''}`);
        process.stdout.write(markdown);
        process.stderr.write(`history show: ${join(dir, 'trend.md')} and ${charts.length} chart(s) in ${join(dir, 'charts')}\n`);
      } finally {
        store.close();
      }
    });
}
