/**
 * Every marker a table prints beside or instead of a figure, with what it means: one marker per
 * meaning, defined once here. Renderers append a cell's markers to its text (render/markdown.ts
 * cellText), and the legend (report.md, the site's index and run pages) is this list, so a
 * reader can look up any marker a table shows.
 */
import { NOISE_THRESHOLDS } from '../harness/cell-quality.ts';
import { medianRanks } from '../core/stats.ts';
import type { Marker, Section } from './report-model.ts';

export type { Marker } from './report-model.ts';

/** Fewest values with a distribution-free 95% interval of the median (6). */
export const MIN_VALUES_FOR_MEDIAN_INTERVAL = (() => {
  let n = 1;
  while (!medianRanks(n)) n += 1;
  return n;
})();

const t = NOISE_THRESHOLDS;

export const MARKERS: Readonly<Record<Marker, { text: string; meaning: string }>> = {
  noisy: { text: '~noisy', meaning: `noisy: the 95% interval of the median is wider than ±${t.ciHalfWidthPct}% of the median` },
  few: {
    text: '~few',
    meaning: `few values: fewer than ${MIN_VALUES_FOR_MEDIAN_INTERVAL} give no distribution-free 95% interval of the median, so the spread shown is the range (min–max) of the n values`,
  },
  busy: { text: '~busy', meaning: `busy machine: load from other work above ${t.otherLoadPerCpu} × the CPU count while measured` },
  steal: { text: '~steal', meaning: `CPU steal above ${t.stealPct}% while measured: the hypervisor gave the cores to other guests` },
  'run-queue': { text: '~run-queue', meaning: `the run's threads waited for a CPU over ${t.runQueueWaitPct}% of their runnable time while measured` },
  throttled: { text: '~throttled', meaning: 'throttled: clocks dropped or a temperature limit was crossed while measured' },
  clocks: { text: '~clocks', meaning: "board clocks not locked at their maximum, or their limits or speed changed, while measured (the cell's board state says which)" },
  'power-mode': { text: '~power-mode', meaning: "the board was in another power mode than the run's header says (or it changed) while measured: not the configuration the header describes" },
  'no-simd': {
    text: '~no-simd',
    meaning: "the runtime was built without this CPU's SIMD (e.g. a llama.cpp binding without AVX2): the figure is that build's speed, not the machine's",
  },
  flagged: { text: '(!)', meaning: 'another flag the run set on the figure (its note says which)' },
  composed: {
    text: 'composed',
    meaning: 'composed: built by arithmetic from other figures, not measured end to end (Axera method: sums of ax_run_model per-graph averages; llama.cpp image cells: the image_encode / prefill split inside a measured TTFT)',
  },
  'tool-reported': { text: 'tool-reported', meaning: "tool-reported: durations the program under test printed about itself (e.g. llama.cpp's timing block), parsed from its output; the run's clock only timed the whole command" },
  'wrong-output': {
    text: 'WRONG OUTPUT',
    meaning: 'the quantised model failed the accuracy gate against its fp32 build on this machine (the reason is shown): the figure was measured, but on a model that computes wrong outputs',
  },
  failed: { text: 'FAILED', meaning: 'the cell failed: no figure (the reason is shown)' },
  'not-run': { text: 'not run', meaning: 'planned in the run but not measured (interrupted or filtered out)' },
  differs: { text: 'DIFFERS', meaning: 'the published figure and this run\'s differ beyond rounding (composed) or the tolerance (measured)' },
  'no-figure': { text: '–', meaning: 'no figure: the cell has no such metric' },
  'no-run': { text: '·', meaning: 'no run measured this combination' },
};

export const markerText = (m: Marker): string => MARKERS[m].text;

/** The legend: every marker and its meaning, one line each (Markdown bullets, HTML list items). */
export function legendLines(): string[] {
  return Object.values(MARKERS).map((m) => `\`${m.text}\`: ${m.meaning}`);
}

/** The legend as a report section: what the figures are (`figures`), then every marker. */
export function legendSection(figures: string): Section {
  return { id: 'legend', heading: 'Legend', notes: [`${figures} Markers after a figure or in its place:`], tables: [], charts: [], bullets: legendLines() };
}

/** A run's flag on a figure (its kind, or the sentence older results stored) as its marker. */
export function flagMarker(flag: string | { kind?: string; reason?: string; message?: string }): Marker | undefined {
  const kind = typeof flag === 'string' ? undefined : flag.kind;
  switch (kind) {
    case 'noisy':
      return 'noisy';
    case 'few-iterations':
      return 'few';
    case 'busy':
      return 'busy';
    case 'steal':
      return 'steal';
    case 'run-queue':
      return 'run-queue';
    case 'throttled':
      return 'throttled';
    case 'clocks':
      return 'clocks';
    case 'power-mode':
      return 'power-mode';
    case 'no-simd':
      return 'no-simd';
    case 'outliers':
      // Outliers are kept in every figure and counted in the Statistics table's own column.
      return undefined;
  }
  const text = typeof flag === 'string' ? flag : `${flag.reason ?? ''} ${flag.message ?? ''}`;
  if (/steal/i.test(text)) return 'steal';
  if (/waited for a CPU|run-queue/i.test(text)) return 'run-queue';
  if (/throttl/i.test(text)) return 'throttled';
  if (/busy|load/i.test(text)) return 'busy';
  if (/nois|spread|cv/i.test(text)) return 'noisy';
  return 'flagged';
}
