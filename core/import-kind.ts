/** A log format `bench import KIND FILE [--json]` understands (board tools, probes, profilers). */
export interface ImportKind {
  kind: string;
  description: string;
  /** Throws ParseError (core/errors.ts) naming the source, the line and what was expected. */
  parse(text: string, source: string): unknown;
  /** A short human-readable summary of what `parse` returned. */
  summarize(parsed: unknown): string;
}
