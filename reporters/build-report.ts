/**
 * buildReport: a RunResult -> the report model (report-model.ts). Reads nothing but the result
 * and the metric registry: the roofline comes from the record the run stored (result.roofline),
 * never from disk. Every table says what its figures are; composed figures say so.
 */
import { metricDefinition, METRICS, TTFT_PARTS } from '../core/metric-registry.ts';
import { runnerCan } from '../runners/registry.ts';
import type { CellResult, RunResult } from '../core/result-types.ts';
import type { AxisValue } from '../core/suite-types.ts';
import { axeraSections, composedStat, hasComposedFigures } from './report-axera.ts';
import { decodeChart, powerCharts, subgraphChart, ttftChart } from './report-charts.ts';
import { rooflineSectionModel } from './report-roofline.ts';
import { workloadSection } from './workload.ts';
import { boardLines, boardStateBullets, boardStateSummary, drivenOverSsh } from './board-facts.ts';
import { addBoardColumns, boardCell, cellBoards, onBoard, shardFacts } from './cell-boards.ts';
import { accuracyCell, cellSource, flagTexts, metricMedianCell, metricSource, metricSourcesNote, fmtInterval, INTERVAL_LABELS, medianCell, withMedianIntervals, type StoredStats } from './figures.ts';
import { legendSection, markerText, MIN_VALUES_FOR_MEDIAN_INTERVAL } from './markers.ts';
import { fmt, fmtBytes } from './format.ts';
import { cell, columns, type Report, type Section, type Table, type TableCell } from './report-model.ts';

/** Rows beyond this in one table go to a CSV beside report.md (the table says so). */
export const MAX_TABLE_ROWS = 2000;

const KNOWN_AXES = new Set(['images', 'prefill', 'precision']);

export const okCells = (result: RunResult): CellResult[] => result.cells.filter((c) => c.status === 'ok');

/** A server somewhere else (the endpoint runner): its hardware is not this machine's. */
export const isRemoteServer = (result: RunResult): boolean => runnerCan(result.suite.definition.runner, 'measuresRemoteServer');

function otherAxes(c: CellResult): string {
  return Object.entries(c.params)
    .filter(([k]) => !KNOWN_AXES.has(k))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
}

export function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

const byNumber = (a: AxisValue | undefined, b: AxisValue | undefined): number => Number(a ?? 0) - Number(b ?? 0);
const text = (t: string): TableCell => cell(t);
const ms = (n: string): string => `${n} ms`;

/** Measured (non-warm-up) iterations of a cell, successful or not. */
const measuredIterations = (c: CellResult): number => c.iterations.filter((i) => !i.warmup).length;

/** "3" or "3–8": the range of a count over cells. */
function range(values: readonly number[]): string {
  if (values.length === 0) return '0';
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo === hi ? String(lo) : `${lo}–${hi}`;
}

/** The program a tool-reported cell parsed its figures from, and the parser ("llama-mtmd-cli, parser llamacpp"). */
function toolOf(c: CellResult): string {
  const program = c.settings['program'];
  const parser = c.settings['parser'];
  // Results that name no program say it in their timing sentence: "the demo's own log (ax-llm)".
  const named = typeof program === 'string' ? program : /\(([\w.-]+)\)/.exec(String(c.settings['timing'] ?? ''))?.[1];
  return [named ?? 'the tool', typeof parser === 'string' ? `parser ${parser}` : ''].filter(Boolean).join(', ');
}

/** What a table of per-cell medians rests on: "medians of 3–8 measured iterations per cell". */
export function mediansOf(cells: readonly CellResult[], metric = 'ttft_ms'): string {
  const ns = cells.map((c) => c.metrics[metric]?.n ?? c.metrics['e2e_ms']?.n ?? measuredIterations(c));
  const sources = new Set(cells.map(cellSource));
  const parts: string[] = [];
  if (sources.has('composed')) parts.push('COMPOSED figures (Axera method: sums of ax_run_model per-graph averages, not measured end to end)');
  if (sources.has('tool-reported')) {
    const tools = [...new Set(cells.filter((c) => cellSource(c) === 'tool-reported').map(toolOf))].join('; ');
    parts.push(`TOOL-REPORTED figures (the durations ${tools} printed about itself, parsed from its output; this run's clock timed only each whole command)`);
  }
  if (sources.has('measured')) parts.push(sources.size > 1 ? 'the other cells measured on the run\'s clock' : 'Measured on the run\'s clock');
  const unit = sources.size === 1 && sources.has('composed') ? 'composition(s)' : 'successful measured iteration(s)';
  const own = metricSourcesNote(cells, false);
  return `${parts.join('; ')}: medians of ${range(ns)} ${unit} per cell${own ? `. Per figure: ${own}` : ''}`;
}

/** Tables that grow with the cell count: report.md shows the first rows, tables/<id>.csv all. */
function bounded(t: Table): Table {
  return { ...t, display: { maxRows: MAX_TABLE_ROWS, rest: `all rows in tables/${t.id}.csv` } };
}

function promptTokens(c: CellResult): { tokens: number; expected: boolean } | undefined {
  const first = c.iterations.find((i) => !i.warmup);
  // A runner that cannot know the count records NaN (null once read back from JSON).
  const counted = first?.promptTokens;
  if (typeof counted === 'number' && Number.isFinite(counted)) return { tokens: counted, expected: false };
  const expected = first?.reported?.['expected.prompt_tokens'] ?? first?.reported?.['composed.prompt_tokens'];
  return typeof expected === 'number' ? { tokens: expected, expected: true } : undefined;
}

/** Decode figures: measured TPOT when the cell decoded, else the composition's decoder figure. */
function decodeCells(c: CellResult): [TableCell, TableCell] {
  const m = c.metrics as Record<string, StoredStats>;
  if (m['tpot_ms']) return [metricMedianCell(c, 'tpot_ms', ms), metricMedianCell(c, 'decode_tokens_per_s', (n) => `${n} tokens/sec`, 2)];
  const dec = composedStat(c, 'composed.decoder_ms', 'ms');
  const tps = composedStat(c, 'composed.tokens_per_s', 'tokens/s');
  if (dec) return [medianCell(dec, 'composed', (n) => `${n} ms (composed)`), medianCell(tps, 'composed', (n) => `${n} tokens/sec (composed)`, 2)];
  return [medianCell(undefined, 'measured', ms), medianCell(undefined, 'measured')];
}

/**
 * TTFT (end to end). A tool-reported cell's TTFT is the tool's phases laid back to back (nothing
 * between them was timed), so it is a composition of reported figures, and says so.
 */
function ttftCell(c: CellResult): TableCell {
  const source = metricSource(c, 'ttft_ms');
  const m = c.metrics as Record<string, StoredStats>;
  if (source !== 'tool-reported') return medianCell(m['ttft_ms'], source, ms);
  const figure = medianCell(m['ttft_ms'], 'composed', (n) => `${n} ms (sum of the tool's phases)`);
  return figure.status === 'composed' ? { ...figure, note: `image encode + prefill as ${toolOf(c)} reported them; the time between them was not measured` } : figure;
}

/** The seed's Axera table layout, one table per precision (and per extra-axis combination). */
export function summaryTables(result: RunResult): Table[] {
  const ok = okCells(result);
  const remote = isRemoteServer(result);
  const prefills = new Set(ok.map((c) => String(c.params['prefill'] ?? '')));
  const groups = groupBy(ok, (c) =>
    [String(c.params['precision'] ?? 'default'), prefills.size > 1 ? `${String(c.params['prefill'])} text tokens` : '', otherAxes(c)].filter(Boolean).join(', '),
  );
  const tables: Table[] = [];
  for (const [group, cells] of groups) {
    cells.sort((a, b) => byNumber(a.params['images'], b.params['images']) || byNumber(a.params['prefill'], b.params['prefill']));
    // A column no cell of the table can fill is left out (an endpoint reports no image encoding).
    const hasEncoder = cells.some((c) => c.metrics['image_encode_ms']);
    const composedBeside = cells.some((c) => cellSource(c) !== 'composed' && hasComposedFigures(c));
    // The accuracy verdict of the run's quantised cells, beside their figures (every row says, fp32 too).
    const withAccuracy = result.cells.some((c) => c.accuracy);
    // A result merged from several boards' shards: which board measured each row.
    const boards = cellBoards(result);
    const rows = cells.map((c) => {
      const m = c.metrics as Record<string, StoredStats>;
      const prompt = promptTokens(c);
      const promptText = prompt ? `${prompt.tokens} tokens${prompt.expected ? ', from the prompt geometry' : ''}` : '? tokens';
      const row = [
        // Images the model saw: a video's frames count (the Axera table's video row is "8").
        text(String(c.iterations.find((i) => !i.warmup)?.images ?? c.params['images'] ?? 0)),
        ...(hasEncoder ? [m['image_encode_ms'] ? metricMedianCell(c, 'image_encode_ms', ms) : text('–')] : []),
        ...(remote ? [] : [metricMedianCell(c, 'prefill_ms', (n) => `${n} ms (${promptText})`)]),
        ttftCell(c),
        ...decodeCells(c),
      ];
      if (remote) row.splice(1, 0, text(prompt ? String(prompt.tokens) : '?'));
      if (composedBeside) {
        row.push(
          medianCell(composedStat(c, 'composed.prefill_ttft_ms', 'ms'), 'composed', ms),
          medianCell(composedStat(c, 'composed.decoder_ms', 'ms'), 'composed', ms),
          medianCell(composedStat(c, 'composed.tokens_per_s', 'tokens/s'), 'composed', (n) => `${n} tokens/sec`, 2),
        );
      }
      if (withAccuracy) row.push(accuracyCell(c));
      if (boards) row.push(boardCell(boards, c.id));
      return row;
    });
    const cols: Array<[string, 'right']> = remote
      ? [['Image num', 'right'], ['Prompt tokens', 'right'], ['TTFT (end to end)', 'right'], ['TPOT', 'right'], ['tokens/s', 'right']]
      : [
          ['Image num', 'right'],
          ...(hasEncoder ? [['ImageEncoder', 'right'] as [string, 'right']] : []),
          ['Prefill TTFT', 'right'],
          ['TTFT (end to end)', 'right'],
          ['Decoder', 'right'],
          ['tokens/s', 'right'],
        ];
    if (composedBeside) cols.push(['Prefill TTFT (composed)', 'right'], ['Decoder (composed)', 'right'], ['tokens/s (composed)', 'right']);
    const allCols: Array<[string, 'right' | 'left']> = [...cols, ...(withAccuracy ? [['Accuracy vs fp32', 'left'] as [string, 'left']] : []), ...(boards ? [['Board', 'left'] as [string, 'left']] : [])];
    tables.push({
      id: `summary-${tables.length}`,
      caption: group,
      figures: `${mediansOf(cells)}${composedBeside ? '; the "(composed)" columns are the Axera composition of the same cell from per-graph averages, beside the run\'s own figures' : ''}`,
      columns: columns(allCols),
      rows,
    });
  }
  return tables;
}

/** Request-level throughput and goodput (one value per cell over its busy time). */
export function throughputTable(result: RunResult): Table | null {
  // The registry's metrics with the role `serving`: request-level figures (one per cell) first, then the per-chunk ones.
  const serving = METRICS.filter((d) => d.roles.includes('serving'));
  const names = [...serving.filter((d) => d.scope === 'cell'), ...serving.filter((d) => d.scope !== 'cell')].map((d) => d.name);
  const cells = okCells(result).filter((c) => names.some((n) => c.metrics[n]));
  if (cells.length === 0 || !cells.some((c) => c.metrics['request_throughput'])) return null;
  const present = names.filter((n) => cells.some((c) => c.metrics[n]));
  const rows = cells.map((c) => [
    text(c.id),
    ...present.map((n) => {
      const def = metricDefinition(n);
      return metricMedianCell(c, n, (v) => (def?.unit === 'fraction' ? v : `${v} ${def?.unit ?? ''}`.trim()), def?.digits);
    }),
  ]);
  return {
    id: 'throughput',
    figures: 'Throughput and goodput: one value per cell, completed requests (or tokens) over the cell\'s busy time; chunk ITL: median of the gaps between streamed chunks over all requests (n = gaps)',
    columns: columns([['Cell', 'left'], ...present.map((n): [string, 'right'] => [metricDefinition(n)?.label ?? n, 'right'])]),
    rows,
  };
}

/**
 * Per-subgraph latency: per invocation and per request, and the graph's share of the request.
 * Medians do not add up, so shares are of the sum of the medians shown (every graph, plus the
 * request's time outside any graph when there is some): they add up to 100%.
 */
export function subgraphTable(result: RunResult): Table {
  const rows: TableCell[][] = [];
  const cells = okCells(result).filter((c) => Object.keys(c.subgraphs).length);
  for (const c of cells) {
    const source = cellSource(c);
    const e2e = c.metrics['e2e_ms']?.median;
    const entries = Object.entries(c.subgraphs).sort(([, a], [, b]) => b.perRequest.median - a.perRequest.median);
    const inGraphs = entries.reduce((s, [, g]) => s + g.perRequest.median, 0);
    const outside = e2e !== undefined ? Math.max(0, e2e - inGraphs) : 0;
    const whole = inGraphs + outside;
    const share = (v: number): TableCell => (whole > 0 ? cell(`${fmt((v / whole) * 100, 1)}%`, { value: (v / whole) * 100, unit: '%', status: 'derived' }) : text('–'));
    for (const [key, s] of entries) {
      rows.push([
        text(c.id),
        text(key),
        text(fmt(s.invocationsPerRequest, 0)),
        medianCell(s.perInvocation, source),
        text(fmt(s.perInvocation.p90)),
        medianCell(s.perRequest, source),
        share(s.perRequest.median),
      ]);
    }
    if (outside > 0) rows.push([text(c.id), text('(outside any graph)'), text('–'), text('–'), text('–'), cell(fmt(outside), { value: outside, unit: 'ms', status: 'derived' }), share(outside)]);
  }
  return bounded({
    id: 'subgraphs',
    figures: `${mediansOf(cells)} (per call: all calls of those iterations). Share of request = the graph's median per request / the sum of this cell's medians per request (graphs + time outside any graph), so each cell's shares add up to 100%`,
    columns: columns([['Cell', 'left'], ['Graph / phase', 'left'], ['Calls per request', 'right'], ['Per call median (ms)', 'right'], ['Per call p90 (ms)', 'right'], ['Per request median (ms)', 'right'], ['Share of request', 'right']]),
    rows,
    empty: '_No subgraph timings._',
  });
}

/**
 * Each phase's share of TTFT, from medians as every other table. TTFT (end to end) =
 * preprocess + image encode + prefill + the time between them ("other": runner overhead,
 * sampling of the first token). Medians need not add up; when the phase medians exceed the TTFT
 * median, shares are of their sum and "other" is 0.
 */
export function phaseShareTable(result: RunResult): Table {
  // The parts are the registry's (role ttft-part); a column is named after its metric without the unit suffix.
  const phases = TTFT_PARTS;
  const phaseName = (metric: string) => metric.replace(/_ms$/, '');
  const cells = okCells(result).filter((c) => c.metrics['ttft_ms']);
  const rows = cells.map((c) => {
    const ttft = c.metrics['ttft_ms']!.median;
    const parts = phases.map((p) => c.metrics[p]?.median ?? 0);
    const known = parts.reduce((s, v) => s + v, 0);
    const other = Math.max(0, ttft - known);
    const whole = known + other;
    const share = (v: number, metric?: string): TableCell => {
      if (!(whole > 0)) return text('–');
      // The share of a figure composed inside a measured TTFT is composed too, and says so.
      const composed = metric !== undefined && cellSource(c) !== 'composed' && metricSource(c, metric) === 'composed';
      return cell(`${fmt((v / whole) * 100, 1)}%`, { value: (v / whole) * 100, unit: '%', status: composed ? 'composed' : 'derived', ...(composed ? { marks: ['composed' as const] } : {}) });
    };
    // A tool's phases are laid back to back, and a composed split gives one phase the rest of
    // TTFT: either way the time between them was never seen, so no "other".
    const composedSplit = phases.some((p) => c.metrics[p] && cellSource(c) !== 'composed' && metricSource(c, p) === 'composed');
    const notSeen =
      cellSource(c) === 'tool-reported'
        ? cell('not measured', { status: 'missing', note: "the tool's phases are laid back to back; the time between them was not timed" })
        : composedSplit
          ? cell('not measured', { status: 'missing', note: 'the phases are a composed split of TTFT: the time between them is inside the composed phase' })
          : undefined;
    return [text(c.id), ttftCell(c), ...parts.map((v, i) => share(v, phases[i])), notSeen ?? share(other)];
  });
  return bounded({
    id: 'ttft-shares',
    figures: `${mediansOf(cells)}. TTFT (end to end) = ${phases.map((p) => phaseName(p).replace(/_/g, ' ')).join(' + ')} + other (time between the phases: runner overhead, the first token's sampling), so ImageEncoder + Prefill TTFT is less than TTFT by preprocess + other${cells.some((c) => cellSource(c) === 'tool-reported') ? "; for tool-reported cells TTFT is the tool's phases summed and \"other\" was not measured" : ''}. Shares are of the sum of the medians shown and add up to 100%`,
    columns: columns([['Cell', 'left'], ['TTFT median', 'right'], ...phases.map((p): [string, 'right'] => [phaseName(p), 'right']), ['other', 'right']]),
    rows,
  });
}

/** The idle power of a cell and how it was measured: "12.48 (19 samples over 1.96 s)", or why there is none. */
function idleCell(c: CellResult): TableCell {
  const b = c.probes?.power?.baseline;
  const stats = (c.metrics as Record<string, StoredStats>)['power_idle_w'];
  if (!b || !stats) {
    const asked = c.probes?.baselineWindow;
    return cell('not measured', { status: 'missing', note: asked ? 'too few power samples in the idle window' : 'no idle window before the cell (--baseline 0)' });
  }
  const spread = `, sd ${fmt(b.stdevWatts, 2)} W`;
  return cell(`${fmt(b.watts, 2)} (${b.samples} samples over ${fmt(b.durationMs / 1000, 2)} s${spread})`, { value: b.watts, unit: 'W', n: b.samples, status: 'measured' });
}

/**
 * Power and energy per phase, with the sampling they rest on, and the throttling watch. Every
 * energy figure is shown twice: as the power reading measures it (idle power included: on a
 * Jetson's VDD_IN, the whole board) and above the idle power measured before the cell.
 */
export function energyTable(result: RunResult): Table | null {
  const cells = result.cells.filter((c) => c.probes);
  if (cells.length === 0) return null;
  const rows = cells.map((c) => {
    const p = c.probes!;
    const interval = p.runs.map((r) => `${r.probe} ${r.samples} @ ${r.intervalMs} ms`).join(', ');
    const t = p.thermal;
    // The power is read by the probe; a phase's energy also rests on the phase's window, so it
    // is composed (or tool-reported) where that window is.
    const f = (name: string) => metricMedianCell(c, name);
    return [
      text(c.id),
      text(p.power?.basis ?? 'no power reading'),
      idleCell(c),
      f('power_image_encode_w'),
      f('image_encode_j_per_image'),
      f('image_encode_net_j_per_image'),
      f('power_prefill_w'),
      f('energy_prefill_j'),
      f('energy_prefill_net_j'),
      f('power_decode_w'),
      f('decode_j_per_token'),
      f('decode_net_j_per_token'),
      text(interval),
      text(t.maxTempC === null ? '–' : `${fmt(t.maxTempC, 1)} °C (${t.maxTempSensor})`),
      c.throttled ? cell(`throttled: ${(c.throttleReasons ?? []).join('; ')}`, { status: 'flagged' }) : text('no'),
    ];
  });
  const toolWindows = cells.some((c) => cellSource(c) !== 'measured')
    ? `; for ${cells.every((c) => cellSource(c) !== 'measured') ? 'these' : 'tool-reported and composed'} cells the phase windows are the tool's durations placed on the run clock (laid back to back, ending when the command exited), not timed by it`
    : '';
  return bounded({
    id: 'energy',
    figures:
      `Power measured; medians over ${range(cells.map(measuredIterations))} measured iteration(s) per cell. ` +
      '"incl. idle": the power reading as it is (the basis column: VDD_IN is the whole board\'s input), idle power included; ' +
      '"above idle": minus the idle power x the phase\'s duration, what the work adds. ' +
      `"Idle W": the same reading sampled with nothing running before each cell (time-weighted mean of the idle window, its samples and spread)${toolWindows}`,
    columns: columns([
      ['Cell', 'left'], ['Power basis', 'left'], ['Idle W', 'right'], ['Encode W', 'right'], ['J/image incl. idle', 'right'], ['J/image above idle', 'right'],
      ['Prefill W', 'right'], ['Prefill J incl. idle', 'right'], ['Prefill J above idle', 'right'], ['Decode W', 'right'], ['J/token incl. idle', 'right'],
      ['J/token above idle', 'right'], ['Samples', 'left'], ['Max temp', 'right'], ['Throttling', 'left'],
    ]),
    rows,
  });
}

/** Kernel time per operator type of each graph, from the runtime's profiler (`--ort-profile`). */
export function operatorTable(result: RunResult, top = 8): Table | null {
  const rows: TableCell[][] = [];
  for (const c of result.cells) {
    for (const [graph, ops] of Object.entries(c.operatorProfile?.graphs ?? {})) {
      for (const o of ops.slice(0, top)) rows.push([c.id, graph, o.op, String(o.calls), fmt(o.totalMs), `${fmt(o.share * 100, 1)}%`].map(text));
    }
  }
  if (rows.length === 0) return null;
  return bounded({
    id: 'operators',
    figures: `Measured by the runtime's profiler: kernel time summed over all iterations of the cell; the ${top} operator types with the most time per graph`,
    columns: columns([['Cell', 'left'], ['Graph', 'left'], ['Operator', 'left'], ['Calls', 'right'], ['Kernel time (ms)', 'right'], ['Share of graph', 'right']]),
    rows,
  });
}

/** Registry order (the order metrics are defined in), then families by name. */
function metricOrder(name: string): number {
  const i = METRICS.findIndex((d) => d.name === name);
  return i >= 0 ? i : METRICS.length;
}

/** Every metric of every cell with its full statistics, the spread flags and the outliers. */
export function statisticsTable(result: RunResult): Table {
  const rows: TableCell[][] = [];
  const cells = okCells(result);
  for (const c of cells) {
    const names = Object.keys(c.metrics).sort((a, b) => metricOrder(a) - metricOrder(b) || a.localeCompare(b));
    for (const name of names) {
      const s = c.metrics[name] as StoredStats;
      const outliers = c.outliers?.[name]?.length ?? 0;
      const median = metricMedianCell(c, name);
      rows.push([
        text(c.id),
        text(name),
        text(s.unit),
        text(String(s.n)),
        median,
        text(fmt(s.mean)),
        text(fmt(s.p90)),
        text(fmt(s.p99)),
        text(fmt(s.stdev)),
        text(fmtInterval(s)),
        outliers ? cell(String(outliers), { value: outliers, status: 'flagged', note: `iterations ${c.outliers![name]!.join(', ')} outside Tukey's fences (kept)` }) : text('0'),
      ]);
    }
  }
  return bounded({
    id: 'statistics',
    figures: `Statistics of each cell's successful measured iterations (n per row; per-cell metrics have n = 1). Interval: [a–b] is the ${INTERVAL_LABELS['median-ci']} where n >= ${MIN_VALUES_FOR_MEDIAN_INTERVAL}; (range a–b) is min–max where fewer values allow no interval of the median. Outliers: iterations outside Tukey's fences, kept in every figure`,
    columns: columns([['Cell', 'left'], ['Metric', 'left'], ['Unit', 'left'], ['n', 'right'], ['median', 'right'], ['mean', 'right'], ['p90', 'right'], ['p99', 'right'], ['stdev', 'right'], ['Interval', 'right'], ['Outliers', 'right']]),
    rows,
  });
}

function modelLines(result: RunResult): string[] {
  const seen = new Map<string, string>();
  for (const c of result.cells) {
    const m = c.model;
    if (!m) continue;
    const key = `${m.architecture} ${m.precision}`;
    if (seen.has(key)) continue;
    const hashes = Object.entries(m.hashes ?? {});
    const hashNote = typeof c.settings['hashNote'] === 'string' ? `: ${c.settings['hashNote']}` : '';
    const label = m.synthetic
      ? `**SYNTHETIC WEIGHTS** (random values, seed ${m.seed ?? '?'}, real architecture; not a trained model)`
      : hashes.length
        ? `weights from files (${hashes.map(([f, h]) => `${f} sha256 ${h.slice(0, 12)}`).join(', ')})`
        : `weights not hashed${hashNote || ' (they live on the target or the server)'}`;
    const size = m.sizes ? `, ${fmtBytes(Object.values(m.sizes).reduce((s, v) => s + v, 0))} on disk` : '';
    seen.set(key, `${m.architecture}, ${m.precision}, layout ${m.layout}${m.scale ? `, scale ${m.scale}` : ''}${size}: ${label}`);
  }
  return [...seen.values()];
}

/** The options as they ran: the iteration counts actually measured, not the minimum asked for. */
function optionsLine(result: RunResult): string {
  const o = result.options;
  const counts = result.cells.map(measuredIterations);
  const parts = [`${o.warmup} warm-up + ${range(counts.length ? counts : [o.iterations])} measured iteration(s) per cell`];
  if (o.adaptive) {
    // Results before `metrics` existed stopped on the interval of one metric's mean.
    const keys = o.adaptive.metrics?.length ? `the median of ${o.adaptive.metrics.join(' and ')}` : (o.adaptive.metric ?? 'ttft_ms');
    parts.push(`adaptive: until the 95% CI of ${keys} is within ±${o.adaptive.targetCiPct}% (at least ${o.iterations}, at most ${o.adaptive.maxIterations} iterations, ${o.adaptive.maxCellSeconds} s per cell)`);
  }
  parts.push(`${o.outputTokens} output tokens`, `${o.threads} thread(s)`);
  parts.push(o.order === 'shuffled' ? `cells in shuffled order (seed ${o.shuffleSeed ?? '?'})` : 'cells in matrix order');
  if (o.cooldownSeconds) parts.push(`${o.cooldownSeconds} s cool-down between cells`);
  if (o.ortProfile) parts.push('runtime profiler ON (timings include its overhead)');
  if (o.probes?.names.length) parts.push(`probes ${o.probes.names.join(', ')} every ${o.probes.intervalMs} ms`);
  if (o.filters.length) parts.push(`filters ${o.filters.join(' ')}`);
  return `Options: ${parts.join(', ')}`;
}

function introNotes(result: RunResult): string[] {
  const cells = okCells(result);
  const sources = new Set(cells.map(cellSource));
  const sentences: string[] = [];
  if (sources.has('composed')) {
    sentences.push(
      sources.size === 1
        ? 'Every timing below is COMPOSED (Axera method): built from ax_run_model per-graph averages, not measured end to end; each table says so.'
        : 'Some cells are COMPOSED (Axera method: built from ax_run_model per-graph averages, not measured end to end); each table and cell says which.',
    );
  }
  if (sources.has('tool-reported')) {
    const tools = [...new Set(cells.filter((c) => cellSource(c) === 'tool-reported').map(toolOf))].join('; ');
    sentences.push(
      `${sources.size === 1 ? 'Every timing below is' : 'Some cells\' timings are'} TOOL-REPORTED: the durations the program printed about itself (${tools}), parsed from its output; this run's clock timed only each whole command, so their "TTFT (end to end)" is the tool's phases summed (composed), with nothing measured between them.`,
    );
  }
  const own = metricSourcesNote(cells);
  if (own) sentences.push(`Some figures are COMPOSED although their cell is measured (marked "composed" where they appear): ${own}.`);
  if (sources.has('measured') || sources.size === 0) {
    sentences.push(
      sources.size <= 1
        ? "Figures are measured on this run's monotonic clock; each table says what its figures are (medians of how many iterations)."
        : "The other cells are measured on this run's monotonic clock.",
    );
  }
  const what = sentences.join(' ');
  if (isRemoteServer(result)) {
    return [`${what} "TTFT (end to end)" is request sent to first content token (upload, image encoding, prefill and the first token on the server, and the network). TPOT = (t_last − t_first) / (n_output − 1).`];
  }
  const ttft = sources.size === 1 && sources.has('tool-reported')
    ? '"TTFT (end to end)" is image encoding + prefill as the tool reported them, laid back to back'
    : '"TTFT (end to end)" adds preprocessing, image encoding and the time between phases, so ImageEncoder + Prefill TTFT is less than TTFT (see Share of TTFT)';
  return [
    `${what} "Prefill TTFT" is the prefill phase alone (embedding, decoder over the whole prompt, lm_head for the first token), as in the Axera table; ${ttft}. "Decoder" is TPOT = (t_last − t_first) / (n_output − 1).`,
  ];
}

/** Busy-machine and noisy-cell flags the run set, summarised where a reader starts. */
function noiseBullets(result: RunResult): string[] {
  const flagged = new Map<string, string[]>();
  let outlierCells = 0;
  for (const c of okCells(result)) {
    for (const [name, s] of Object.entries(c.metrics as Record<string, StoredStats>)) {
      for (const f of flagTexts(s)) {
        const list = flagged.get(f);
        if (list) list.push(`${c.id} ${name}`);
        else flagged.set(f, [`${c.id} ${name}`]);
      }
    }
    if (Object.values(c.outliers ?? {}).some((l) => l.length)) outlierCells += 1;
  }
  const out = [...flagged].map(([flag, where]) => `${flag}: ${where.length} figure(s)${where.length <= 5 ? ` (${where.join('; ')})` : ''}`);
  // How each cell stopped measuring and what the machine did meanwhile (CellResult.stopping, .machine).
  for (const c of okCells(result)) {
    if (!c.stopping && !c.machine) continue;
    const widths = Object.entries(c.stopping?.halfWidthPct ?? {}).map(([m, w]) => `${m} ${w === null ? 'no interval (n < 6)' : `±${w.toFixed(1)}%`}`).join(', ');
    const m = c.machine;
    const machine = m
      ? `load ${m.loadAvg1Before.toFixed(1)} -> ${m.loadAvg1After.toFixed(1)} on ${m.cpus} CPU(s)${m.stealPct !== null ? `, steal ${m.stealPct.toFixed(1)}%` : ''}${m.runQueueWaitPct !== null ? `, run-queue wait ${m.runQueueWaitPct.toFixed(0)}%` : ''}`
      : '';
    out.push(`${c.id}: ${c.stopping ? `stopped by ${c.stopping.rule} after ${c.stopping.measured} iterations${widths ? ` (95% CI of the median: ${widths})` : ''}` : ''}${c.stopping && machine ? '; ' : ''}${machine}`);
  }
  if (outlierCells) out.push(`${outlierCells} cell(s) have outlier iterations (outside Tukey's fences), kept in every figure: see the Outliers column of Statistics.`);
  return out;
}

export function buildReport(stored: RunResult): Report {
  const result = withMedianIntervals(stored);
  const env = result.environment;
  const failed = result.cells.filter((c) => c.status === 'failed');
  const present = new Set(result.cells.map((c) => c.id));
  const missing = result.plannedCells.filter((id) => !present.has(id));
  const sections: Section[] = [];
  const section = (id: string, heading: string, parts: Partial<Section>): void => {
    sections.push({ id, heading, notes: [], tables: [], charts: [], ...parts });
  };
  const summary = summaryTables(result);
  const summaryCharts = [ttftChart(result, summary), decodeChart(result, summary)].filter((c) => c !== null);
  section('summary', isRemoteServer(result) ? 'Summary' : 'Summary (Axera table layout)', summary.length ? { tables: summary, charts: summaryCharts } : { notes: ['_No successful cell._'] });
  const workload = workloadSection(result);
  if (workload) sections.push(workload);
  const noise = noiseBullets(result);
  if (noise.length) section('noise', 'Noise and flags', { notes: ['Figures the run flagged are marked in every table (the legend at the end says what each marker means); their intervals are wide, they rest on few values, or the machine was loaded while they were measured.'], bullets: noise });
  const boardState = boardStateBullets(result);
  if (boardState.length) {
    section('board-state', 'Board state', {
      notes: ["Cells whose board state, read on the board around them, differed from the Board line of the header (the run's state before its first cell). Their figures carry `~power-mode` or `~clocks`; the rest of the cells ran as the header says."],
      bullets: boardState,
    });
  }
  sections.push(...axeraSections(result));
  const throughput = throughputTable(result);
  if (throughput) section('throughput', 'Throughput, goodput and chunk ITL', { tables: [throughput] });
  if (!isRemoteServer(result)) {
    const sub = subgraphTable(result);
    const chart = subgraphChart(result);
    section('subgraphs', 'Per-subgraph latency', { tables: [sub], charts: chart ? [chart] : [] });
    section('ttft-shares', 'Share of TTFT by phase', { tables: [phaseShareTable(result)] });
  }
  const energy = energyTable(result);
  if (energy) {
    section('energy', 'Power and energy', {
      notes: [
        'Energy integrates instantaneous power samples (trapezoid, edges interpolated) over each phase window on the run clock; a tool\'s running average is never integrated. ' +
          'Sampling goes on past the end of each cell\'s last iteration, so every window ends between two readings.',
      ],
      tables: [energy],
      charts: powerCharts(result),
    });
  }
  const operators = operatorTable(result);
  if (operators) {
    section('operators', 'Time per operator (ONNX Runtime profiler)', {
      notes: ['Profiling slows a run, so compare these shares, not the latencies above, with unprofiled runs.'],
      tables: [operators],
    });
  }
  section('statistics', 'Statistics', { tables: [statisticsTable(result)] });
  const boards = cellBoards(result);
  if (failed.length) section('failed', 'Failed cells', { bullets: failed.map((c) => `${c.id}${onBoard(boards, c)}: ${markerText('failed')}: ${c.error ?? 'no reason recorded'}`) });
  if (missing.length) section('not-run', 'Not run', { bullets: missing });
  if (result.warnings.length) section('warnings', 'Warnings', { bullets: result.warnings });
  sections.push(rooflineSectionModel(result, isRemoteServer(result)));
  if (boards) addBoardColumns(sections, boards);
  sections.push(legendSection(`Figures are medians; where a table shows an interval, [a–b] is the ${INTERVAL_LABELS['median-ci']} and (range a–b) the min–max of fewer than ${MIN_VALUES_FOR_MEDIAN_INTERVAL} values.`));
  return {
    title: `${result.suite.name} — run ${result.runId}`,
    facts: [
      `Target: ${result.target}; ${drivenOverSsh(result) ? 'driver host (the machine running bench, not the board; threads and peak RSS are its own)' : 'host'} ${env.host.cpu} (${env.host.physicalCores} physical cores, ${fmtBytes(env.host.memoryBytes)}), ${env.os.distro} ${env.os.release}, ${env.host.arch}${isRemoteServer(result) ? ' (the benchmarking client: the server runs elsewhere)' : ''}`,
      ...shardFacts(result),
      ...boardLines(result),
      ...boardStateSummary(result),
      `Versions: ${Object.entries(env.versions).map(([k, v]) => `${k} ${v}`).join(', ')}; git ${env.git.revision?.slice(0, 10) ?? 'unknown'}${env.git.dirty ? ' (dirty)' : ''}`,
      optionsLine(result),
      `Status: ${result.status}; ${result.cells.length - failed.length} cell(s) ok, ${failed.length} failed${missing.length ? `, ${missing.length} not run` : ''}`,
      ...modelLines(result),
      ...(result.cells.some((c) => c.accuracy) ? [] : ['Accuracy vs fp32: not checked in this run (the gate checks quantised zoo models): no cell\'s outputs were verified']),
    ],
    notes: introNotes(result),
    sections,
    charts: [],
  };
}


