/**
 * What an Axera run adds to its report: the composed figures (from `reported["composed.*"]` of
 * each iteration) and the suite's published figures beside the run's own, with every difference
 * that rounding cannot explain flagged (as `bench compose` does).
 */
import type { FigureSource } from '../core/figure-source.ts';
import type { CellResult, RunResult } from '../core/result-types.ts';
import { summarize } from '../core/stats.ts';
import { checkFigure } from '../core/axera-compose.ts';
import { cellSource, metricSource, type StoredStats } from './figures.ts';
import { fmt } from './format.ts';
import { cell, columns, type Section, type TableCell } from './report-model.ts';

/** Median over measured iterations of a composed figure the runner recorded, as statistics. */
export function composedStat(c: CellResult, key: string, unit: string): StoredStats | undefined {
  const values: number[] = [];
  for (const it of c.iterations) {
    if (it.warmup) continue;
    const v = it.reported?.[key];
    if (typeof v === 'number' && Number.isFinite(v)) values.push(v);
  }
  return values.length ? summarize(values, unit) : undefined;
}

/** Decode metrics of a composed cell, from the composition the runner recorded per iteration. */
const COMPOSED_METRICS: Record<string, { key: string; unit: string }> = {
  tpot_ms: { key: 'composed.decoder_ms', unit: 'ms' },
  decode_tokens_per_s: { key: 'composed.tokens_per_s', unit: 'tokens/s' },
};

/**
 * A cell's figure for a metric and how it was obtained: the stored statistic with the cell's
 * source, else (a composed Axera cell, which never decodes) the composition recorded beside it.
 */
export function cellFigure(c: CellResult, metric: string): { stats: StoredStats; source: FigureSource; from?: string } | undefined {
  const stored = c.metrics[metric] as StoredStats | undefined;
  if (stored) return { stats: stored, source: metricSource(c, metric) };
  // Only a composed cell stands in its composition: a cell measured or tool-reported end to end
  // keeps its composed.* beside its own figures (summary table), never in place of them.
  const composed = cellSource(c) === 'composed' ? COMPOSED_METRICS[metric] : undefined;
  const stats = composed ? composedStat(c, composed.key, composed.unit) : undefined;
  return stats && composed ? { stats, source: 'composed', from: composed.key } : undefined;
}

export const hasComposedFigures = (c: CellResult): boolean => c.iterations.some((it) => !it.warmup && it.reported?.['composed.prefill_ttft_ms'] !== undefined);

/** Published figure name -> the run's figure: the measured metric, else the composition. */
const FIGURES: Record<string, { metric?: string; composed: string; unit: string }> = {
  image_encoder_ms: { metric: 'image_encode_ms', composed: 'composed.image_encoder_ms', unit: 'ms' },
  prefill_ttft_ms: { metric: 'prefill_ms', composed: 'composed.prefill_ttft_ms', unit: 'ms' },
  prompt_tokens: { composed: 'composed.prompt_tokens', unit: 'tokens' },
  decoder_ms: { metric: 'tpot_ms', composed: 'composed.decoder_ms', unit: 'ms' },
  tokens_per_s: { metric: 'decode_tokens_per_s', composed: 'composed.tokens_per_s', unit: 'tokens/s' },
};

/** A measured figure is compared within this relative tolerance; a composed one to rounding. */
const MEASURED_TOLERANCE = 0.05;

function runFigure(c: CellResult, name: string): { value: number; source: FigureSource } | undefined {
  const f = FIGURES[name];
  if (!f) return undefined;
  if (name === 'prompt_tokens') {
    const counted = c.iterations.find((i) => !i.warmup)?.promptTokens;
    if (typeof counted === 'number' && Number.isFinite(counted)) return { value: counted, source: cellSource(c) };
  }
  const source = f.metric ? metricSource(c, f.metric) : cellSource(c);
  const measured = f.metric ? c.metrics[f.metric] : undefined;
  // A composed cell's metrics are compositions too; a measured cell's composed.* sit beside them.
  if (measured) return { value: measured.median, source };
  const composed = composedStat(c, f.composed, f.unit);
  return composed ? { value: composed.median, source: 'composed' } : undefined;
}

/** A relative difference as a percentage with enough digits that a non-zero one never reads "0.0%". */
function percentText(relative: number): string {
  const pct = relative * 100;
  if (pct === 0) return '0%';
  const digits = Math.max(1, Math.min(6, 1 - Math.floor(Math.log10(Math.abs(pct)))));
  return `${fmt(pct, digits)}%`;
}

export function publishedSection(result: RunResult): Section | null {
  const reference = result.suite.definition.reference;
  if (!reference?.rows.length) return null;
  const ok = result.cells.filter((c) => c.status === 'ok');
  const rows: TableCell[][] = [];
  let differs = 0;
  for (const ref of reference.rows) {
    const matches = ok.filter((c) => Object.entries(ref.params).every(([k, v]) => String(c.params[k]) === String(v)));
    const label = Object.entries(ref.params).map(([k, v]) => `${k}=${String(v)}`).join(', ');
    if (matches.length === 0) {
      rows.push([cell(label), cell('(all)'), cell('–'), cell('not run in this run', { status: 'missing' }), cell('–'), cell('–'), cell('–')]);
      continue;
    }
    for (const c of matches) {
      for (const [name, published] of Object.entries(ref.figures)) {
        const ours = runFigure(c, name);
        if (!ours) {
          rows.push([cell(c.id), cell(name), cell(String(published), { status: 'published' }), cell('–', { status: 'missing' }), cell('–'), cell('–'), cell('no figure in this run', { status: 'missing' })]);
          continue;
        }
        const check = checkFigure(name, published, ours.value);
        const pub = Number(published);
        const relative = pub !== 0 ? check.difference / pub : ours.value === 0 ? 0 : Infinity;
        const flagged = ours.source === 'composed' ? check.flagged : Math.abs(relative) > MEASURED_TOLERANCE;
        if (flagged) differs += 1;
        rows.push([
          cell(c.id),
          cell(name),
          cell(String(published), { value: pub, status: 'published' }),
          cell(fmt(ours.value, 3), { value: ours.value, status: ours.source }),
          cell(ours.source),
          cell(`${fmt(check.difference, 3)}${Number.isFinite(relative) ? ` (${percentText(relative)})` : ''}`, { value: check.difference, status: 'derived' }),
          flagged ? cell('DIFFERS', { status: 'differs' }) : cell(ours.source === 'composed' ? 'ok (rounding)' : `ok (within ${MEASURED_TOLERANCE * 100}%)`),
        ]);
      }
    }
  }
  return {
    id: 'published',
    heading: `Published vs this run (${reference.source})`,
    notes: [
      differs
        ? `**${differs} figure(s) of this run differ from the published ones** (marked DIFFERS): a composed figure beyond the rounding of the published one, a measured one by more than ${MEASURED_TOLERANCE * 100}%.`
        : 'Every published figure matches this run: composed figures up to the rounding of the published ones, measured ones within 5%.',
    ],
    tables: [
      {
        id: 'published',
        figures: 'Published: as printed by the source. This run: the median of the cell, measured or composed as the Source column says',
        columns: columns([['Cell', 'left'], ['Figure', 'left'], ['Published', 'right'], ['This run', 'right'], ['Source', 'left'], ['Difference', 'right'], ['Check', 'left']]),
        rows,
      },
    ],
    charts: [],
  };
}

export function axeraSections(result: RunResult): Section[] {
  const published = publishedSection(result);
  return published ? [published] : [];
}
