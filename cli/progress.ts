import { createLogUpdate } from 'log-update';
import { terminalSafe } from '../core/terminal-text.ts';
import type { ProgressSink } from '../harness/run-suite.ts';
import { METRICS, type MetricDefinition } from '../core/metric-registry.ts';
import type { CellResult } from '../core/result-types.ts';
import type { Cell } from '../core/suite-types.ts';
import type { IterationRecord } from '../core/events.ts';
import { figureSourceOf, type FigureSource } from '../core/figure-source.ts';

type ProgressDefinition = MetricDefinition & Required<Pick<MetricDefinition, 'progress'>>;

/** The metrics a finished cell's line shows: those the registry gives a progress label. */
const PROGRESS_METRICS: readonly ProgressDefinition[] = METRICS.filter((d): d is ProgressDefinition => d.progress !== undefined);

function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function cellSummary(r: CellResult): string {
  if (r.status === 'failed') return `FAILED: ${r.error ?? 'unknown error'}`;
  const parts: string[] = [];
  for (const def of PROGRESS_METRICS) {
    const stats = r.metrics[def.name];
    if (stats) parts.push(`${def.progress.label} ${stats.median.toFixed(def.digits)} ${def.progress.unit}`);
  }
  if (r.loadMs !== null) parts.push(`load ${(r.loadMs / 1000).toFixed(1)} s`);
  // A composed or tool-reported cell's figures are not timed by this run: the line says so.
  const source = figureSourceOf(r.settings);
  return `${parts.join(', ')}${source !== 'measured' ? ` (${source} figures)` : ''}`;
}

/**
 * The time an iteration line shows. A measured record spans the request on the run's clock; a
 * composed (Axera) or tool-reported record spans the figures it was built from, which is not
 * how long the iteration took: those show the wall time, and the record's span named for what it is.
 */
export function iterationTime(info: { record: IterationRecord; wallMs: number; figureSource: FigureSource }): string {
  const span = info.record.endMs - info.record.startMs;
  if (info.record.error) return `${info.wallMs.toFixed(0)} ms`;
  if (info.figureSource === 'measured') return `${span.toFixed(0)} ms`;
  const what = info.figureSource === 'composed' ? 'composed request' : "tool's request";
  return `${info.wallMs.toFixed(0)} ms wall (${what} ${span.toFixed(1)} ms)`;
}

function label(info: { index: number; total: number; warmups: number; warmup: boolean }): string {
  return info.warmup ? `warm-up ${info.index + 1}/${info.warmups}` : `iteration ${info.index - info.warmups + 1}/${info.total - info.warmups}`;
}

/**
 * Progress for `bench run`: a live status line (cell i/n, iteration, elapsed, ETA) on a TTY;
 * plain, append-only lines elsewhere (CI logs, pipes), where redrawing would be noise.
 */
export function createProgress(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  const tty = Boolean(stream.isTTY) && process.env['CI'] !== 'true';
  const live = tty ? createLogUpdate(stream) : null;
  const runStart = Date.now();
  let cellStartedAt = runStart;
  let cellsTotal = 0;
  let cellsDoneThisRun = 0;
  let cellsDoneBefore = 0;
  let position = 0;
  let current: Cell | null = null;
  let iterText = 'preparing';

  const eta = (): string => {
    if (cellsDoneThisRun === 0) return 'ETA after first cell';
    const perCell = (Date.now() - runStart) / cellsDoneThisRun;
    const left = cellsTotal - cellsDoneBefore - cellsDoneThisRun;
    return `ETA ${fmtDuration(perCell * left - (Date.now() - cellStartedAt))}`;
  };
  const render = () => {
    if (!live || !current) return;
    live(
      `cell ${position}/${cellsTotal} ${current.id}  ${iterText}  elapsed ${fmtDuration(Date.now() - runStart)}  ${eta()}`,
    );
  };
  const timer = live ? setInterval(render, 500) : null;
  timer?.unref();

  // Lines quote server answers, tool logs and cell errors: shown, never obeyed by the terminal.
  const line = (untrusted: string) => {
    const text = terminalSafe(untrusted);
    if (live) {
      live.clear();
      stream.write(`${text}\n`);
      render();
    } else stream.write(`${text}\n`);
  };

  return {
    runStart(info) {
      cellsTotal = info.cells;
      cellsDoneBefore = info.alreadyDone;
      const kept = info.failedKept ? ` (${info.failedKept} of them failed and are kept as failed: add --retry-failed to run them again)` : '';
      line(`run ${info.suite}: ${info.cells} cell(s)${info.alreadyDone ? `, ${info.alreadyDone} already done${kept}` : ''} -> ${info.runDir}`);
    },
    cellStart(info) {
      position = info.position;
      current = info.cell;
      cellStartedAt = Date.now();
      iterText = 'preparing';
      if (!live) line(`[${info.position}/${info.total}] ${info.cell.id}: preparing`);
      render();
    },
    iterationStart(info) {
      iterText = `${label(info)} running`;
      render();
    },
    iteration(info) {
      iterText = label(info);
      if (!live) {
        const err = info.record.error ? ` error: ${info.record.error}` : '';
        line(`  ${iterText} ${iterationTime(info)}${err}  (elapsed ${fmtDuration(Date.now() - runStart)}, ${eta()})`);
      }
      render();
    },
    cellDone(result) {
      cellsDoneThisRun += 1;
      line(`[${position}/${cellsTotal}] ${result.id}: ${cellSummary(result)}`);
      // What the board did differently from the run's header (its mode, its clock limits), as it happens.
      if (result.boardState?.differences.length) line(`  board state: ${result.boardState.differences.join('; ')}`);
    },
    log(message) {
      line(`  ${message}`);
    },
    runDone() {
      if (timer) clearInterval(timer);
      live?.clear();
      live?.done();
    },
  };
}
