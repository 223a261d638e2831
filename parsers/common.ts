/**
 * Small helpers shared by the vendor-output parsers: number reading (decimal commas, inf/nan),
 * line splitting and error construction.
 *
 * Conventions for every parser result in this folder:
 * - times are milliseconds, sizes are bytes, rates are per second;
 * - a figure the tool did not print is absent (optional property), never guessed;
 * - a figure the tool printed as `inf` / `nan` / `-nan` (a division by a zero time or count) is
 *   `null`: it was printed, but it is not a number a report may use.
 */
import { ParseError } from '../core/errors.ts';

/**
 * One printed number: optional sign, digits with a '.' or ',' decimal separator (llama.cpp
 * prints with the C locale of the machine, so "106,78" occurs), or inf/nan. No capture groups,
 * so it can be embedded in larger patterns.
 */
export const NUM = String.raw`[-+]?(?:\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?|[.,]\d+|[iI]nf(?:inity)?|[nN]a[nN])`;

/** Reads one number matched by NUM; returns NaN / ±Infinity for nan / inf. */
export function readNumber(raw: string): number {
  const text = raw.trim();
  const lower = text.toLowerCase();
  const sign = lower.startsWith('-') ? -1 : 1;
  const unsigned = lower.replace(/^[-+]/, '');
  if (unsigned === 'inf' || unsigned === 'infinity') return sign * Infinity;
  if (unsigned === 'nan') return NaN;
  // A single comma between digits is a decimal separator: no tool here groups thousands.
  return Number(text.replace(/^([-+]?\d*),(\d+)/, '$1.$2'));
}

/** Like readNumber, but inf/nan become null (printed, yet not a usable figure). */
export function readFiniteOrNull(raw: string): number | null {
  const value = readNumber(raw);
  return Number.isFinite(value) ? value : null;
}

/** Splits text into lines without line terminators (LF or CRLF). */
export function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

/** Throws a ParseError; `index` is a 0-based line index (converted to the 1-based line shown). */
export function failAt(source: string, index: number | undefined, reason: string): never {
  throw new ParseError(source, index === undefined ? undefined : index + 1, reason);
}

/** Rejects input that is empty or clearly not text (binary data). */
export function assertText(text: string, source: string, what: string): void {
  if (text.trim() === '') failAt(source, undefined, `empty input: expected ${what}`);
  // A NUL byte never occurs in the text logs and JSON files parsed here.
  const nul = text.indexOf('\u0000');
  if (nul >= 0) {
    const line = text.slice(0, nul).split('\n').length - 1;
    failAt(source, line, `binary data (NUL byte): expected ${what}`);
  }
}

/** Converts a size with a binary unit as the tools print them ("40396 MiB", "164 KiB") to bytes. */
export function bytesFromUnit(value: number, unit: string): number {
  const factors: Record<string, number> = {
    b: 1,
    bytes: 1,
    kib: 1024,
    kb: 1024,
    mib: 1024 ** 2,
    mb: 1024 ** 2,
    gib: 1024 ** 3,
    gb: 1024 ** 3,
    tib: 1024 ** 4,
  };
  const factor = factors[unit.toLowerCase()];
  if (factor === undefined) throw new Error(`unknown size unit "${unit}"`);
  // Printed sizes are rounded (e.g. "3.56 GiB"); a whole byte count is all that is meaningful.
  return Math.round(value * factor);
}

/** Formats a number for terminal summaries; null/undefined print as "—". */
export function fmt(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined) return '—';
  if (!Number.isFinite(value)) return String(value);
  return value.toFixed(digits);
}
