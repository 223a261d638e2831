/**
 * buildReport: a RunResult -> the report model (report-model.ts). Reads nothing but the result:
 * the roofline comes from the record the run stored (result.roofline), never from disk.
 */
import type { CellResult, RooflineRecordRow, RunResult } from '../core/result-types.ts';
import type { AxisValue } from '../core/suite-types.ts';
import type { Calibration, Figure } from '../core/calibration-types.ts';
import { fmt, fmtBytes, fmtCi, fmtStat } from './format.ts';
import { cell, columns, type Report, type Section, type Table, type TableCell } from './report-model.ts';

const KNOWN_AXES = new Set(['images', 'prefill', 'precision']);

const okCells = (result: RunResult): CellResult[] => result.cells.filter((c) => c.status === 'ok');

function otherAxes(c: CellResult): string {
  return Object.entries(c.params)
    .filter(([k]) => !KNOWN_AXES.has(k))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
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

/** The seed's Axera table layout, one table per precision (and per extra-axis combination). */
export function summaryTables(result: RunResult): Table[] {
  const prefills = new Set(okCells(result).map((c) => String(c.params['prefill'] ?? '')));
  const groups = groupBy(okCells(result), (c) =>
    [String(c.params['precision'] ?? 'default'), prefills.size > 1 ? `${String(c.params['prefill'])} text tokens` : '', otherAxes(c)].filter(Boolean).join(', '),
  );
  const tables: Table[] = [];
  for (const [group, cells] of groups) {
    cells.sort((a, b) => byNumber(a.params['images'], b.params['images']) || byNumber(a.params['prefill'], b.params['prefill']));
    const rows = cells.map((c) => {
      const m = c.metrics;
      const counted = c.iterations.find((i) => !i.warmup)?.promptTokens;
      // A runner that cannot know the count records NaN (null once read back from JSON).
      const prompt = typeof counted === 'number' && Number.isFinite(counted) ? counted : undefined;
      return [
        text(String(c.params['images'] ?? 0)),
        text(m['image_encode_ms'] ? `${fmtStat(m['image_encode_ms'])} ms` : '–'),
        text(`${fmtStat(m['prefill_ms'])} ms (${prompt ?? '?'} tokens)`),
        text(`${fmtStat(m['ttft_ms'])} ms`),
        text(`${fmtStat(m['tpot_ms'])} ms`),
        text(`${fmtStat(m['decode_tokens_per_s'], 2)} tokens/sec`),
      ];
    });
    tables.push({
      id: `summary-${tables.length}`,
      caption: group,
      columns: columns([['Image num', 'right'], ['ImageEncoder', 'right'], ['Prefill TTFT', 'right'], ['TTFT (end to end)', 'right'], ['Decoder', 'right'], ['tokens/s', 'right']]),
      rows,
    });
  }
  return tables;
}

/** Per-subgraph latency: per invocation and per request, and the graph's share of the request. */
export function subgraphTable(result: RunResult): Table {
  const rows: TableCell[][] = [];
  for (const c of okCells(result)) {
    const e2e = c.metrics['e2e_ms']?.median;
    const entries = Object.entries(c.subgraphs).sort(([, a], [, b]) => b.perRequest.median - a.perRequest.median);
    for (const [key, s] of entries) {
      rows.push([
        text(c.id),
        text(key),
        text(fmt(s.invocationsPerRequest, 0)),
        text(fmtStat(s.perInvocation)),
        text(fmt(s.perInvocation.p90)),
        text(fmtStat(s.perRequest)),
        text(e2e ? `${fmt((s.perRequest.median / e2e) * 100, 1)}%` : '–'),
      ]);
    }
  }
  return {
    id: 'subgraphs',
    columns: columns([['Cell', 'left'], ['Graph / phase', 'left'], ['Calls per request', 'right'], ['Per call median (ms)', 'right'], ['Per call p90 (ms)', 'right'], ['Per request median (ms)', 'right'], ['Share of request', 'right']]),
    rows,
    empty: '_No subgraph timings._',
  };
}

/** Each phase's share of TTFT. */
export function phaseShareTable(result: RunResult): Table {
  const rows = okCells(result).map((c) => {
    const ttft = c.metrics['ttft_ms']?.mean;
    const share = (name: string) => {
      const v = c.metrics[name]?.mean ?? 0;
      return text(ttft ? `${fmt((v / ttft) * 100, 1)}%` : '–');
    };
    const known = ['preprocess_ms', 'image_encode_ms', 'prefill_ms'].reduce((s, n) => s + (c.metrics[n]?.mean ?? 0), 0);
    const other = text(ttft ? `${fmt(((ttft - known) / ttft) * 100, 1)}%` : '–');
    return [text(c.id), text(`${fmt(ttft)} ms`), share('preprocess_ms'), share('image_encode_ms'), share('prefill_ms'), other];
  });
  return {
    id: 'ttft-shares',
    columns: columns([['Cell', 'left'], ['TTFT mean', 'right'], ['preprocess', 'right'], ['image_encode', 'right'], ['prefill', 'right'], ['other', 'right']]),
    rows,
  };
}

/** Power and energy per phase, with the sampling they rest on, and the throttling watch. */
export function energyTable(result: RunResult): Table | null {
  const cells = result.cells.filter((c) => c.probes);
  if (cells.length === 0) return null;
  const rows = cells.map((c) => {
    const m = c.metrics;
    const p = c.probes!;
    const interval = p.runs.map((r) => `${r.probe} ${r.samples} @ ${r.intervalMs} ms`).join(', ');
    const t = p.thermal;
    return [
      c.id,
      p.power?.basis ?? 'no power reading',
      fmtStat(m['power_idle_w']),
      fmtStat(m['power_image_encode_w']),
      fmtStat(m['image_encode_j_per_image']),
      fmtStat(m['power_prefill_w']),
      fmtStat(m['energy_prefill_j']),
      fmtStat(m['power_decode_w']),
      fmtStat(m['decode_j_per_token']),
      interval,
      t.maxTempC === null ? '–' : `${fmt(t.maxTempC, 1)} °C (${t.maxTempSensor})`,
      c.throttled ? `throttled: ${(c.throttleReasons ?? []).join('; ')}` : 'no',
    ].map(text);
  });
  return {
    id: 'energy',
    columns: columns([
      ['Cell', 'left'], ['Power basis', 'left'], ['Idle W', 'right'], ['Encode W', 'right'], ['J/image', 'right'], ['Prefill W', 'right'],
      ['Prefill J', 'right'], ['Decode W', 'right'], ['J/token', 'right'], ['Samples', 'left'], ['Max temp', 'right'], ['Throttling', 'left'],
    ]),
    rows,
  };
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
  return {
    id: 'operators',
    columns: columns([['Cell', 'left'], ['Graph', 'left'], ['Operator', 'left'], ['Calls', 'right'], ['Kernel time (ms)', 'right'], ['Share of graph', 'right']]),
    rows,
  };
}

const DETAIL_METRICS = [
  'ttft_ms', 'image_encode_ms', 'image_encode_per_image_ms', 'prefill_ms', 'prefill_tokens_per_s', 'tpot_ms', 'decode_tokens_per_s', 'e2e_ms', 'load_ms',
  'peak_rss_mb', 'power_idle_w', 'power_request_w', 'energy_request_j', 'energy_prefill_j', 'decode_j_per_token', 'image_encode_j_per_image',
];

/** Every metric with its full statistics. */
export function statisticsTable(result: RunResult): Table {
  const rows: TableCell[][] = [];
  for (const c of okCells(result)) {
    for (const name of DETAIL_METRICS) {
      const s = c.metrics[name];
      if (!s) continue;
      rows.push([c.id, name, s.unit, String(s.n), fmt(s.median), fmt(s.mean), fmt(s.p90), fmt(s.p99), fmt(s.stdev), fmtCi(s)].map(text));
    }
  }
  return {
    id: 'statistics',
    columns: columns([['Cell', 'left'], ['Metric', 'left'], ['Unit', 'left'], ['n', 'right'], ['median', 'right'], ['mean', 'right'], ['p90', 'right'], ['p99', 'right'], ['stdev', 'right'], ['95% CI of mean', 'right']]),
    rows,
  };
}

function modelLines(result: RunResult): string[] {
  const seen = new Map<string, string>();
  for (const c of result.cells) {
    const m = c.model;
    if (!m) continue;
    const key = `${m.architecture} ${m.precision}`;
    const label = m.synthetic
      ? `**SYNTHETIC WEIGHTS** (random values, seed ${m.seed ?? '?'}, real architecture; not a trained model)`
      : `weights from files (${Object.entries(m.hashes ?? {}).map(([f, h]) => `${f} sha256 ${h.slice(0, 12)}`).join(', ')})`;
    const size = m.sizes ? fmtBytes(Object.values(m.sizes).reduce((s, v) => s + v, 0)) : '?';
    seen.set(key, `${m.architecture}, ${m.precision}, layout ${m.layout}${m.scale ? `, scale ${m.scale}` : ''}, ${size} on disk: ${label}`);
  }
  return [...seen.values()];
}

// ---- roofline, from the record the run stored ----

const GB = 1e9;
type BoundPhase = RooflineRecordRow['phase'];
const PHASE_LABEL: Record<BoundPhase, string> = {
  image_encode: 'image encode (all images)',
  prefill: 'prefill',
  decode: 'decode (per token)',
};

function figureText(name: string, f: Figure | null | undefined, unit: string): string {
  if (!f) return `${name}: none`;
  return `${name} ${fmt(f.value)} ${unit} (${f.source})`;
}

/** One line naming the calibration the bounds come from. */
export function calibrationSummary(c: Calibration): string {
  const peaks = (['fp32', 'fp16', 'int8', 'int4'] as const).filter((k) => c.matmul[k]).map((k) => figureText(`${k} matmul`, c.matmul[k], 'G op/s'));
  const published = [c.bandwidth.read, ...Object.values(c.matmul)].every((f) => !f || f.source === 'published');
  const where = published ? `${c.machine.cpu} (published figures)` : `${c.host} (${c.machine.cpu}, ${c.threads} threads)`;
  return `Calibration: ${where}, target ${c.target}, ${c.createdAt}; ${[figureText('read bandwidth', c.bandwidth.read, 'GB/s'), ...peaks].join(', ')}.`;
}

/** A bound whose calibration lacked a figure it needs covers part of the work (bounds.ts: partial = notes). */
const isPartial = (r: RooflineRecordRow): boolean => r.work !== null && r.notes.length > 0;

function achievedRate(r: RooflineRecordRow, achievedMs: number): string {
  const s = achievedMs / 1000;
  const w = r.work!;
  if (r.limitedBy === 'compute') return `${fmt((w.linearOps + w.attentionOps) / s / GB)} G op/s`;
  return `${fmt(w.bytes / s / GB)} GB/s`;
}

const ROOFLINE_EXPLAINED =
  'Bound = max(operations / matmul peak, bytes / read bandwidth): the least time the phase can take on this hardware. ' +
  'Achieved % of bound = bound / measured median (100% = at the hardware limit). Decode is per output token at the mean attended length of the request\'s steps; ' +
  'bytes count weights (with quantisation scales) and the KV cache, not activations, so a working set that fits in cache (tiny models) can beat a DRAM bound. ' +
  "Decode kernel ceiling = the least decode time with this runtime's batch-1 kernels (weights at the calibrated weight-stream rate of the precision, attention at the calibrated batch-1 attention rate, the rest at read bandwidth), and the % of it reached: " +
  'the gap between bound and ceiling is what the kernels cannot do on this machine; below the ceiling, time is lost around them.';

export function rooflineSectionModel(result: RunResult): Section {
  const heading = 'Roofline: achieved % of hardware bound';
  const record = result.roofline;
  if (!record) {
    return {
      id: 'roofline',
      heading,
      notes: [`_No calibration for target "${result.target}" on host ${result.environment.host.hostname}: run \`bench calibrate\` (or \`bench calibrate --target <board>\` for published peaks) to get bounds._`],
      tables: [],
      charts: [],
    };
  }
  const calibration = record.calibration;
  const rows = record.rows;
  const body = rows.map((r) => {
    const boundMs = r.boundMs;
    const w = r.work;
    return [
      r.cellId,
      PHASE_LABEL[r.phase],
      w ? `${fmt(w.bytes / GB, 3)} GB, ${fmt((w.linearOps + w.attentionOps) / GB, 2)} G op` : '–',
      boundMs !== null ? `${fmt(boundMs)} ms` : '–',
      w && r.limitedBy ? `${r.limitedBy}${isPartial(r) ? ' (partial)' : ''}` : '–',
      r.achievedMs !== null ? `${fmt(r.achievedMs)} ms` : '–',
      w && r.achievedMs !== null && boundMs !== null ? achievedRate(r, r.achievedMs) : '–',
      r.percentOfBound !== null ? `${fmt(r.percentOfBound, 1)}%` : '–',
      r.kernelMs != null ? `${fmt(r.kernelMs)} ms${r.percentOfKernelCeiling !== null ? ` (${fmt(r.percentOfKernelCeiling, 1)}%)` : ''}` : '–',
    ].map(text);
  });
  // The same note for many cells and phases is printed once, with where it applies.
  const where = new Map<string, string[]>();
  const addNote = (note: string, at: string): void => {
    where.set(note, [...(where.get(note) ?? []), at]);
  };
  for (const r of rows) for (const n of r.notes) addNote(n, r.work ? `${r.cellId} ${r.phase}` : r.cellId);
  const formatNotes = new Set<string>();
  for (const c of okCells(result)) {
    const precision = String(c.params['precision'] ?? c.model?.precision ?? '');
    const conv = calibration.runtimeFormats[precision];
    if (conv) formatNotes.add(`${String(c.params['precision'] ?? c.model?.precision)} runs as ${conv.as}: ${conv.reason}.`);
  }
  for (const r of rows.filter((x) => x.percentOfBound !== null && x.percentOfBound > 100)) {
    addNote('faster than the bound: the working set fits in cache, or the calibration does not describe this machine as it ran', `${r.cellId} ${r.phase}`);
  }
  const notes = [...where].map(([note, at]) => `${note} (${[...new Set(at)].join('; ')})`);
  if (calibration.bandwidth.read?.source === 'measured' && rows.some((r) => r.phase === 'decode' && r.boundMs != null && r.kernelMs === null)) {
    notes.push('no decode kernel ceiling: the calibration has no weight-stream rate for the precision (calibrations made before it was measured lack it; run `bench calibrate` again).');
  }
  if (rows.some((r) => isPartial(r) && r.boundMs !== null)) {
    notes.push('(partial): a figure the bound needs is missing from the calibration, so it covers only part of the work: still a lower bound, a looser one.');
  }
  return {
    id: 'roofline',
    heading,
    notes: [calibrationSummary(calibration), ROOFLINE_EXPLAINED],
    tables: [
      {
        id: 'roofline',
        columns: columns([
          ['Cell', 'left'], ['Phase', 'left'], ['Work', 'right'], ['Bound', 'right'], ['Limited by', 'left'], ['Achieved (median)', 'right'],
          ['Achieved rate', 'right'], ['% of bound', 'right'], ['Decode kernel ceiling (% reached)', 'right'],
        ]),
        rows: body,
        empty: '_No successful cell._',
      },
    ],
    charts: [],
    bullets: [...formatNotes, ...notes, ...calibration.notes.map((n) => `calibration: ${n}`)],
  };
}

export function buildReport(result: RunResult): Report {
  const env = result.environment;
  const failed = result.cells.filter((c) => c.status === 'failed');
  const present = new Set(result.cells.map((c) => c.id));
  const missing = result.plannedCells.filter((id) => !present.has(id));
  const energy = energyTable(result);
  const operators = operatorTable(result);
  const sections: Section[] = [];
  const section = (id: string, heading: string, parts: Partial<Section>): void => {
    sections.push({ id, heading, notes: [], tables: [], charts: [], ...parts });
  };
  const summary = summaryTables(result);
  section('summary', 'Summary (Axera table layout)', summary.length ? { tables: summary } : { notes: ['_No successful cell._'] });
  section('subgraphs', 'Per-subgraph latency', { tables: [subgraphTable(result)] });
  section('ttft-shares', 'Share of TTFT by phase', { tables: [phaseShareTable(result)] });
  if (energy) {
    section('energy', 'Power and energy', {
      notes: ['Energy integrates instantaneous power samples (trapezoid, edges interpolated) over each phase window on the run clock; a tool\'s running average is never integrated. Medians over measured iterations; "Idle W" is sampled before each cell.'],
      tables: [energy],
    });
  }
  if (operators) {
    section('operators', 'Time per operator (ONNX Runtime profiler)', {
      notes: ['Kernel time summed over all iterations of the cell, warm-up included; profiling slows a run, so compare these shares, not the latencies above, with unprofiled runs.'],
      tables: [operators],
    });
  }
  section('statistics', 'Statistics', { tables: [statisticsTable(result)] });
  if (failed.length) section('failed', 'Failed cells', { bullets: failed.map((c) => `${c.id}: ${c.error ?? 'unknown error'}`) });
  if (missing.length) section('not-run', 'Not run', { bullets: missing });
  if (result.warnings.length) section('warnings', 'Warnings', { bullets: result.warnings });
  sections.push(rooflineSectionModel(result));
  return {
    title: `${result.suite.name} — run ${result.runId}`,
    facts: [
      `Target: ${result.target}; host ${env.host.cpu} (${env.host.physicalCores} physical cores, ${fmtBytes(env.host.memoryBytes)}), ${env.os.distro} ${env.os.release}, ${env.host.arch}`,
      `Versions: ${Object.entries(env.versions).map(([k, v]) => `${k} ${v}`).join(', ')}; git ${env.git.revision?.slice(0, 10) ?? 'unknown'}${env.git.dirty ? ' (dirty)' : ''}`,
      `Options: ${result.options.warmup} warm-up + ${result.options.iterations} measured iteration(s) per cell, ${result.options.outputTokens} output tokens, ${result.options.threads} thread(s)${result.options.filters.length ? `, filters ${result.options.filters.join(' ')}` : ''}`,
      `Status: ${result.status}; ${result.cells.length - failed.length} cell(s) ok, ${failed.length} failed${missing.length ? `, ${missing.length} not run` : ''}`,
      ...modelLines(result),
    ],
    notes: [
      'All figures are medians of measured iterations on this run\'s monotonic clock. "Prefill TTFT" is the prefill phase alone (embedding, decoder over the whole prompt, lm_head for the first token), as in the Axera table; "TTFT (end to end)" adds preprocessing and image encoding. "Decoder" is TPOT = (t_last − t_first) / (n_output − 1).',
    ],
    sections,
    charts: [],
  };
}
