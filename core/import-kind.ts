/** A log format `bench import KIND FILE [--json]` understands (board tools, probes, profilers). */
export interface ImportKind {
  kind: string;
  description: string;
  /** Throws ParseError (core/errors.ts) naming the source, the line and what was expected. */
  parse(text: string, source: string): unknown;
  /** A short human-readable summary of what `parse` returned. */
  summarize(parsed: unknown): string;
  /**
   * How many records of this format `parse` found (runs, turns, timing blocks, samples): zero
   * means the file held nothing this kind recognises, which `bench import` refuses.
   */
  recognised(parsed: unknown): number;
}
