/**
 * Parser for `llama-bench` results in its output formats: `-o md` (the default table, including
 * the legacy "pp 512" labels, the "threads" column of CPU sweeps and "@ d512" depth labels),
 * `-o csv`, `-o json` and `-o jsonl`.
 *
 * What llama-bench measures (tools/llama-bench, see shared/reference/anchors.md §2): t/s is the
 * mean ± sample stdev of per-repetition throughputs (tokens / time of that repetition), not
 * total tokens / total time. pp = prompt processing (prefill), tg = text generation (decode).
 * Tokenization, sampling and image encoding are not included.
 */
import { NUM, assertText, bytesFromUnit, failAt, fmt, readNumber, splitLines } from './common.ts';
import { lineIndex, parseJsonDocument, topLevelElementOffsets } from './json-text.ts';
import { errorMessage } from '../core/errors.ts';

export interface LlamaBenchRow {
  /** 1-based line of the row (markdown/csv/jsonl) or of the object (json). */
  line: number;
  /** Model description as printed ("qwen2 7B Q4_K - Medium"). */
  model: string;
  modelFile?: string;
  /** Model size in bytes (exact in csv/json; from the rounded "3.56 GiB" in markdown). */
  sizeBytes?: number;
  /** Parameter count (exact in csv/json; from the rounded "6.74 B" in markdown). */
  params?: number;
  backend?: string;
  ngl?: number;
  threads?: number;
  /** Test label as printed ("pp 512", "pp512 @ d512") or, for csv/json, built the same way ("pp512"). */
  test: string;
  nPrompt?: number;
  nGen?: number;
  nDepth?: number;
  /** Mean of per-repetition tokens/s. */
  tokensPerSecond: number;
  /** Sample stdev of per-repetition tokens/s. */
  tokensPerSecondStdev?: number;
  /** Mean / stdev of the repetition time, ms (csv/json only). */
  avgMs?: number;
  stdevMs?: number;
  samplesMs?: number[];
  samplesTokensPerSecond?: number[];
  buildCommit?: string;
  buildNumber?: number;
  testTime?: string;
  /** Every other column or field, as printed. */
  extra: Record<string, string | number | boolean>;
}

export interface LlamaBenchResult {
  format: 'markdown' | 'csv' | 'json' | 'jsonl';
  /** "build: 8cf427ff (5163)" printed under a markdown table. */
  build?: { commit: string; number: number };
  rows: LlamaBenchRow[];
}

const TEST_LABEL = /^(pp|tg)\s*(\d+)(?:\s*\+\s*tg\s*(\d+))?(?:\s*@\s*d\s*(\d+))?$/;
const TS_CELL = new RegExp(String.raw`^(${NUM})(?:\s*±\s*(${NUM}))?$`);
const SCALE: Record<string, number> = { K: 1e3, M: 1e6, B: 1e9, G: 1e9, T: 1e12 };

function applyTestLabel(row: LlamaBenchRow): void {
  const m = TEST_LABEL.exec(row.test);
  if (!m) return;
  const n = Number(m[2]);
  if (m[1] === 'pp') {
    row.nPrompt = n;
    row.nGen = m[3] !== undefined ? Number(m[3]) : 0;
  } else {
    row.nPrompt = 0;
    row.nGen = n;
  }
  row.nDepth = m[4] !== undefined ? Number(m[4]) : 0;
}

/** The label llama-bench prints for a test with these counts. */
export function llamaBenchTestLabel(nPrompt: number, nGen: number, nDepth: number): string {
  const base = nPrompt > 0 && nGen > 0 ? `pp${nPrompt}+tg${nGen}` : nPrompt > 0 ? `pp${nPrompt}` : `tg${nGen}`;
  return nDepth > 0 ? `${base} @ d${nDepth}` : base;
}

function splitRow(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
}

function parseMarkdown(lines: string[], source: string): LlamaBenchResult | undefined {
  const rows: LlamaBenchRow[] = [];
  let build: LlamaBenchResult['build'];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const b = /^build:\s*([0-9a-f]{6,40})\s*\((\d+)\)$/.exec(line);
    if (b) {
      build = { commit: b[1]!, number: Number(b[2]) };
      continue;
    }
    if (!line.startsWith('|')) continue;
    const header = splitRow(line);
    const names = header.map((h) => h.toLowerCase());
    if (!names.includes('model') || !names.includes('t/s')) continue;
    const separator = lines[i + 1]?.trim() ?? '';
    if (!/^\|(\s*:?-+:?\s*\|)+\s*$/.test(separator)) failAt(source, i + 1, 'llama-bench table header is not followed by a "| --- |" separator row');
    const columns = names.map((h) => {
      const unit = /^(.*?)\s*\((\w+)\)$/.exec(h);
      return unit ? { name: unit[1]!, unit: unit[2]! } : { name: h, unit: undefined as string | undefined };
    });
    for (i = i + 2; i < lines.length && lines[i]!.trim().startsWith('|'); i++) {
      const cells = splitRow(lines[i]!);
      if (cells.length !== columns.length) {
        failAt(source, i, `llama-bench table row has ${cells.length} cells, the header has ${columns.length}`);
      }
      const row: LlamaBenchRow = { line: i + 1, model: '', test: '', tokensPerSecond: NaN, extra: {} };
      columns.forEach((col, c) => {
        const cell = cells[c]!;
        const original = header[c]!;
        switch (col.name) {
          case 'model':
            row.model = cell;
            break;
          case 'size': {
            const m = new RegExp(String.raw`^(${NUM})\s*([KMGT]i?B)?$`, 'i').exec(cell);
            const unit = m?.[2] ?? col.unit;
            if (!m || unit === undefined) failAt(source, i, `unreadable size "${cell}" (expected e.g. "3.56 GiB")`);
            row.sizeBytes = bytesFromUnit(readNumber(m[1]!), unit);
            break;
          }
          case 'params': {
            const m = new RegExp(String.raw`^(${NUM})\s*([KMBGT])?$`).exec(cell);
            const unit = m?.[2] ?? col.unit?.toUpperCase();
            const scale = unit !== undefined ? SCALE[unit] : undefined;
            if (!m || scale === undefined) failAt(source, i, `unreadable parameter count "${cell}" (expected e.g. "6.74 B")`);
            row.params = Math.round(readNumber(m[1]!) * scale);
            break;
          }
          case 'backend':
            row.backend = cell;
            break;
          case 'ngl':
          case 'threads': {
            if (!/^\d+$/.test(cell)) failAt(source, i, `column "${original}" should be a whole number, got "${cell}"`);
            if (col.name === 'ngl') row.ngl = Number(cell);
            else row.threads = Number(cell);
            break;
          }
          case 'test':
            row.test = cell;
            break;
          case 't/s': {
            const m = TS_CELL.exec(cell);
            if (!m) failAt(source, i, `unreadable t/s "${cell}" (expected "<mean> ± <stdev>")`);
            row.tokensPerSecond = readNumber(m[1]!);
            if (m[2] !== undefined) row.tokensPerSecondStdev = readNumber(m[2]);
            break;
          }
          default:
            row.extra[original] = cell;
        }
      });
      if (row.model === '' || row.test === '') failAt(source, i, 'llama-bench table row without model or test');
      applyTestLabel(row);
      rows.push(row);
    }
    i--;
  }
  if (rows.length === 0) return undefined;
  if (build) for (const row of rows) {
    row.buildCommit ??= build.commit;
    row.buildNumber ??= build.number;
  }
  return { format: 'markdown', ...(build ? { build } : {}), rows };
}

/** One CSV line (llama-bench quotes every field; quotes inside are doubled). */
function splitCsv(line: string, source: string, index: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= line.length) failAt(source, index, 'unterminated quoted CSV field');
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += line[i];
        i++;
      }
      out.push(value);
      if (i < line.length && line[i] !== ',') failAt(source, index, 'unexpected text after a quoted CSV field');
      i++;
    } else {
      const end = line.indexOf(',', i);
      out.push(end < 0 ? line.slice(i) : line.slice(i, end));
      i = end < 0 ? line.length + 1 : end + 1;
    }
  }
  return out;
}

const MAPPED = new Set([
  'build_commit',
  'build_number',
  'model_filename',
  'model_type',
  'model_size',
  'model_n_params',
  'backends',
  'n_gpu_layers',
  'n_threads',
  'n_prompt',
  'n_gen',
  'n_depth',
  'test_time',
  'avg_ns',
  'stddev_ns',
  'avg_ts',
  'stddev_ts',
  'samples_ns',
  'samples_ts',
]);

/** Builds a row from one csv record or json object (field names as llama-bench writes them). */
function rowFromRecord(record: Record<string, unknown>, line: number, source: string): LlamaBenchRow {
  const at = line - 1;
  const num = (key: string, required: boolean): number | undefined => {
    const v = record[key];
    if (v === undefined || v === '') {
      if (required) failAt(source, at, `llama-bench record lacks "${key}"`);
      return undefined;
    }
    const n = typeof v === 'number' ? v : typeof v === 'string' && new RegExp(`^${NUM}$`).test(v) ? readNumber(v) : NaN;
    if (Number.isNaN(n)) failAt(source, at, `llama-bench field "${key}" should be a number, got ${JSON.stringify(v)}`);
    return n;
  };
  const str = (key: string): string | undefined => {
    const v = record[key];
    return v === undefined ? undefined : String(v);
  };
  const list = (key: string): number[] | undefined => {
    const v = record[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) failAt(source, at, `llama-bench field "${key}" should be a list of numbers`);
    return v as number[];
  };
  const model = str('model_type');
  if (model === undefined) failAt(source, at, 'llama-bench record lacks "model_type"');
  const nPrompt = num('n_prompt', true)!;
  const nGen = num('n_gen', true)!;
  const nDepth = num('n_depth', false) ?? 0;
  const row: LlamaBenchRow = {
    line,
    model,
    test: llamaBenchTestLabel(nPrompt, nGen, nDepth),
    nPrompt,
    nGen,
    nDepth,
    tokensPerSecond: num('avg_ts', true)!,
    extra: {},
  };
  const optional: Array<[keyof LlamaBenchRow, number | string | number[] | undefined]> = [
    ['modelFile', str('model_filename')],
    ['sizeBytes', num('model_size', false)],
    ['params', num('model_n_params', false)],
    ['backend', str('backends')],
    ['ngl', num('n_gpu_layers', false)],
    ['threads', num('n_threads', false)],
    ['tokensPerSecondStdev', num('stddev_ts', false)],
    ['avgMs', (num('avg_ns', false) ?? NaN) / 1e6],
    ['stdevMs', (num('stddev_ns', false) ?? NaN) / 1e6],
    ['samplesMs', list('samples_ns')?.map((ns) => ns / 1e6)],
    ['samplesTokensPerSecond', list('samples_ts')],
    ['buildCommit', str('build_commit')],
    ['buildNumber', num('build_number', false)],
    ['testTime', str('test_time')],
  ];
  const target = row as unknown as Record<string, unknown>;
  for (const [key, value] of optional) {
    if (value === undefined || (typeof value === 'number' && Number.isNaN(value))) continue;
    target[key] = value;
  }
  for (const [key, value] of Object.entries(record)) {
    if (MAPPED.has(key)) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') row.extra[key] = value;
  }
  return row;
}

function asRecord(value: unknown, source: string, line: number, what: string): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) failAt(source, line - 1, `${what} should be a JSON object`);
  return value as Record<string, unknown>;
}

export function parseLlamaBench(text: string, source = '<input>'): LlamaBenchResult {
  assertText(text, source, 'llama-bench output (md, csv, json or jsonl)');
  const lines = splitLines(text);
  const trimmed = text.trimStart();
  const firstLine = lines.findIndex((l) => l.trim() !== '');

  // JSON only when it looks like it: a log line such as "[llama_print_timings] ..." is not.
  if (/^\[\s*[{\]]/.test(trimmed)) {
    const doc = parseJsonDocument(text, source, 'llama-bench JSON');
    if (!Array.isArray(doc)) failAt(source, firstLine, 'llama-bench JSON should be an array of result objects');
    const offsets = topLevelElementOffsets(text);
    const lineOf = lineIndex(text);
    const rows = doc.map((item, k) => {
      const line = offsets[k] !== undefined ? lineOf(offsets[k]) + 1 : firstLine + 1;
      return rowFromRecord(asRecord(item, source, line, `llama-bench JSON element ${k}`), line, source);
    });
    if (rows.length === 0) failAt(source, firstLine, 'llama-bench JSON array is empty');
    return { format: 'json', rows };
  }
  if (/^\{\s*"/.test(trimmed)) {
    const rows: LlamaBenchRow[] = [];
    lines.forEach((l, i) => {
      if (l.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(l);
      } catch (err) {
        failAt(source, i, `invalid JSONL line (truncated or not llama-bench -o jsonl): ${errorMessage(err)}`);
      }
      rows.push(rowFromRecord(asRecord(value, source, i + 1, 'JSONL line'), i + 1, source));
    });
    return { format: 'jsonl', rows };
  }
  const headerIndex = lines.findIndex((l) => /^"?build_commit"?,/.test(l.trim()) && l.includes('avg_ts'));
  if (headerIndex >= 0) {
    const names = splitCsv(lines[headerIndex]!.trim(), source, headerIndex);
    const rows: LlamaBenchRow[] = [];
    for (let i = headerIndex + 1; i < lines.length; i++) {
      const l = lines[i]!.trim();
      if (l === '') continue;
      const cells = splitCsv(l, source, i);
      if (cells.length !== names.length) failAt(source, i, `CSV row has ${cells.length} fields, the header has ${names.length}`);
      const record: Record<string, unknown> = {};
      names.forEach((n, k) => (record[n] = cells[k]));
      rows.push(rowFromRecord(record, i + 1, source));
    }
    if (rows.length === 0) failAt(source, headerIndex, 'llama-bench CSV has a header but no rows');
    return { format: 'csv', rows };
  }
  const markdown = parseMarkdown(lines, source);
  if (markdown) return markdown;
  failAt(
    source,
    undefined,
    'no llama-bench results found: expected a markdown table with "model" and "t/s" columns, a CSV header starting "build_commit", or JSON / JSONL records',
  );
}

export function summarizeLlamaBench(result: LlamaBenchResult): string {
  const rows = result.rows.map(
    (r) =>
      `| ${r.model} | ${r.backend ?? '—'} | ${r.ngl ?? '—'} | ${r.threads ?? '—'} | ${r.test} | ${fmt(r.tokensPerSecond)} | ${fmt(r.tokensPerSecondStdev)} |`,
  );
  return [
    `llama-bench (${result.format}), ${result.rows.length} row(s)${result.build ? `, build ${result.build.number} (${result.build.commit})` : ''}`,
    '',
    '| model | backend | ngl | threads | test | t/s mean | t/s sd |',
    '| --- | --- | ---: | ---: | --- | ---: | ---: |',
    ...rows,
  ].join('\n');
}
