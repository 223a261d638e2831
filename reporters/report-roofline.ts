/**
 * The roofline section, from the record the run stored (result.roofline): the calibration it
 * was judged against and per cell and phase the bound and the measured median. A remote server
 * gets no roofline: this machine's bounds say nothing about its hardware.
 */
import type { Calibration, Figure } from '../core/calibration-types.ts';
import type { RooflineRecordRow, RunResult } from '../core/result-types.ts';
import { decodeCeilingKernel } from '../roofline/bounds.ts';
import { busyCalibrationNote } from '../roofline/calibration-load.ts';
import { fmt } from './format.ts';
import { cell, columns, type ChartSpec, type Section } from './report-model.ts';

const text = (t: string) => cell(t);
const okCells = (result: RunResult) => result.cells.filter((c) => c.status === 'ok');

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
  const busy = busyCalibrationNote(c);
  return `Calibration: ${where}, target ${c.target}, ${c.createdAt}; ${[figureText('read bandwidth', c.bandwidth.read, 'GB/s'), ...peaks].join(', ')}.${busy ? ` **Warning:** ${busy}.` : ''}`;
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
  'The matmul peak of a precision is the fastest calibrated kernel that computes it exactly, whichever runtime or operator shows it (int4 weights widen to int8 dot products, int8 and fp16 to fp32): the kernel and its rate are named below. ' +
  "Runtime ceiling = the least time with this runtime's own kernels for the cell's format (decode: weights at the calibrated batch-1 weight-stream rate, attention at the batch-1 attention rate, the rest at read bandwidth; prefill and image encode: the calibrated rate of the format's own matmul kernel), and the % of it reached: " +
  'the gap between bound and ceiling is what the runtime\'s kernels cannot do on this machine; below the ceiling, time is lost around them. ' +
  'A phase measured faster than its bound beyond the interval of its median says the bound is wrong (a calibration figure too low), never more than 100%.';

/** "% of bound" text: the percentage, or that the measurement proves the bound (or ceiling) wrong. */
function percentText(percent: number | null, wrong: boolean | undefined, what: string): string {
  if (percent === null) return '–';
  if (wrong) return `${what} is wrong`;
  // Above 100% within the interval of the median: at the limit, within noise. A result written
  // before the check existed (no flag) keeps its percentage: it cannot say which it is.
  return percent > 100 && wrong === false ? '≈100%, within interval' : `${fmt(percent, 1)}%`;
}

export function rooflineSectionModel(result: RunResult, remoteServer = false): Section {
  const heading = 'Roofline: achieved % of hardware bound';
  const record = result.roofline;
  if (remoteServer) {
    return { id: 'roofline', heading, notes: ['_No roofline: this run measured a remote server, whose hardware is not this machine; bounds from this machine\'s calibration would not apply._'], tables: [], charts: [] };
  }
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
      percentText(r.percentOfBound, r.boundWrong, 'bound'),
      r.kernelMs != null ? `${fmt(r.kernelMs)} ms${r.percentOfKernelCeiling !== null ? ` (${percentText(r.percentOfKernelCeiling, r.kernelCeilingWrong, 'ceiling')})` : ''}` : '–',
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
  for (const r of rows) {
    const at = `${r.cellId} ${r.phase}`;
    const rates = (r.computeRates ?? []).map((c) => `${c.part} ${c.precision} at ${fmt(c.gops)} G op/s (${c.figure})`).join(', ');
    if (r.boundWrong) {
      addNote(
        `the bound is wrong: measured faster than it beyond the interval of the median, so a figure it uses is too low (read bandwidth ${fmt(calibration.bandwidth.read?.value ?? NaN)} GB/s${rates ? `, ${rates}` : ''}): the working set fits in cache, or the calibration was measured on a busy machine or misses a faster kernel; calibrate again`,
        at,
      );
    } else if (r.percentOfBound !== null && r.percentOfBound > 100) {
      addNote(
        r.boundWrong === false
          ? 'at the bound: the median is faster than it, within its interval'
          : 'faster than the bound: the working set fits in cache, or the calibration does not describe this machine as it ran',
        at,
      );
    }
    if (r.kernelCeilingWrong && !r.boundWrong) addNote("the runtime kernel ceiling is wrong: measured faster than it beyond the interval of the median (a calibrated kernel rate of this runtime is too low)", at);
  }
  // Which kernel each compute bound's rate comes from, once per distinct rate.
  const rateNotes = new Map<string, string>();
  for (const r of rows) {
    for (const c of r.computeRates ?? []) {
      const via = c.via === c.precision ? '' : ` (${c.precision} widened to ${c.via})`;
      rateNotes.set(`${c.precision}/${c.figure}`, `compute bound of ${c.precision} ${c.part}: ${fmt(c.gops)} G op/s, ${c.figure}${via}: ${c.method}`);
    }
  }
  const notes = [...where].map(([note, at]) => `${note} (${[...new Set(at)].join('; ')})`);
  notes.push(...decodeCeilingNotes(rows, calibration));
  if (calibration.bandwidth.read?.source === 'measured' && rows.some((r) => r.phase === 'decode' && r.boundMs != null && r.kernelMs === null)) {
    notes.push('no decode kernel ceiling: the calibration has no weight-stream rate for the precision (calibrations made before it was measured lack it; run `bench calibrate` again).');
  }
  // Records written before prefill / image-encode ceilings existed (no computeRates) never had them.
  if (rows.some((r) => r.phase !== 'decode' && r.computeRates !== undefined && r.boundMs !== null && r.kernelMs === null)) {
    notes.push("no prefill / image-encode kernel ceiling for a runtime the calibration did not time (its kernels are another runtime's than ONNX Runtime's) or a precision without its own calibrated matmul rate.");
  }
  notes.push(...rateNotes.values());
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
          ['Achieved rate', 'right'], ['% of bound', 'right'], ['Runtime ceiling (% of it reached)', 'right'],
        ]),
        figures: 'Bound: computed from the calibration and the model\'s work; achieved: the measured median of the phase (TPOT for decode)',
        rows: body,
        empty: '_No successful cell._',
      },
    ],
    charts: [rooflineChartSpec(result, rows)],
    bullets: [...formatNotes, ...notes, ...calibration.notes.map((n) => `calibration: ${n}`)],
  };
}


/**
 * Per weight arithmetic, the kernel that holds ONNX Runtime's decode ceiling, named with its
 * measured rate and the most of the bound that ceiling leaves reachable: a decode below the
 * bound but at its ceiling is that kernel's limit on this machine, not time lost around it.
 */
function decodeCeilingNotes(rows: readonly RooflineRecordRow[], calibration: Calibration): string[] {
  const reach = new Map<string, { kernel: NonNullable<ReturnType<typeof decodeCeilingKernel>>; shares: number[]; cells: string[] }>();
  for (const r of rows) {
    if (r.phase !== 'decode' || r.kernelMs == null || r.boundMs == null || !(r.kernelMs > 0)) continue;
    const precision = r.computeRates?.find((c) => c.part === 'weight matmuls')?.precision;
    const kernel = precision ? decodeCeilingKernel(precision, calibration) : null;
    if (!kernel) continue;
    const entry = reach.get(kernel.precision) ?? { kernel, shares: [], cells: [] };
    entry.shares.push((r.boundMs / r.kernelMs) * 100);
    entry.cells.push(r.cellId);
    reach.set(kernel.precision, entry);
  }
  return [...reach.values()].map(({ kernel, shares, cells }) => {
    const lo = Math.min(...shares);
    const hi = Math.max(...shares);
    const range = lo.toFixed(0) === hi.toFixed(0) ? `${fmt(lo, 1)}%` : `${fmt(lo, 1)}-${fmt(hi, 1)}%`;
    const ofRead = kernel.shareOfRead !== null ? `, ${fmt(kernel.shareOfRead * 100, 1)}% of the read bandwidth` : '';
    return (
      `decode ${kernel.precision} is held by ONNX Runtime's batch-1 weight kernel: ${kernel.method} streams ${fmt(kernel.gbps)} GB/s of weights (${kernel.figure}${ofRead}), ` +
      `so its ceiling allows at most ${range} of the bound; decode between the ceiling and the bound is that kernel's limit on this machine (${[...new Set(cells)].join('; ')})`
    );
  });
}

const PHASES: Array<[BoundPhase, string, string]> = [
  ['image_encode', 'image encode', '#2ca02c'],
  ['prefill', 'prefill', '#1f77b4'],
  ['decode', 'decode', '#d62728'],
];

/** Cells per roofline chart: beyond it, the cells furthest from their bound are shown. */
export const ROOFLINE_CHART_CELLS = 40;

/** Achieved % of bound per cell, one bar per phase; the 100% line is the hardware limit. */
export function rooflineChartSpec(result: RunResult, rows: readonly RooflineRecordRow[]): ChartSpec {
  const byCell = new Map<string, Map<BoundPhase, RooflineRecordRow>>();
  for (const r of rows) {
    let m = byCell.get(r.cellId);
    if (!m) byCell.set(r.cellId, (m = new Map()));
    m.set(r.phase, r);
  }
  let cells = [...byCell.keys()];
  const total = cells.length;
  if (cells.length > ROOFLINE_CHART_CELLS) {
    const worst = (id: string) => Math.min(...[...byCell.get(id)!.values()].map((r) => r.percentOfBound ?? Infinity));
    cells = cells.map((id) => [id, worst(id)] as const).sort((a, b) => a[1] - b[1]).slice(0, ROOFLINE_CHART_CELLS).map(([id]) => id);
  }
  // A bound (or ceiling) the measurement proves wrong has no bar: its percentage means nothing.
  const value = (id: string, phase: BoundPhase, of: 'percentOfBound' | 'percentOfKernelCeiling' = 'percentOfBound'): number | null => {
    const r = byCell.get(id)?.get(phase);
    if (!r || (of === 'percentOfBound' ? r.boundWrong : r.kernelCeilingWrong)) return null;
    return r[of] ?? null;
  };
  const datasets = PHASES.filter(([phase]) => rows.some((r) => r.phase === phase && r.percentOfBound !== null)).map(([phase, label, color]) => ({
    label,
    data: cells.map((c) => value(c, phase)),
    backgroundColor: color,
  }));
  if (rows.some((r) => r.phase === 'decode' && r.percentOfKernelCeiling !== null)) {
    datasets.push({ label: 'decode, % of kernel ceiling', data: cells.map((c) => value(c, 'decode', 'percentOfKernelCeiling')), backgroundColor: '#f4a6a6' });
  }
  let highest = 100;
  for (const r of rows) highest = Math.max(highest, r.boundWrong ? 0 : (r.percentOfBound ?? 0), r.kernelCeilingWrong ? 0 : (r.percentOfKernelCeiling ?? 0));
  const calibration = result.roofline!.calibration;
  const source = calibration.bandwidth.read?.source ?? Object.values(calibration.matmul)[0]?.source ?? 'no';
  const synthetic = result.cells.some((c) => c.model?.synthetic) ? '; synthetic weights (random values, real architecture)' : '';
  const shown = cells.length < total ? `; ${cells.length} of ${total} cells (furthest from their bound)` : '';
  return {
    id: 'roofline-percent-of-bound',
    title: 'Achieved % of hardware bound',
    width: 1200,
    height: 140 + Math.max(1, cells.length) * 60,
    config: {
      type: 'bar',
      data: { labels: cells, datasets },
      options: {
        indexAxis: 'y',
        plugins: {
          title: { display: true, text: `${result.suite.name}: achieved % of hardware bound (median)`, font: { size: 18 } },
          subtitle: { display: true, text: `bounds from ${source} figures of ${calibration.host} (${calibration.createdAt.slice(0, 10)}); 100% = at the limit${synthetic}${shown}`, font: { size: 12 } },
        },
        scales: {
          x: { min: 0, max: Math.ceil(highest / 10) * 10, title: { display: true, text: '% of bound (bound time / measured time)' } },
          y: { title: { display: true, text: 'cell' } },
        },
      },
    },
  };
}
