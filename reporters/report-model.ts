/**
 * The report model: what a run's report says, as data. `buildReport` (build-report.ts) makes
 * it from a RunResult alone; renderers turn it into Markdown (render/markdown.ts), PNG charts
 * (render/png.ts) and HTML (publish/). A renderer decides layout only: every figure, its
 * label, its unit and whether it was measured or composed is decided here, once.
 */
import type { ChartConfiguration } from 'chart.js';

/**
 * Where a figure comes from, or what is wrong with it. `measured` = a statistic of measured
 * iterations on the run's clock; `tool-reported` = durations the program under test printed
 * about itself (parsed from its output); `composed` = built by arithmetic from measured parts (the Axera method), never
 * measured end to end; `published` = copied from a reference (a model card); `derived` =
 * computed from other figures of the same table (a share, a difference). The rest are flags a
 * reader must see: `noisy` (spread too wide), `busy` (machine loaded while measuring),
 * `flagged` (anything else the run marked, e.g. throttled), `differs` (published vs ours
 * beyond rounding), `failed` (no figure: the cell failed), `missing` (not run, or not known).
 */
export type FigureStatus = 'measured' | 'tool-reported' | 'composed' | 'published' | 'derived' | 'noisy' | 'busy' | 'flagged' | 'differs' | 'failed' | 'missing';

/** A marker printed after a figure or in its place; markers.ts gives each its text and meaning (the legend). */
export type Marker =
  | 'noisy'
  | 'few'
  | 'busy'
  | 'steal'
  | 'run-queue'
  | 'throttled'
  | 'clocks'
  | 'power-mode'
  | 'no-simd'
  | 'flagged'
  | 'composed'
  | 'tool-reported'
  | 'wrong-output'
  | 'failed'
  | 'not-run'
  | 'differs'
  | 'no-figure'
  | 'no-run';

export interface TableCell {
  /** The text every renderer prints (already formatted; Markdown prints it verbatim). */
  text: string;
  /** The number behind the text, for charts, sorting and HTML hover. */
  value?: number;
  unit?: string;
  status?: FigureStatus;
  /** Interval around `value`: never outside what the quantity can take; `intervalOf` says what it is. */
  interval?: [number, number];
  /** The distribution-free 95% interval of the median, or the range min–max when n is too small for one (figures.ts). */
  intervalOf?: 'median-ci' | 'range';
  /** Markers printed after the text (markers.ts: one per meaning, each in the legend). */
  marks?: Marker[];
  /** Samples the figure rests on. */
  n?: number;
  /** Why the cell has its status, for a tooltip or a footnote. */
  note?: string;
  /** Relative link (e.g. to a run's page) for renderers that can follow one. */
  link?: string;
}

export type Alignment = 'left' | 'right' | 'center';

export interface TableColumn {
  header: string;
  align: Alignment;
}

export interface Table {
  /** Stable id, for anchors and tests (e.g. "summary", "subgraphs"). */
  id: string;
  /** A heading of its own above the table (one table of several in a section). */
  caption?: string;
  /** What the figures are: "medians of 8 measured iterations per cell", said under the caption. */
  figures?: string;
  columns: TableColumn[];
  rows: TableCell[][];
  /** Printed instead of the table when it has no rows. */
  empty?: string;
  /**
   * A table too long to read whole: page renderers (Markdown) show the first `maxRows` rows and
   * say where the rest is (`rest`, e.g. a CSV written beside the report); data renderers
   * (CSV, JSON, HTML with paging) keep every row.
   */
  display?: { maxRows: number; rest: string };
}

/**
 * A chart as data: a chart.js configuration that is JSON (no functions), drawn the same way by
 * the PNG renderer and in a browser. Drawing helpers that chart.js lacks (error bars, phase
 * bands) are plugins in render/chart-plugins.ts reading `options.plugins.<id>`.
 */
export interface ChartSpec {
  /** File name stem of the PNG ("ttft-vs-images"); unique within a report. */
  id: string;
  title: string;
  width: number;
  height: number;
  config: ChartConfiguration;
}

export interface Section {
  id: string;
  heading: string;
  /** Paragraphs before the tables. */
  notes: string[];
  tables: Table[];
  charts: ChartSpec[];
  /** A bulleted list after the tables (failed cells, notes that apply to some rows). */
  bullets?: string[];
  /** Paragraphs after the tables and bullets: what a table leaves out, facts that qualify it. */
  footnotes?: string[];
}

export interface Report {
  title: string;
  /** The facts a reader needs before any figure: target, versions, options, status, models. */
  facts: string[];
  /** Tables between the facts and the notes: facts that set sides against each other (a comparison's base and candidate runs). */
  tables?: Table[];
  /** Paragraphs between the facts and the first section. */
  notes: string[];
  sections: Section[];
  /** Charts that belong to no table (one per report, drawn after the sections). */
  charts: ChartSpec[];
  /** Paragraphs in small type at the very end (the method a comparison used). */
  smallPrint?: string[];
}

export const cell = (text: string, more: Omit<TableCell, 'text'> = {}): TableCell => ({ text, ...more });

/**
 * `text` as a code span of the model's light markup, whatever it holds: the fence is longer than
 * any run of backticks inside (CommonMark), so an id with a backtick stays one literal span.
 */
export function codeSpan(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

export const columns = (spec: Array<[string, Alignment]>): TableColumn[] => spec.map(([header, align]) => ({ header, align }));

/** Every chart of a report, section charts first. */
export function allCharts(report: Report): ChartSpec[] {
  return [...report.sections.flatMap((s) => s.charts), ...report.charts];
}
