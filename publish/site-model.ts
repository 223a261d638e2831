/**
 * What `bench publish` shows, as report-model data: comparison tables (rows and columns chosen
 * by the user from the dimensions below) whose every entry is a cell of some run, with its spread,
 * n, status and a link to that run's page; and one provenance row per run, with what a
 * defensible table needs and the run did not record marked as a gap, never dropped.
 */
import { HEADLINE_METRICS, metricDefinition } from '../core/metric-registry.ts';
import type { CellResult, RunResult } from '../core/result-types.ts';
import { InputError } from '../core/errors.ts';
import { cellRunnerName, suiteRunnerNames } from '../core/matrix.ts';
import { figureSourceDetail } from '../core/figure-source.ts';
import { cellFigure } from '../reporters/report-axera.ts';
import { accuracyCell, cellSource, errorBarsNote, withMedianIntervals, failedCell, figureInterval, figureMarkers, flagStatus, flagTexts, fmtInterval, INTERVAL_LABELS, shortReason, type StoredStats } from '../reporters/figures.ts';
import { cellIdentity, IDENTITY_FIELDS, NOT_RECORDED, type IdentityFieldName } from '../analysis/identity.ts';
import { energyFigureNote } from '../analysis/energy-context.ts';
import { groupBy } from '../reporters/build-report.ts';
import { legendSection, markerText, MIN_VALUES_FOR_MEDIAN_INTERVAL, type Marker } from '../reporters/markers.ts';
import { fmt } from '../reporters/format.ts';
import { isRemoteServer } from '../reporters/build-report.ts';
import { drivenOverSsh } from '../reporters/board-facts.ts';
import { boardLabel } from '../reporters/cell-boards.ts';
import { unlockedClocks } from '../hw-probes/board-state.ts';
import { backendLabel } from '../runners/registry.ts';
import { THIS_MACHINE_TARGETS } from '../targets/targets.ts';
import { cell, columns, type ChartSpec, type Report, type Section, type Table, type TableCell } from '../reporters/report-model.ts';

export interface PublishedRun {
  result: RunResult;
  /** The file it was read from. */
  file: string;
  /** Page name: runs/<slug>.html, raw data runs/<slug>.json. */
  slug: string;
}

/**
 * The part of a run the index reads: each cell's identity, status, settings, model and the
 * statistics of the metrics the index shows. Once a run's page is written the rest (raw events,
 * other metrics, per-graph statistics, operator profiles, outlier lists, probe samples) is
 * dropped: memory stays bounded by one run's raw data, and a worker process hands back a small
 * fraction of the bytes. (A test checks the index is the same as from the full runs.)
 */
export function indexView(full: RunResult, metrics: readonly string[]): RunResult {
  // Older results computed no interval of the median: it is computed while the iterations are here.
  const result = withMedianIntervals(full);
  return {
    ...result,
    cells: result.cells.map((full) => {
      const { iterations, metrics: _all, subgraphs: _graphs, operatorProfile: _ops, outliers: _outliers, probes, ...kept } = full;
      // cellFigure: a composed cell's decode figures come from its iterations, which are dropped here.
      const figures = metrics.flatMap((m) => {
        const f = cellFigure(full, m);
        return f ? [[m, f.stats] as const] : [];
      });
      return {
      ...kept,
      // What the configuration identity reads of each iteration (its workload), without the events.
      iterations: iterations.map((it) => ({
        index: it.index,
        warmup: it.warmup,
        startMs: 0,
        endMs: 0,
        promptTokens: it.promptTokens,
        imageTokens: it.imageTokens,
        images: it.images,
        outputTokens: it.outputTokens,
        events: [],
        ...(it.error !== undefined ? { error: it.error } : {}),
      })),
      metrics: Object.fromEntries(figures),
      subgraphs: {},
      ...(probes ? { probes: { ...probes, samples: [] } } : {}),
      };
    }),
  };
}

export const DIMENSIONS = ['board', 'backend', 'precision', 'model', 'images', 'prefill', 'suite', 'target', 'host', 'power_mode', 'date', 'commit'] as const;
export type Dimension = (typeof DIMENSIONS)[number];
/** Dimensions the index offers as filters (one select each). */
export const FILTER_DIMENSIONS: readonly Dimension[] = ['board', 'backend', 'precision', 'model'];

export interface SiteOptions {
  rows: Dimension[];
  columns: Dimension[];
  metrics: string[];
}

export const DEFAULT_SITE_OPTIONS: SiteOptions = {
  rows: ['model', 'precision', 'images', 'prefill'],
  columns: ['board', 'backend'],
  metrics: [...HEADLINE_METRICS],
};

export function parseDimensions(text: string, flag: string): Dimension[] {
  const dims = text.split(',').map((d) => d.trim()).filter(Boolean);
  for (const d of dims) {
    if (!(DIMENSIONS as readonly string[]).includes(d)) throw new InputError(`${flag} ${text}: unknown dimension "${d}"; allowed: ${DIMENSIONS.join(', ')}`);
  }
  if (dims.length === 0) throw new InputError(`${flag}: give at least one of ${DIMENSIONS.join(', ')}`);
  return dims as Dimension[];
}

export function parseMetrics(text: string): string[] {
  const names = text.split(',').map((d) => d.trim()).filter(Boolean);
  for (const n of names) if (!metricDefinition(n)) throw new InputError(`--metric ${text}: unknown metric "${n}" (see docs/metrics or core/metric-registry.ts)`);
  return names;
}

/** The board a run measured: the probe's board model, else the target, else the host CPU. */
export function boardOf(r: RunResult): string {
  const b = r.environment.board ?? {};
  if (isRemoteServer(r)) {
    // The hardware is the server's, which the client cannot see: name the server instead.
    const url = String(r.suite.definition.options?.['url'] ?? '');
    return `server ${url.replace(/^https?:\/\//, '').replace(/\/.*$/, '') || '(url not recorded)'}`;
  }
  return b['board.model'] ?? b['l4t.board'] ?? (r.target !== 'local' ? r.target : r.environment.host.cpu);
}

/** Runner and its runtime: "ort onnxruntime-node 1.30.0", "endpoint llama.cpp", "axera-subgraph pulsar2 ...". */
export function backendOf(r: RunResult, c?: CellResult): string {
  const s = c?.settings ?? r.cells.find((x) => x.status === 'ok')?.settings ?? {};
  // A suite with a runner axis runs several runtimes: the cell's own runner.
  const recorded = s['runner'];
  const runner = typeof recorded === 'string' ? recorded : c ? cellRunnerName(r.suite.definition, c.params) : suiteRunnerNames(r.suite.definition).join('+');
  return backendLabel(runner, { settings: s, versions: r.environment.versions });
}

function modelOf(r: RunResult, c?: CellResult): string {
  const m = c?.model;
  if (m) return m.architecture;
  const ref = r.suite.definition.model;
  return 'zoo' in ref ? ref.zoo : 'name' in ref ? ref.name : ref.path;
}

/** The power mode a cell ran in: its power_mode axis value, else what the board reported around it, else the run's header. */
function cellPowerMode(r: RunResult, c: CellResult | undefined): string {
  const axis = c?.params['power_mode'];
  if (axis !== undefined) return String(axis);
  const before = c?.boardState?.before.powerMode;
  const after = c?.boardState?.after?.powerMode;
  if (before) return after && after.name !== before.name ? `${before.name} -> ${after.name}` : before.name;
  return r.environment.board?.['power.nvpmodel'] ?? 'not recorded';
}

export function dimensionValue(r: RunResult, c: CellResult | undefined, d: Dimension): string {
  switch (d) {
    case 'board': return boardOf(r);
    case 'backend': return backendOf(r, c);
    case 'precision': return String(c?.params['precision'] ?? c?.model?.precision ?? 'default');
    case 'model': return modelOf(r, c);
    case 'images': return String(c?.params['images'] ?? '0');
    case 'prefill': return String(c?.params['prefill'] ?? '–');
    case 'suite': return r.suite.name;
    case 'target': return r.target;
    case 'host': return r.environment.host.hostname;
    case 'power_mode': return cellPowerMode(r, c);
    case 'date': return r.startedAt.slice(0, 10);
    case 'commit': return r.environment.git.revision?.slice(0, 10) ?? 'not recorded';
  }
}

const keyOf = (values: string[]): string => values.join(' · ');

interface Entry {
  run: PublishedRun;
  cell: CellResult | null;
  cellId: string;
}

/** The figure of one grid position: median, interval and n, or an explicit failure / not run. */
export function entryCell(e: Entry | undefined, metric: string, others: number): TableCell {
  if (!e) return cell(markerText('no-run'), { status: 'missing', note: 'no run measured this combination' });
  const link = `runs/${e.run.slug}.html#cell-${encodeURIComponent(e.cellId)}`;
  // Older runs of the same configuration identity (a grid position never holds two identities).
  const more = others > 0 ? ` (+${others} older)` : '';
  if (!e.cell) return cell(`${markerText('not-run')}${more}`, { status: 'missing', marks: ['not-run'], link, note: `planned in run ${e.run.result.runId} but not run` });
  if (e.cell.status === 'failed') {
    const failed = failedCell(e.cell.error, { link });
    return { ...failed, text: `${failed.text}${more}` };
  }
  // A composed (Axera) cell never decodes: its decode figures are the composition's, recorded beside.
  const figure = cellFigure(e.cell, metric);
  const s = figure?.stats as StoredStats | undefined;
  if (!figure || !s) return cell(`${markerText('no-figure')}${more}`, { status: 'missing', link, note: `the cell has no ${metric}` });
  const def = metricDefinition(metric);
  const iv = figureInterval(s);
  const flags = flagTexts(s);
  const source = figure.source;
  // A quantised model that failed the accuracy gate was timed, but does not compute what fp32 does.
  const wrong = e.cell.accuracy && !e.cell.accuracy.passed ? e.cell.accuracy.failures.join('; ') : '';
  const marks: Marker[] = [...(source !== 'measured' ? [source] : []), ...(wrong ? (['wrong-output'] as const) : []), ...figureMarkers(s)];
  const spread = iv ? ` ${fmtInterval(s, def?.digits)}` : '';
  const energy = energyFigureNote(metric, e.cell);
  return cell(`${fmt(s.median, def?.digits)}${spread} n=${s.n}${wrong ? ` ${markerText('wrong-output')} (${shortReason(wrong, 80)})` : ''}${more}`, {
    value: s.median,
    unit: s.unit,
    n: s.n,
    status: wrong ? 'flagged' : (flagStatus(marks) ?? source),
    marks,
    ...(iv ? { interval: iv.interval, intervalOf: iv.of } : {}),
    link,
    note: `run ${e.run.result.runId}${e.cell.board !== undefined ? ` (measured on board ${boardLabel(e.cell.board)}, one shard of a merged run)` : ''}; ${figureSourceDetail(e.cell.settings, metric)}${energy ? `; energy: ${energy}` : ''}${wrong ? `; numerically wrong vs fp32 (${wrong})` : ''}${flags.length ? `; ${flags.join('; ')}` : ''}`,
  });
}

/** How a figure of the site's tables reads: what the brackets and n are. */
export const FIGURE_FORMAT = `median [${INTERVAL_LABELS['median-ci']}] n=values, or median (range min–max) n=values where n < ${MIN_VALUES_FOR_MEDIAN_INTERVAL} allows no interval of the median`;

export interface ComparisonGrid {
  /** The row dimensions: the user's, then identity fields the runs differ in (never merged in one figure). */
  rowDims: string[];
  columnDims: string[];
  rowKeys: string[];
  columnKeys: string[];
  /** Values of each row's / column's dimensions, for filters. */
  rowValues: Map<string, Record<string, string>>;
  columnValues: Map<string, Record<string, string>>;
  /** row key -> column key -> entries of one configuration identity, newest first. */
  slots: Map<string, Map<string, Entry[]>>;
  /** Identity fields every figure of the page shares, with their one value. */
  shared: Array<[IdentityFieldName, string]>;
  /** Identity fields that are one value per column but differ between columns (a board's threads, its runtime's settings). */
  columnFacts: IdentityFieldName[];
  /** column key -> field -> its value in that column. */
  columnFactValues: Map<string, Record<string, string>>;
}

/** What each column measured: the identity fields that differ between columns, one row per column. */
export function columnConfigurationTable(grid: ComparisonGrid): Table | null {
  if (!grid.columnFacts.length) return null;
  return {
    id: 'column-configurations',
    figures: 'Identity fields the columns differ in (each column measured one value of each); every figure of a column has these values',
    columns: columns([['Column', 'left'], ...grid.columnFacts.map((f): [string, 'left'] => [f, 'left'])]),
    rows: grid.columnKeys.map((ck) => [cell(ck), ...grid.columnFacts.map((f) => {
      const v = grid.columnFactValues.get(ck)?.[f] ?? NOT_RECORDED;
      return cell(v, v === NOT_RECORDED ? { status: 'missing' } : {});
    })]),
  };
}

/**
 * Identity fields a dimension shows or implies: when the user's rows or columns include one of
 * these dimensions, the field need not be a dimension of its own unless it differs inside one
 * grid position (then it always splits).
 */
const SHOWN_BY: Partial<Record<IdentityFieldName, readonly Dimension[]>> = {
  model: ['model'],
  model_hash: ['model'],
  layout: ['model'],
  weights: ['model'],
  seed: ['model'],
  precision: ['precision'],
  vision_precision: ['precision'],
  int8_form: ['precision'],
  runner: ['backend'],
  images: ['images'],
  image_tokens: ['images'],
  prompt_tokens: ['prefill', 'images'],
  target: ['target', 'board'],
  machine: ['host', 'board'],
  board: ['board'],
};

/** Dimensions that split a grid position whose runs differ in them, like identity fields (see comparisonGrid). */
const PUBLISHED_SPLITS: readonly Dimension[] = ['suite', 'backend'];

/** An identity value as a table shows it (build hashes are long). */
const identityText = (value: string): string => shortReason(value, 48);

export function comparisonGrid(runs: readonly PublishedRun[], options: SiteOptions): ComparisonGrid {
  // Every cell of every run (planned cells that never ran too) with its configuration identity.
  const all: Array<{ run: PublishedRun; cell: CellResult | undefined; cellId: string; fields: Record<IdentityFieldName, string> | null; user: { rows: string[]; columns: string[] } }> = [];
  for (const run of runs) {
    const present = new Set<string>();
    const cells: Array<[CellResult | undefined, string, boolean]> = run.result.cells.map((c) => [c, c.id, true]);
    for (const c of run.result.cells) present.add(c.id);
    // A planned cell that never ran still has a place: parameters from its id (k=v,...).
    for (const id of run.result.plannedCells) {
      if (present.has(id)) continue;
      const params = Object.fromEntries(id.split(',').map((kv) => kv.split('=') as [string, string]));
      cells.push([{ id, params, settings: {}, model: null } as unknown as CellResult, id, false]);
    }
    for (const [c, cellId, ran] of cells) {
      const identity = ran && c ? cellIdentity(run.result, c) : null;
      all.push({
        run,
        cell: ran ? c : undefined,
        cellId,
        fields: identity?.complete ? identity.fields : null,
        user: { rows: options.rows.map((d) => dimensionValue(run.result, c, d)), columns: options.columns.map((d) => dimensionValue(run.result, c, d)) },
      });
    }
  }
  // Which identity fields must become dimensions: those that differ inside one grid position of
  // the user's dimensions, and those that differ across the page without a dimension showing them.
  const complete = all.filter((e) => e.fields);
  const shown = new Set<string>([...options.rows, ...options.columns]);
  const byPosition = groupBy(complete, (e) => `${keyOf(e.user.rows)}\u0000${keyOf(e.user.columns)}`);
  const byColumn = groupBy(complete, (e) => keyOf(e.user.columns));
  const extraRows: IdentityFieldName[] = [];
  const columnFacts: IdentityFieldName[] = [];
  const shared: Array<[IdentityFieldName, string]> = [];
  const varies = (entries: readonly (typeof complete)[number][], f: IdentityFieldName) => new Set(entries.map((e) => e.fields![f])).size > 1;
  for (const { name } of IDENTITY_FIELDS) {
    if (!varies(complete, name)) {
      if (complete.length) shared.push([name, complete[0]!.fields![name]]);
      continue;
    }
    const inPosition = [...byPosition.values()].some((list) => varies(list, name));
    const implied = (SHOWN_BY[name] ?? []).some((d) => shown.has(d));
    if (!inPosition && implied) continue;
    // A field that is one value per column (a board's thread count) is a fact of the column,
    // listed in the column configuration table; one that differs inside a column splits rows.
    if (!inPosition && [...byColumn.values()].every((list) => !varies(list, name))) columnFacts.push(name);
    else extraRows.push(name);
  }
  // Not identity fields, but a published figure never merges them either: the suite (another
  // suite is another study, whatever it shares) and the runtime with its version (a new version
  // is what a CI series tests, so each is a figure of its own). Split only when they differ
  // inside a grid position of the user's dimensions; the default columns show the runtime.
  const extraDims = PUBLISHED_SPLITS.filter((d) => !shown.has(d) && [...byPosition.values()].some((list) => new Set(list.map((e) => dimensionValue(e.run.result, e.cell, d))).size > 1));
  // A failed or not-run cell has no full identity: it takes its run's value of the field (its
  // ok cells'), so it stays beside the figures of its own configuration.
  const runValue = (e: (typeof all)[number], f: IdentityFieldName): string => {
    if (e.fields) return e.fields[f];
    if (e.cell) {
      const own = cellIdentity(e.run.result, e.cell).fields[f];
      if (own !== NOT_RECORDED) return own;
    }
    const sibling = complete.find((x) => x.run === e.run && x.user.rows.join() === e.user.rows.join());
    return sibling?.fields![f] ?? complete.find((x) => x.run === e.run)?.fields![f] ?? NOT_RECORDED;
  };
  const rowDims = [...options.rows, ...extraRows, ...extraDims];
  const columnDims = [...options.columns];
  const rowValues = new Map<string, Record<string, string>>();
  const columnValues = new Map<string, Record<string, string>>();
  const slots = new Map<string, Map<string, Entry[]>>();
  for (const e of all) {
    const rv = Object.fromEntries([
      ...options.rows.map((d, i) => [d, e.user.rows[i]!]),
      ...extraRows.map((f) => [f, identityText(runValue(e, f))]),
      ...extraDims.map((d) => [d, dimensionValue(e.run.result, e.cell, d)]),
    ]);
    const cv = Object.fromEntries(options.columns.map((d, i) => [d, e.user.columns[i]!]));
    const rk = keyOf(Object.values(rv));
    const ck = keyOf(Object.values(cv));
    rowValues.set(rk, rv);
    columnValues.set(ck, cv);
    let row = slots.get(rk);
    if (!row) slots.set(rk, (row = new Map()));
    const list = row.get(ck);
    const entry = { run: e.run, cell: e.cell ?? null, cellId: e.cellId };
    if (list) list.push(entry);
    else row.set(ck, [entry]);
  }
  for (const row of slots.values()) for (const list of row.values()) list.sort((a, b) => b.run.result.startedAt.localeCompare(a.run.result.startedAt));
  const natural = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });
  const columnKeys = [...columnValues.keys()].sort(natural);
  const facts = new Map(columnKeys.map((ck) => [ck, {} as Record<string, string>]));
  for (const f of columnFacts) for (const [ck, list] of byColumn) facts.get(ck)![f] = identityText(list[0]!.fields![f]);
  return { rowDims, columnDims, rowKeys: [...rowValues.keys()].sort(natural), columnKeys, rowValues, columnValues, slots, shared, columnFacts, columnFactValues: facts };
}

export function comparisonTable(grid: ComparisonGrid, metric: string, options: SiteOptions): Table {
  const def = metricDefinition(metric);
  const rows = grid.rowKeys.map((rk) => {
    const rv = grid.rowValues.get(rk)!;
    return [
      ...grid.rowDims.map((d) => cell(rv[d]!)),
      ...grid.columnKeys.map((ck) => {
        const list = grid.slots.get(rk)?.get(ck);
        return entryCell(list?.[0], metric, (list?.length ?? 1) - 1);
      }),
    ];
  });
  return {
    id: `compare-${metric}`,
    caption: `${def?.label ?? metric} (${def?.unit ?? ''}${def ? `, ${def.better} is better` : ''})`,
    figures: `${FIGURE_FORMAT} of the newest run of each combination (older runs of it are counted and on their pages). ${def?.description ?? ''} Markers: see the legend`,
    columns: columns([...grid.rowDims.map((d): [string, 'left'] => [d, 'left']), ...grid.columnKeys.map((k): [string, 'right'] => [k, 'right'])]),
    rows,
  };
}

/** A grouped bar chart of a comparison table (first 40 rows, first 10 columns), with error bars. */
export function comparisonChart(t: Table, metric: string, options: { rows: readonly string[]; columns: readonly string[] }): ChartSpec {
  const maxRows = 40;
  const maxCols = 10;
  const first = options.rows.length;
  const rows = t.rows.slice(0, maxRows);
  const colIdx = t.columns.slice(first).slice(0, maxCols).map((_, i) => first + i);
  const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  const def = metricDefinition(metric);
  const parts = [t.rows.length > maxRows ? `rows 1-${maxRows} of ${t.rows.length}` : '', t.columns.length - first > maxCols ? `${maxCols} of ${t.columns.length - first} columns` : '', errorBarsNote(rows.flatMap((r) => colIdx.map((ci) => r[ci])))].filter(Boolean);
  return {
    id: `compare-${metric}`,
    title: `${def?.label ?? metric} by ${options.columns.join(', ')}`,
    width: Math.max(960, 160 + rows.length * (24 + 14 * colIdx.length)),
    height: 540,
    config: {
      type: 'bar',
      data: {
        labels: rows.map((r) => r.slice(0, first).map((c) => c.text).join(' · ')),
        datasets: colIdx.map((ci, k) => ({ label: t.columns[ci]!.header, data: rows.map((r) => r[ci]?.value ?? null), backgroundColor: palette[k % palette.length] })),
      },
      options: {
        plugins: {
          title: { display: true, text: `${def?.label ?? metric} (${def?.unit ?? ''}), median`, font: { size: 18 } },
          subtitle: { display: true, text: parts.join('; '), font: { size: 12 } },
          errorBars: { bars: colIdx.map((ci) => rows.map((r) => r[ci]?.interval ?? null)) },
        } as never,
        scales: { y: { beginAtZero: true, title: { display: true, text: def?.unit ?? '' }, suggestedMax: Math.max(0, ...colIdx.flatMap((ci) => rows.map((r) => r[ci]?.interval?.[1] ?? 0))) } },
      },
    },
  };
}

/**
 * The accuracy gate's verdict of each model build and precision a run measured, one row each:
 * pass with its figures, WRONG OUTPUT with what missed, the fp32 reference, or not checked.
 */
export function accuracyTable(runs: readonly PublishedRun[]): Table {
  const rows: TableCell[][] = [];
  for (const p of runs) {
    const seen = new Set<string>();
    for (const c of p.result.cells) {
      if (c.status !== 'ok' && !c.accuracy) continue;
      const key = `${dimensionValue(p.result, c, 'model')} ${dimensionValue(p.result, c, 'precision')} ${c.model?.scale ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      rows.push([
        cell(dimensionValue(p.result, c, 'model')),
        cell(dimensionValue(p.result, c, 'precision')),
        cell(c.model?.scale ?? 'not recorded', c.model?.scale ? {} : { status: 'missing' }),
        cell(boardOf(p.result)),
        cell(p.result.runId, { link: `runs/${p.slug}.html` }),
        accuracyCell(c),
      ]);
    }
  }
  return {
    id: 'accuracy',
    figures: 'Each model build and precision of each run against its fp32 build on the machine that timed it (logit cosine mean, top-1 agreement, image-feature cosine): the verdict the run recorded. "not checked" is not a pass',
    columns: columns([['model', 'left'], ['precision', 'left'], ['scale', 'left'], ['board', 'left'], ['Run', 'left'], ['Accuracy vs fp32', 'left']]),
    rows,
    empty: '_No successful cell._',
  };
}

const gap = (what: string): TableCell => cell(`not recorded: ${what}`, { status: 'missing' });

/**
 * The board's state around the run's cells in a few words: how many cells differed from the run's
 * header (flagged on their figures) and whether the clocks were locked; "–" for a run on this
 * machine, a gap for a board run that did not record it.
 */
function boardStateCell(r: RunResult, boardRun: boolean): TableCell {
  const cells = r.cells.filter((c) => c.boardState);
  if (cells.length === 0) return boardRun ? gap('board state') : cell('–');
  const differed = cells.filter((c) => c.boardState!.differences.length);
  const unlocked = cells.filter((c) => unlockedClocks(c.boardState!.before).length).length;
  const text = [
    differed.length ? `${differed.length} of ${cells.length} cell(s) differed from the run's header: ${differed.map((c) => `${c.id} (${c.boardState!.differences.join('; ')})`).join('; ')}` : `${cells.length} cell(s) as the run's header`,
    unlocked ? `clocks not locked in ${unlocked === cells.length ? 'every cell' : `${unlocked} cell(s)`}` : 'clocks locked',
  ].join('; ');
  return cell(text, { status: differed.length || unlocked ? 'flagged' : 'measured' });
}

/** One row per run: software and hardware identity, workload, and the gaps. */
export function provenanceTable(runs: readonly PublishedRun[]): Table {
  const rows = runs.map((p) => {
    const r = p.result;
    const env = r.environment;
    const b = env.board ?? {};
    const ok = r.cells.filter((c) => c.status === 'ok');
    const failed = r.cells.length - ok.length;
    const notRun = r.plannedCells.length - r.cells.length;
    const models = [...new Set(r.cells.map((c) => c.model).filter((m) => m !== null).map((m) => `${m!.architecture} ${m!.synthetic ? '(SYNTHETIC weights)' : Object.keys(m!.hashes ?? {}).length ? '(hashed)' : '(not hashed)'}`))];
    const gaps: string[] = [];
    if (!env.git.revision) gaps.push('suite commit');
    if (r.cells.some((c) => c.model && !c.model.synthetic && !Object.keys(c.model.hashes ?? {}).length)) gaps.push('model hash');
    if (!THIS_MACHINE_TARGETS.includes(r.target) && !b['power.nvpmodel'] && !Object.keys(b).some((k) => k.startsWith('axera.'))) gaps.push('power mode / BSP');
    if (!r.cells.some((c) => c.probes?.power)) gaps.push('power measurement');
    const boardRun = drivenOverSsh(r);
    if (boardRun && ok.length && !ok.some((c) => c.boardState)) gaps.push('board state per cell');
    if (r.status !== 'complete') gaps.push(`run ${r.status}`);
    const sdk = b['jetpack.version'] ?? b['l4t.release'] ?? b['axera.bsp_version'] ?? b['axera.cmm_sdk'];
    return [
      cell(r.runId, { link: `runs/${p.slug}.html` }),
      cell(r.startedAt.slice(0, 16).replace('T', ' ')),
      cell(r.suite.name),
      cell(boardOf(r)),
      cell(`${env.host.cpu}, ${env.host.physicalCores} cores`),
      cell(backendOf(r)),
      sdk ? cell(sdk) : r.target === 'local' ? cell(`${env.os.distro} ${env.os.release}`) : gap('SDK/BSP'),
      models.length ? cell(models.join('; ')) : gap('model'),
      b['power.nvpmodel'] ? cell(b['power.nvpmodel']) : gap('power mode'),
      boardStateCell(r, boardRun),
      env.git.revision ? cell(`${env.git.revision.slice(0, 10)}${env.git.dirty ? ' (dirty)' : ''}`) : gap('commit'),
      cell(`${ok.length} ok, ${failed} failed, ${notRun} not run`, { status: failed || notRun ? 'flagged' : 'measured' }),
      gaps.length ? cell(gaps.join(', '), { status: 'missing' }) : cell('none'),
      cell('result.json', { link: `runs/${p.slug}.json` }),
    ];
  });
  return {
    id: 'runs',
    figures: 'One row per run: what it ran on and with. "not recorded" marks a fact the run did not record; Gaps lists what a defensible comparison needs and this run lacks',
    columns: columns([
      ['Run', 'left'], ['Date (UTC)', 'left'], ['Suite', 'left'], ['Board', 'left'], ['Host CPU', 'left'], ['Backend', 'left'], ['SDK / BSP / OS', 'left'],
      ['Model', 'left'], ['Power mode', 'left'], ['Board state', 'left'], ['Commit', 'left'], ['Cells', 'left'], ['Gaps', 'left'], ['Raw', 'left'],
    ]),
    rows,
  };
}

/**
 * Trends over dates and commits: per board, the workload (row) it ran most often, its figure in
 * every run of that workload in time order. Only when some board has runs on several dates or
 * commits.
 */
export function trendSection(runs: readonly PublishedRun[], grid: ComparisonGrid, metric: string, options: SiteOptions): Section | null {
  const boards = new Map<string, Array<{ run: PublishedRun; cell: CellResult; row: string }>>();
  for (const run of runs) {
    const board = boardOf(run.result);
    for (const c of run.result.cells) {
      const identity = cellIdentity(run.result, c).fields;
      // The row's dimensions and the column's other than the board (its runtime): one series never mixes two.
      const dims = [...grid.rowDims, ...grid.columnDims.filter((d) => d !== 'board')];
      const row = keyOf(dims.map((d) => ((DIMENSIONS as readonly string[]).includes(d) ? dimensionValue(run.result, c, d as Dimension) : identityText(identity[d as IdentityFieldName]))));
      const list = boards.get(board);
      if (list) list.push({ run, cell: c, row });
      else boards.set(board, [{ run, cell: c, row }]);
    }
  }
  const series: Array<{ board: string; row: string; points: Array<{ run: PublishedRun; cell: CellResult }> }> = [];
  for (const [board, entries] of boards) {
    const when = new Set(entries.map((e) => `${e.run.result.startedAt.slice(0, 10)} ${e.run.result.environment.git.revision ?? ''}`));
    if (when.size < 2) continue;
    const counts = new Map<string, number>();
    for (const e of entries) counts.set(e.row, (counts.get(e.row) ?? 0) + 1);
    const row = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
    const points = entries.filter((e) => e.row === row).sort((a, b) => a.run.result.startedAt.localeCompare(b.run.result.startedAt));
    series.push({ board, row, points });
  }
  if (series.length === 0 || !grid.rowKeys.length) return null;
  const def = metricDefinition(metric);
  const rows: TableCell[][] = [];
  for (const s of series) {
    for (const p of s.points) {
      rows.push([
        cell(s.board),
        cell(s.row),
        cell(p.run.result.startedAt.slice(0, 16).replace('T', ' ')),
        cell(p.run.result.environment.git.revision?.slice(0, 10) ?? 'not recorded', p.run.result.environment.git.revision ? {} : { status: 'missing' }),
        entryCell({ run: p.run, cell: p.cell, cellId: p.cell.id }, metric, 0),
      ]);
    }
  }
  const shown = series.slice(0, 10);
  const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  const chart: ChartSpec = {
    id: `trend-${metric}`,
    title: `${def?.label ?? metric} over time`,
    width: 1100,
    height: 480,
    config: {
      type: 'line',
      data: {
        datasets: shown.map((s, k) => ({
          label: `${s.board}: ${s.row}`,
          data: s.points.map((p) => ({ x: Date.parse(p.run.result.startedAt) / 86_400_000, y: p.cell.status === 'ok' ? (p.cell.metrics[metric]?.median ?? null) : null })),
          borderColor: palette[k % palette.length],
          backgroundColor: palette[k % palette.length],
          pointRadius: 4,
        })),
      },
      options: {
        plugins: {
          title: { display: true, text: `${def?.label ?? metric} (${def?.unit ?? ''}) over time, median per run`, font: { size: 18 } },
          subtitle: { display: true, text: `per board, its most-run workload${series.length > shown.length ? `; ${shown.length} of ${series.length} boards` : ''}`, font: { size: 12 } },
        },
        scales: { x: { type: 'linear', title: { display: true, text: 'days since 1970-01-01 (UTC)' } }, y: { beginAtZero: true, title: { display: true, text: def?.unit ?? '' } } },
      },
    },
  };
  return {
    id: `trend-${metric}`,
    heading: `Trend: ${def?.label ?? metric} over dates and commits`,
    notes: [],
    tables: [{ id: `trend-${metric}`, figures: `Each run of the workload a board ran most, in time order: ${FIGURE_FORMAT}`, columns: columns([['Board', 'left'], ['Workload', 'left'], ['Date (UTC)', 'left'], ['Commit', 'left'], [def?.label ?? metric, 'right']]), rows }],
    charts: [chart],
  };
}

/** The index as a report: comparison per metric, trends, runs with provenance, metric definitions. */
export function siteIndex(given: readonly PublishedRun[], options: SiteOptions): { report: Report; grid: ComparisonGrid } {
  // Runs read whole (not through indexView) get the intervals of the median older results lack.
  const runs = given.map((p) => ({ ...p, result: withMedianIntervals(p.result) }));
  const grid = comparisonGrid(runs, options);
  const sections: Section[] = options.metrics.map((metric) => {
    const t = comparisonTable(grid, metric, options);
    return { id: `compare-${metric}`, heading: t.caption!, notes: [], tables: [{ ...t, caption: undefined }], charts: [comparisonChart(t, metric, { rows: grid.rowDims, columns: grid.columnDims })] };
  });
  const trend = options.metrics[0] ? trendSection(runs, grid, options.metrics.includes('ttft_ms') ? 'ttft_ms' : options.metrics[0], options) : null;
  if (trend) sections.push(trend);
  const configurations = columnConfigurationTable(grid);
  if (configurations) sections.push({ id: 'column-configurations', heading: 'What each column measured', notes: [], tables: [configurations], charts: [] });
  sections.push({ id: 'accuracy', heading: 'Accuracy vs fp32', notes: [], tables: [accuracyTable(runs)], charts: [] });
  sections.push({ id: 'runs', heading: 'Runs and provenance', notes: [], tables: [provenanceTable(runs)], charts: [] });
  sections.push({
    id: 'definitions',
    heading: 'Metric definitions',
    notes: [],
    tables: [],
    charts: [],
    bullets: options.metrics.map((m) => {
      const d = metricDefinition(m)!;
      return `**${d.name}** (${d.label}, ${d.unit}, ${d.better} is better): ${d.description} Derived from ${d.derivedFrom}.`;
    }),
  });
  sections.push(legendSection(`Figures: ${FIGURE_FORMAT}.`));
  const boards = new Set(runs.map((r) => boardOf(r.result)));
  const suites = new Set(runs.map((r) => r.result.suite.name));
  const dates = runs.map((r) => r.result.startedAt.slice(0, 10)).sort();
  return {
    grid,
    report: {
      title: 'VLM edge benchmark results',
      facts: [
        `${runs.length} run(s), ${runs.reduce((s, r) => s + r.result.cells.length, 0)} cell(s), ${boards.size} board(s), suites ${[...suites].join(', ')}`,
        `Dates ${dates[0] ?? '–'} to ${dates[dates.length - 1] ?? '–'}`,
        `Rows: ${grid.rowDims.join(', ')}; columns: ${grid.columnDims.join(', ')}${grid.rowDims.length + grid.columnDims.length > options.rows.length + options.columns.length ? ' (identity fields the runs differ in are added, so no figure mixes two configurations)' : ''}`,
        `Every figure shares: ${grid.shared.map(([f, v]) => `${f} ${identityText(v)}`).join('; ') || 'no identity field'}`,
      ],
      notes: [`Every figure is a ${FIGURE_FORMAT}, measured unless marked composed; click a figure for its run. Every marker is in the legend at the end.`],
      sections,
      charts: [],
    },
  };
}
