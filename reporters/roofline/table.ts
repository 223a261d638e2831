/**
 * The roofline table of a run: per cell and phase, the hardware bound, the measured median
 * and how close it comes (achieved % of bound = bound time / measured time).
 */
import { markdownTable } from 'markdown-table';
import type { CellResult, RunResult } from '../../core/result-types.ts';
import type { MetricStats } from '../../core/stats.ts';
import type { Calibration, Figure } from '../../hw-probes/calibrate/types.ts';
import type { VlmDescriptor } from '../../models/descriptors.ts';
import { fmt } from '../format.ts';
import { cellBounds, type BoundPhase, type Bounds, type BoundsParams, type PhaseBound } from './bounds.ts';

export type DescriptorLookup = (cell: CellResult) => VlmDescriptor | null;

/** Metric whose median is compared with each phase's bound. */
export const PHASE_METRIC: Record<BoundPhase, string> = {
  decode: 'tpot_ms',
  prefill: 'prefill_ms',
  image_encode: 'image_encode_ms',
};

export interface RooflineRow {
  cellId: string;
  phase: BoundPhase;
  bound: PhaseBound | null;
  /** Median of the phase's metric, ms. */
  achievedMs: number | null;
  /** bound / achieved x 100; null when either is missing. */
  percentOfBound: number | null;
  /** Decode: kernel ceiling / achieved x 100 (see PhaseBound.kernelMs); null otherwise. */
  percentOfKernelCeiling: number | null;
  /** Why there are no bounds for the cell (no descriptor, unknown precision); missing calibration figures are in bound.notes. */
  reason?: string;
}

function firstMeasured(cell: CellResult) {
  return cell.iterations.find((i) => !i.warmup && !i.error) ?? cell.iterations.find((i) => !i.warmup);
}

/** A count a runner recorded, or undefined when it could not know it (NaN in memory, null from JSON). */
function known(v: number | null | undefined): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function intParam(cell: CellResult, key: string): number | undefined {
  const v = cell.params[key];
  const n = Number(v);
  return v !== undefined && Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The cell's shape as run: counts from its first measured iteration (the runner's own prompt
 * and output token counts), else, where a runner could not know a count (a board tool that does
 * not print it), from the cell's params and the descriptor.
 */
export function cellShape(cell: CellResult, result: RunResult, descriptor: VlmDescriptor): BoundsParams {
  const it = firstMeasured(cell);
  const images = known(it?.images) ?? intParam(cell, 'images') ?? 0;
  const promptTokens = known(it?.promptTokens) ?? (intParam(cell, 'prefill') ?? 0) + images * descriptor.imageTokensPerTile;
  const settingTokens = typeof cell.settings['outputTokens'] === 'number' ? cell.settings['outputTokens'] : undefined;
  const measuredOutput = known(it?.outputTokens);
  const outputTokens = measuredOutput !== undefined && measuredOutput > 0 ? measuredOutput : (settingTokens ?? result.options.outputTokens);
  const chunk = cell.settings['chunkSize'];
  // A runner that executes another weight form than the precision's name says which (llama.cpp: q8_0 for int8).
  const form = cell.settings['rooflineFormat'];
  const precision = typeof form === 'string' ? form : String(cell.params['precision'] ?? cell.model?.precision ?? 'fp32');
  return { images, promptTokens, outputTokens, precision, chunkSize: typeof chunk === 'number' ? chunk : 0 };
}

function median(stats: MetricStats | undefined): number | null {
  return stats && Number.isFinite(stats.median) && stats.median > 0 ? stats.median : null;
}

/** One row per phase the cell has, bounds computed from its descriptor. */
export function rooflineRows(result: RunResult, calibration: Calibration, descriptorFor: DescriptorLookup): RooflineRow[] {
  const rows: RooflineRow[] = [];
  for (const cell of result.cells.filter((c) => c.status === 'ok')) {
    const phases: BoundPhase[] = [];
    if (cell.metrics['image_encode_ms']) phases.push('image_encode');
    phases.push('prefill');
    if (cell.metrics['tpot_ms']) phases.push('decode');
    const descriptor = descriptorFor(cell);
    let bounds: Bounds | null = null;
    let reason: string | undefined;
    if (!descriptor) reason = 'no model descriptor for this cell';
    else {
      try {
        bounds = cellBounds(descriptor, cellShape(cell, result, descriptor), calibration);
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err);
      }
    }
    for (const phase of phases) {
      const bound = bounds ? (phase === 'decode' ? bounds.decode : phase === 'prefill' ? bounds.prefill : bounds.imageEncode) : null;
      const achievedMs = median(cell.metrics[PHASE_METRIC[phase]]);
      const boundMs = bound?.boundMs ?? null;
      rows.push({
        cellId: cell.id,
        phase,
        bound,
        achievedMs,
        percentOfBound: boundMs !== null && achievedMs !== null ? (boundMs / achievedMs) * 100 : null,
        percentOfKernelCeiling: bound?.kernelMs != null && achievedMs !== null ? (bound.kernelMs / achievedMs) * 100 : null,
        ...(reason ? { reason } : {}),
      });
    }
  }
  return rows;
}

const GB = 1e9;

function workText(b: PhaseBound): string {
  const ops = b.work.linearOps + b.work.attentionOps;
  return `${fmt(b.work.bytes / GB, 3)} GB, ${fmt(ops / GB, 2)} G op`;
}

/** The rate the measurement achieved on the bound's limiting resource. */
function achievedRate(b: PhaseBound, achievedMs: number): string {
  const s = achievedMs / 1000;
  if (b.limitedBy === 'compute') return `${fmt((b.work.linearOps + b.work.attentionOps) / s / GB)} G op/s`;
  return `${fmt(b.work.bytes / s / GB)} GB/s`;
}

function figureText(name: string, f: Figure | null | undefined, unit: string): string {
  if (!f) return `${name}: none`;
  return `${name} ${fmt(f.value)} ${unit} (${f.source})`;
}

/** One line naming the calibration the bounds come from. */
export function calibrationSummary(c: Calibration): string {
  const peaks = (['fp32', 'fp16', 'int8', 'int4'] as const)
    .filter((k) => c.matmul[k])
    .map((k) => figureText(`${k} matmul`, c.matmul[k], 'G op/s'));
  const published = [c.bandwidth.read, ...Object.values(c.matmul)].every((f) => !f || f.source === 'published');
  const where = published ? `${c.machine.cpu} (published figures)` : `${c.host} (${c.machine.cpu}, ${c.threads} threads)`;
  return `Calibration: ${where}, target ${c.target}, ${c.createdAt}; ${[figureText('read bandwidth', c.bandwidth.read, 'GB/s'), ...peaks].join(', ')}.`;
}

const PHASE_LABEL: Record<BoundPhase, string> = {
  image_encode: 'image encode (all images)',
  prefill: 'prefill',
  decode: 'decode (per token)',
};

/**
 * Markdown: the calibration it is based on, then per cell and phase the work, the bound, what
 * limits it, the measured median, the rate that implies and the achieved % of bound.
 */
export function rooflineTable(result: RunResult, calibration: Calibration, descriptorFor: DescriptorLookup): string {
  const rows = rooflineRows(result, calibration, descriptorFor);
  const body = rows.map((r) => {
    const b = r.bound;
    const boundMs = b?.boundMs ?? null;
    return [
      r.cellId,
      PHASE_LABEL[r.phase],
      b ? workText(b) : '–',
      boundMs !== null ? `${fmt(boundMs)} ms` : '–',
      b?.limitedBy ? `${b.limitedBy}${b.partial ? ' (partial)' : ''}` : '–',
      r.achievedMs !== null ? `${fmt(r.achievedMs)} ms` : '–',
      b && r.achievedMs !== null && boundMs !== null ? achievedRate(b, r.achievedMs) : '–',
      r.percentOfBound !== null ? `${fmt(r.percentOfBound, 1)}%` : '–',
      b?.kernelMs != null ? `${fmt(b.kernelMs)} ms${r.percentOfKernelCeiling !== null ? ` (${fmt(r.percentOfKernelCeiling, 1)}%)` : ''}` : '–',
    ];
  });
  const lines = [
    calibrationSummary(calibration),
    '',
    'Bound = max(operations / matmul peak, bytes / read bandwidth): the least time the phase can take on this hardware. ' +
      'Achieved % of bound = bound / measured median (100% = at the hardware limit). Decode is per output token at the mean attended length of the request\'s steps; ' +
      'bytes count weights (with quantisation scales) and the KV cache, not activations, so a working set that fits in cache (tiny models) can beat a DRAM bound. ' +
      "Decode kernel ceiling = the least decode time with this runtime's batch-1 kernels (weights at the calibrated weight-stream rate of the precision, attention at the calibrated batch-1 attention rate, the rest at read bandwidth), and the % of it reached: " +
      'the gap between bound and ceiling is what the kernels cannot do on this machine; below the ceiling, time is lost around them.',
    '',
    body.length
      ? markdownTable(
          [['Cell', 'Phase', 'Work', 'Bound', 'Limited by', 'Achieved (median)', 'Achieved rate', '% of bound', 'Decode kernel ceiling (% reached)'], ...body],
          { align: ['l', 'l', 'r', 'r', 'l', 'r', 'r', 'r', 'r'] },
        )
      : '_No successful cell._',
  ];
  // The same note for many cells and phases is printed once, with where it applies.
  const where = new Map<string, string[]>();
  const addNote = (text: string, at: string): void => {
    where.set(text, [...(where.get(text) ?? []), at]);
  };
  for (const r of rows) {
    if (r.reason) addNote(r.reason, r.cellId);
    for (const n of r.bound?.notes ?? []) addNote(n, `${r.cellId} ${r.phase}`);
  }
  const formatNotes = new Set<string>();
  for (const cell of result.cells.filter((c) => c.status === 'ok')) {
    const conv = calibration.runtimeFormats[String(cell.params['precision'] ?? cell.model?.precision ?? '')];
    if (conv) formatNotes.add(`${String(cell.params['precision'] ?? cell.model?.precision)} runs as ${conv.as}: ${conv.reason}.`);
  }
  for (const r of rows.filter((x) => x.percentOfBound !== null && x.percentOfBound > 100)) {
    addNote('faster than the bound: the working set fits in cache, or the calibration does not describe this machine as it ran', `${r.cellId} ${r.phase}`);
  }
  const notes = [...where].map(([text, at]) => `${text} (${[...new Set(at)].join('; ')})`);
  const measured = calibration.bandwidth.read?.source === 'measured';
  if (measured && rows.some((r) => r.phase === 'decode' && r.bound?.boundMs != null && r.bound.kernelMs === null)) {
    notes.push('no decode kernel ceiling: the calibration has no weight-stream rate for the precision (calibrations made before it was measured lack it; run `bench calibrate` again).');
  }
  if (rows.some((r) => r.bound?.partial && r.bound.boundMs !== null)) {
    notes.push('(partial): a figure the bound needs is missing from the calibration, so it covers only part of the work: still a lower bound, a looser one.');
  }
  const all = [...formatNotes, ...notes, ...calibration.notes.map((n) => `calibration: ${n}`)];
  if (all.length) lines.push('', ...all.map((n) => `- ${n}`));
  return lines.join('\n');
}
