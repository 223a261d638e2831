/**
 * How a cell's figures were obtained, one word a reader can trust everywhere (result.json,
 * report.md, comparisons, the site):
 *  - measured: timed on the run's own monotonic clock (core/clock.ts), around the work itself;
 *  - tool-reported: durations the program under test printed about itself (llama.cpp's timing
 *    block, ax-llm's log), parsed from its output; the run's clock only saw the whole command;
 *  - composed: arithmetic on other figures (the Axera method: sums of ax_run_model averages).
 *
 * A runner states it in the cell's settings: `figureSource` (one of the words) and `timing` (a
 * sentence that starts with the same word and says whose tool / which lines / composed from what).
 * Results written before `figureSource` existed are read from the `timing` prefix.
 *
 * Per metric: a runner whose cell mixes sources (llama.cpp image cells: TTFT and TPOT measured,
 * the image_encode / prefill split inside TTFT composed) declares the metrics that differ from
 * the cell's source in `figureSourceByMetric` ("image_encode_ms=composed prefill_ms=composed",
 * written by metricSourcesSetting) and says how in `figureSourceByMetricDetail`. A metric read
 * from a phase's windows (its registry definition's `phases`: prefill_tokens_per_s, energy and
 * power of a phase) takes the source of that phase's `<phase>_ms` metric unless declared itself.
 */
import { metricDefinition } from './metric-registry.ts';

export const FIGURE_SOURCES = ['measured', 'tool-reported', 'composed'] as const;
export type FigureSource = (typeof FIGURE_SOURCES)[number];

const isFigureSource = (v: unknown): v is FigureSource => typeof v === 'string' && (FIGURE_SOURCES as readonly string[]).includes(v);

/** The source of a cell's figures from its settings (`figureSource`, else the `timing` prefix, else measured). */
export function figureSourceOf(settings: Readonly<Record<string, unknown>>): FigureSource {
  const stated = settings['figureSource'];
  if (isFigureSource(stated)) return stated;
  const timing = String(settings['timing'] ?? '');
  if (timing.startsWith('composed')) return 'composed';
  // Results before "tool-reported" existed called the ax-llm demo's own log "measured: the demo's own log".
  if (timing.startsWith('tool-reported') || timing.startsWith("measured: the demo's own log")) return 'tool-reported';
  return 'measured';
}

/**
 * What a cell's `timing` setting says about its figures, or a default sentence per source; with
 * a metric whose source is its own, the cell's per-metric sentence instead.
 */
export function figureSourceDetail(settings: Readonly<Record<string, unknown>>, metric?: string): string {
  if (metric !== undefined && metricFigureSource(settings, metric) !== figureSourceOf(settings)) {
    const detail = settings[METRIC_SOURCES_DETAIL_SETTING];
    const source = metricFigureSource(settings, metric);
    return typeof detail === 'string' && detail.trim() ? `${metric} ${source}: ${detail.trim()}` : `${metric} ${source}`;
  }
  const timing = settings['timing'];
  if (typeof timing === 'string' && timing.trim()) return timing.trim();
  return "measured on the run's monotonic clock";
}

/** The settings key of per-metric sources, and of the sentence that says how they were obtained. */
export const METRIC_SOURCES_SETTING = 'figureSourceByMetric';
export const METRIC_SOURCES_DETAIL_SETTING = 'figureSourceByMetricDetail';

const METRIC_NAME = /^[a-z][a-z0-9_]*$/;

/** The setting value of per-metric sources ("image_encode_ms=composed prefill_ms=composed"). */
export function metricSourcesSetting(sources: Readonly<Record<string, FigureSource>>): string {
  return Object.entries(sources)
    .map(([metric, source]) => {
      if (!METRIC_NAME.test(metric)) throw new Error(`figure source of "${metric}": not a metric name`);
      return `${metric}=${source}`;
    })
    .join(' ');
}

/** Per-metric sources a cell declares; entries that are not "metric=source" (an edited result file) are ignored. */
export function declaredMetricSources(settings: Readonly<Record<string, unknown>>): Map<string, FigureSource> {
  const out = new Map<string, FigureSource>();
  const value = settings[METRIC_SOURCES_SETTING];
  if (typeof value !== 'string') return out;
  for (const entry of value.split(/\s+/)) {
    const [metric, source] = entry.split('=');
    if (metric && METRIC_NAME.test(metric) && isFigureSource(source)) out.set(metric, source);
  }
  return out;
}

/** How one metric of a cell was obtained: declared for it, else inherited from the phase it reads, else the cell's source. */
export function metricFigureSource(settings: Readonly<Record<string, unknown>>, metric: string): FigureSource {
  const declared = declaredMetricSources(settings);
  const own = declared.get(metric);
  if (own) return own;
  for (const phase of metricDefinition(metric)?.phases ?? []) {
    const ofPhase = declared.get(`${phase}_ms`);
    if (ofPhase) return ofPhase;
  }
  return figureSourceOf(settings);
}

/** Metrics of a cell whose source is not the cell's own (declared, or read from such a phase), among `metrics`. */
export function metricsWithOwnSource(settings: Readonly<Record<string, unknown>>, metrics: Iterable<string>): Array<{ metric: string; source: FigureSource }> {
  const cell = figureSourceOf(settings);
  const out: Array<{ metric: string; source: FigureSource }> = [];
  for (const metric of metrics) {
    const source = metricFigureSource(settings, metric);
    if (source !== cell) out.push({ metric, source });
  }
  return out;
}
