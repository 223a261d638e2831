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
 */
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

/** What a cell's `timing` setting says about its figures, or a default sentence per source. */
export function figureSourceDetail(settings: Readonly<Record<string, unknown>>): string {
  const timing = settings['timing'];
  if (typeof timing === 'string' && timing.trim()) return timing.trim();
  return "measured on the run's monotonic clock";
}
