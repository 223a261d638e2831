import { markdownTable } from 'markdown-table';
import type { RunResult } from '../../core/result-types.ts';
import type { Calibration, Figure } from '../../core/calibration-types.ts';
import { fmt } from '../format.ts';
import type { BoundPhase, PhaseBound } from '../../roofline/bounds.ts';
import { rooflineRows, type DescriptorLookup } from '../../roofline/rows.ts';

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
