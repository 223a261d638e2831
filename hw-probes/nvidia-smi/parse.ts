import { ParseError } from '../../core/errors.ts';
import type { GpuSample, HwSample, RailSample } from '../../core/probe-types.ts';

/**
 * Parser for `nvidia-smi --query-gpu=... --format=csv[,nounits]`. The header names the fields
 * (with units in brackets, kept even under nounits); cells are "value unit", a bare value, or a
 * placeholder: `[N/A]`, `N/A`, `[Not Supported]`, `[Requested functionality has been deprecated]`,
 * or empty. Placeholders become null with the reason kept, never 0.
 */

export interface SmiColumn {
  /** Field name as queried, e.g. "power.draw.instant". */
  field: string;
  /** Unit from the header bracket ("W", "MiB", "%"), if any. */
  unit?: string;
}

export type SmiCell =
  | { kind: 'number'; value: number; unit?: string }
  | { kind: 'text'; value: string }
  | { kind: 'missing'; reason: string };

export interface SmiRow {
  /** 1-based line in the text. */
  line: number;
  cells: Record<string, SmiCell>;
}

export interface SmiCsv {
  columns: SmiColumn[];
  rows: SmiRow[];
}

const HEADER_CELL_RE = /^([a-z_][\w.]*)(?: \[([^\]]+)\])?$/i;
const NUMBER_CELL_RE = /^(-?\d+(?:\.\d+)?)(?: ([A-Za-z%]+))?$/;

export function parseSmiHeader(line: string, source: string, lineNo: number): SmiColumn[] {
  return splitCells(line).map((cell, i) => {
    const m = HEADER_CELL_RE.exec(cell);
    if (!m) throw new ParseError(source, lineNo, `nvidia-smi CSV header: column ${i + 1} "${cell}" is not a field name`);
    return m[2] !== undefined ? { field: m[1]!, unit: m[2] } : { field: m[1]! };
  });
}

function splitCells(line: string): string[] {
  // nvidia-smi separates cells with ", " and never quotes; GPU names contain no commas.
  return line.split(',').map((c) => c.trim());
}

export function parseSmiCell(text: string): SmiCell {
  const t = text.trim();
  if (t === '') return { kind: 'missing', reason: 'empty' };
  if (t === 'N/A' || t === '[N/A]') return { kind: 'missing', reason: 'N/A' };
  if (/^\[.*\]$/.test(t)) return { kind: 'missing', reason: t.slice(1, -1) };
  const m = NUMBER_CELL_RE.exec(t);
  if (m) return m[2] !== undefined ? { kind: 'number', value: Number(m[1]), unit: m[2] } : { kind: 'number', value: Number(m[1]) };
  return { kind: 'text', value: t };
}

/** Incremental parser, for the live `-lms` stream: feed lines one by one. */
export class SmiCsvReader {
  columns: SmiColumn[] | null = null;
  private headerLine = '';

  constructor(private readonly source: string) {}

  /** Returns a row, or null for a header, a comment or a blank line. */
  push(line: string, lineNo: number): SmiRow | null {
    const t = line.trim();
    if (!t || t.startsWith('#')) return null;
    if (!this.columns) {
      this.columns = parseSmiHeader(t, this.source, lineNo);
      this.headerLine = t;
      return null;
    }
    if (t === this.headerLine) return null;
    const cells = splitCells(t);
    if (cells.length !== this.columns.length) {
      throw new ParseError(this.source, lineNo, `nvidia-smi CSV row has ${cells.length} cells, the header has ${this.columns.length}`);
    }
    const row: SmiRow = { line: lineNo, cells: {} };
    this.columns.forEach((col, i) => {
      row.cells[col.field] = parseSmiCell(cells[i]!);
    });
    return row;
  }
}

export function parseNvidiaSmiCsv(text: string, source = 'nvidia-smi'): SmiCsv {
  const reader = new SmiCsvReader(source);
  const rows: SmiRow[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const row = reader.push(line, i + 1);
    if (row) rows.push(row);
  });
  if (!reader.columns) throw new ParseError(source, undefined, 'no nvidia-smi CSV header found (expected e.g. "timestamp, index, power.draw [W]")');
  return { columns: reader.columns, rows };
}

export function smiNumber(row: SmiRow, field: string): number | undefined {
  const c = row.cells[field];
  return c?.kind === 'number' ? c.value : undefined;
}

export function smiText(row: SmiRow, field: string): string | undefined {
  const c = row.cells[field];
  if (c?.kind === 'text') return c.value;
  if (c?.kind === 'number') return String(c.value);
  return undefined;
}

/**
 * Which column instantaneous power comes from. `power.draw.instant` is instantaneous;
 * `power.draw` is a 1 s average on Ampere and newer (instantaneous on older GPUs), so it is used
 * only when the instant column is absent, and the result says so.
 */
export type SmiPowerBasis = 'power.draw.instant' | 'power.draw' | 'none';

export function smiPowerBasis(row: SmiRow): SmiPowerBasis {
  if (smiNumber(row, 'power.draw.instant') !== undefined) return 'power.draw.instant';
  if (smiNumber(row, 'power.draw') !== undefined) return 'power.draw';
  return 'none';
}

/** Normalised sample of one row (one GPU at one poll), stamped at `tMs`. */
export function smiRowToSample(row: SmiRow, tMs: number, fallbackIndex = 0): HwSample {
  const index = smiNumber(row, 'index') ?? fallbackIndex;
  const gpu: GpuSample = { index };
  const set = <K extends keyof GpuSample>(key: K, value: GpuSample[K] | undefined): void => {
    if (value !== undefined) gpu[key] = value;
  };
  set('name', smiText(row, 'name'));
  set('loadPct', smiNumber(row, 'utilization.gpu'));
  set('memoryLoadPct', smiNumber(row, 'utilization.memory'));
  set('mhz', smiNumber(row, 'clocks.current.graphics') ?? smiNumber(row, 'clocks.gr'));
  set('memoryUsedMb', smiNumber(row, 'memory.used'));
  set('memoryTotalMb', smiNumber(row, 'memory.total'));
  set('temperatureC', smiNumber(row, 'temperature.gpu'));

  const sample: HwSample = { tMs, probe: 'nvidia-smi', gpus: [gpu] };
  const ts = smiText(row, 'timestamp');
  if (ts !== undefined) sample.deviceTime = ts;
  const basis = smiPowerBasis(row);
  const average = smiNumber(row, 'power.draw.average');
  if (basis !== 'none' || average !== undefined) {
    const rail: RailSample = { name: `GPU${index}`, powerMw: basis === 'none' ? null : smiNumber(row, basis)! * 1000 };
    if (average !== undefined) rail.toolAverageMw = average * 1000;
    sample.rails = [rail];
  }
  return sample;
}

/**
 * Reads the printed timestamp ("2026/07/14 08:12:53.353") as if UTC, ms. Only differences
 * between rows mean anything.
 */
export function smiTimestampMs(text: string): number | undefined {
  const m = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s) + (m[7] ? Number(m[7].padEnd(3, '0')) : 0);
}
