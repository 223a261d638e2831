import { InputError } from '../core/errors.ts';
import type { ImportKind } from '../core/import-kind.ts';
import { parseNvidiaSmiCsv, smiPowerBasis, smiRowToSample, smiText, smiTimestampMs, type SmiColumn, type SmiPowerBasis, type SmiRow } from './nvidia-smi/parse.ts';
import { summarizeSamples } from './summary.ts';
import { parseTegrastatsText, tegrastatsToSample, type TegrastatsReading } from './tegrastats/parse.ts';
import type { HwSample } from '../core/probe-types.ts';

export interface ImportedTegrastats {
  kind: 'tegrastats';
  source: string;
  readings: TegrastatsReading[];
  markers: Array<{ line: number; text: string }>;
  /**
   * Normalised samples. With timestamps on every record, tMs is ms since the first one (1 s
   * resolution); without, tMs is the record index and no energy is computed.
   */
  samples: HwSample[];
  timed: boolean;
}

export interface ImportedNvidiaSmi {
  kind: 'nvidia-smi';
  source: string;
  columns: SmiColumn[];
  rows: SmiRow[];
  /** Samples of rows that carry GPU fields; tMs from the timestamp column when present. */
  samples: HwSample[];
  timed: boolean;
  powerBases: SmiPowerBasis[];
}

export function importTegrastats(text: string, source: string): ImportedTegrastats {
  const { readings, markers } = parseTegrastatsText(text, source);
  const timed = readings.every((r) => r.deviceClockMs !== undefined);
  const origin = timed ? readings[0]!.deviceClockMs! : 0;
  const samples = readings.map((r, i) => tegrastatsToSample(r, timed ? r.deviceClockMs! - origin : i));
  return { kind: 'tegrastats', source, readings, markers, samples, timed };
}

export function importNvidiaSmi(text: string, source: string): ImportedNvidiaSmi {
  const { columns, rows } = parseNvidiaSmiCsv(text, source);
  const times = rows.map((r) => {
    const ts = smiText(r, 'timestamp');
    return ts !== undefined ? smiTimestampMs(ts) : undefined;
  });
  const timed = rows.length > 0 && times.every((t) => t !== undefined);
  const origin = timed ? times[0]! : 0;
  const samples = rows.map((r, i) => smiRowToSample(r, timed ? times[i]! - origin : i, i));
  return { kind: 'nvidia-smi', source, columns, rows, samples, timed, powerBases: [...new Set(rows.map(smiPowerBasis))] };
}

function expectKind<T extends { kind: string }>(parsed: unknown, kind: T['kind']): T {
  if (!parsed || typeof parsed !== 'object' || (parsed as { kind?: unknown }).kind !== kind) {
    throw new InputError(`summarize: expected the result of parsing a ${kind} file`);
  }
  return parsed as T;
}

export function summarizeTegrastats(parsed: unknown): string {
  const t = expectKind<ImportedTegrastats>(parsed, 'tegrastats');
  const first = t.readings[0]!;
  const last = t.readings[t.readings.length - 1]!;
  const span = t.timed ? `${first.deviceTime} .. ${last.deviceTime}` : 'no timestamps';
  const lines = [`tegrastats: ${t.readings.length} records, lines ${first.line}-${last.line}, ${span}`];
  if (t.markers.length) lines.push(`markers: ${t.markers.map((m) => `line ${m.line} "${m.text}"`).join('; ')}`);
  const repeated = t.samples.filter((s, i) => i > 0 && s.tMs === t.samples[i - 1]!.tMs).length;
  if (t.timed && repeated > 0) {
    lines.push(`${repeated} record(s) share their second with the previous one: energy from 1 s timestamps is approximate`);
  }
  lines.push(...summarizeSamples(t.samples, t.timed, t.timed ? 'timestamps have 1 s resolution' : 'the log has no timestamps'));
  return lines.join('\n');
}

export function summarizeNvidiaSmi(parsed: unknown): string {
  const n = expectKind<ImportedNvidiaSmi>(parsed, 'nvidia-smi');
  const lines = [`nvidia-smi CSV: ${n.rows.length} rows, ${n.columns.length} columns${n.timed ? '' : ', no timestamp column'}`];
  const hasGpuFields = n.columns.some((c) => /^(power\.draw|utilization\.gpu|clocks\.)/.test(c.field));
  if (!hasGpuFields) {
    lines.push(`no GPU power/utilisation columns (columns: ${n.columns.map((c) => c.field).slice(0, 8).join(', ')}${n.columns.length > 8 ? ', ...' : ''})`);
    return lines.join('\n');
  }
  if (n.powerBases.includes('power.draw')) lines.push('power from power.draw: a 1 s average on Ampere and newer GPUs (power.draw.instant not in the file)');
  if (n.powerBases.includes('power.draw.instant')) lines.push('power from power.draw.instant (power.draw.average kept separately, not integrated)');
  if (n.powerBases.includes('none')) lines.push('some rows have no power reading ([N/A])');
  lines.push(...summarizeSamples(n.samples, n.timed, n.timed ? 'timestamps from the timestamp column' : 'no timestamp column'));
  return lines.join('\n');
}

export const probeImportKinds: ImportKind[] = [
  {
    kind: 'tegrastats',
    description: 'a saved tegrastats log (any JetPack 3-7 format, with or without timestamps): per-rail power, energy, temperatures, memory, GPU load',
    parse: importTegrastats,
    summarize: summarizeTegrastats,
    recognised: (parsed) => expectKind<ImportedTegrastats>(parsed, 'tegrastats').readings.length,
  },
  {
    kind: 'nvidia-smi',
    description: 'nvidia-smi --query-gpu=... --format=csv[,nounits] output: per-GPU power (instant vs average), utilisation, clocks, memory, temperature',
    parse: importNvidiaSmi,
    summarize: summarizeNvidiaSmi,
    // Rows that carry GPU figures; a header alone (or one long line) is nothing.
    recognised: (parsed) => expectKind<ImportedNvidiaSmi>(parsed, 'nvidia-smi').samples.length,
  },
];
