/**
 * Parsers for TensorRT `trtexec` outputs:
 * - the console log (`parseTrtexec`), in both summary formats:
 *   - TensorRT >= 8 "=== Performance summary ===": "Throughput: X qps", one line per metric
 *     ("Latency: min = …, max = …, mean = …, median = …, percentile(90%) = …, …"), Enqueue Time,
 *     H2D Latency, GPU Compute Time, D2H Latency, Total Host Walltime / GPU Compute Time;
 *   - TensorRT 7 ("legacy"): "Average on N runs - GPU latency: …" trace lines and the multi-line
 *     "Host Latency" / "Enqueue Time" / "GPU Compute" blocks ("min: X ms (end to end Y ms)",
 *     "percentile: X ms at 99%", "throughput: X qps", "walltime: X s", "total compute time: X s");
 *   plus device information, DLA/GPU layer placement and the `--dumpProfile` per-layer table;
 * - the `--exportProfile` JSON (`parseTrtexecProfile`): a leading {count} element, then one
 *   object per layer with timeMs, averageMs, medianMs (absent in older TensorRT) and percentage;
 * - the `--exportTimes` JSON (`parseTrtexecTimes`): one record per inference.
 *
 * Meaning (trtexec): "Latency" (legacy "Host Latency") = H2D + GPU compute + D2H of one query;
 * "End-to-End Host Latency" also includes queueing behind earlier queries; "GPU Compute Time" is
 * the kernels only. Timestamped log prefixes ("[03/24/2023-12:57:42] [I] ") are optional.
 */
import { NUM, assertText, bytesFromUnit, failAt, fmt, readNumber, splitLines } from './common.ts';
import { lineIndex, parseJsonDocument, topLevelElementOffsets } from './json-text.ts';

export interface TrtexecStats {
  minMs?: number;
  maxMs?: number;
  meanMs?: number;
  medianMs?: number;
  /** Percentile as printed ("90", "95", "99") -> ms. */
  percentilesMs: Record<string, number>;
}

export interface TrtexecSummary {
  format: 'performance-summary' | 'legacy';
  /** 1-based line where the summary starts. */
  line: number;
  throughputQps?: number;
  /** H2D + compute + D2H per query ("Latency"; legacy "Host Latency"). */
  latency?: TrtexecStats;
  /** "End-to-End Host Latency" (legacy: the "(end to end X ms)" figures). */
  endToEndHostLatency?: TrtexecStats;
  enqueueTime?: TrtexecStats;
  h2dLatency?: TrtexecStats;
  gpuComputeTime?: TrtexecStats;
  d2hLatency?: TrtexecStats;
  totalHostWalltimeMs?: number;
  totalGpuComputeTimeMs?: number;
}

export interface TrtexecTraceAverage {
  line: number;
  /** Queries averaged in this line ("Average on N runs"). */
  runs: number;
  gpuLatencyMs: number;
  hostLatencyMs?: number;
  endToEndMs?: number;
  enqueueMs?: number;
}

export interface TrtexecLayerTime {
  name: string;
  /** Sum over all profiled iterations. */
  totalMs: number;
  averageMs: number;
  medianMs?: number;
  percent: number;
}

export interface TrtexecDevice {
  name?: string;
  computeCapability?: string;
  smCount?: number;
  /** "Compute Clock Rate" or (newer) "Application Compute Clock Rate". */
  computeClockGHz?: number;
  memoryClockGHz?: number;
  globalMemoryBytes?: number;
  sharedMemoryPerSmBytes?: number;
  memoryBusWidthBits?: number;
  ecc?: boolean;
}

export interface TrtexecRun {
  /** 1-based line where this run's output starts. */
  line: number;
  /** The command after "&&&& RUNNING TensorRT.trtexec [TensorRT v8203] # ". */
  command?: string;
  /** Build tag in the RUNNING line, e.g. "v8203". */
  tensorrtBuild?: string;
  /** "TensorRT version: 8.2.3". */
  tensorrtVersion?: string;
  device?: TrtexecDevice;
  warmup?: { queries: number; ms: number };
  timingTrace?: { queries: number; ms: number };
  traceAverages: TrtexecTraceAverage[];
  summary?: TrtexecSummary;
  /** The `--dumpProfile` table; `complete` is false when the log ends before its "Total" row. */
  layerProfile?: { line: number; iterations?: number; layers: TrtexecLayerTime[]; totalMs?: number; complete: boolean };
  /** Layer placement printed for DLA builds. */
  dlaLayers?: string[];
  gpuLayers?: string[];
  status?: 'passed' | 'failed';
}

export interface TrtexecResult {
  runs: TrtexecRun[];
}

const STAT_NAMES: Record<string, keyof TrtexecSummary> = {
  Latency: 'latency',
  'End-to-End Host Latency': 'endToEndHostLatency',
  'Enqueue Time': 'enqueueTime',
  'H2D Latency': 'h2dLatency',
  'GPU Compute Time': 'gpuComputeTime',
  'D2H Latency': 'd2hLatency',
};
const LEGACY_SECTIONS: Record<string, 'latency' | 'enqueueTime' | 'gpuComputeTime'> = {
  'host latency': 'latency',
  'enqueue time': 'enqueueTime',
  'gpu compute': 'gpuComputeTime',
};

/** Removes "[03/24/2023-12:57:42] [I] [TRT] " style prefixes (repeated, in any order). */
function stripPrefix(line: string): string {
  let out = line.trim();
  for (;;) {
    const next = out.replace(/^\[(?:\d{2}\/\d{2}\/\d{4}-\d{2}:\d{2}:\d{2}|[IWEVF]|INFO|WARNING|ERROR|VERBOSE|TRT)\]\s*/, '');
    if (next === out) return out;
    out = next;
  }
}

function parseStatsLine(body: string, source: string, index: number, name: string): TrtexecStats {
  const stats: TrtexecStats = { percentilesMs: {} };
  for (const part of body.split(',').map((p) => p.trim())) {
    const m = new RegExp(String.raw`^(min|max|mean|median|percentile\((\d+(?:\.\d+)?)%\))\s*=\s*(${NUM})\s*ms$`).exec(part);
    if (!m) failAt(source, index, `malformed "${name}" statistic "${part}": expected "min|max|mean|median|percentile(N%) = <ms> ms"`);
    const value = readNumber(m[3]!);
    if (m[2] !== undefined) stats.percentilesMs[m[2]] = value;
    else stats[`${m[1] as 'min' | 'max' | 'mean' | 'median'}Ms`] = value;
  }
  if (stats.minMs === undefined || stats.maxMs === undefined) failAt(source, index, `"${name}" line lacks min or max`);
  return stats;
}

function emptyRun(index: number): TrtexecRun {
  return { line: index + 1, traceAverages: [] };
}

function runHasContent(run: TrtexecRun): boolean {
  return (
    run.summary !== undefined ||
    run.traceAverages.length > 0 ||
    run.layerProfile !== undefined ||
    run.device !== undefined ||
    run.dlaLayers !== undefined ||
    run.gpuLayers !== undefined ||
    run.command !== undefined
  );
}

export function parseTrtexec(text: string, source = '<input>'): TrtexecResult {
  assertText(text, source, 'a trtexec log');
  const lines = splitLines(text);
  const runs: TrtexecRun[] = [];
  let run = emptyRun(0);
  runs.push(run);
  let legacySection: 'latency' | 'enqueueTime' | 'gpuComputeTime' | undefined;
  let profileColumns: { median: boolean } | undefined;
  let inProfile = false;

  const newRun = (index: number): void => {
    if (runHasContent(run)) {
      run = emptyRun(index);
      runs.push(run);
    } else run.line = index + 1;
    legacySection = undefined;
    inProfile = false;
  };
  const summary = (index: number, format: TrtexecSummary['format']): TrtexecSummary => {
    run.summary ??= { format, line: index + 1 };
    return run.summary;
  };
  const device = (): TrtexecDevice => (run.device ??= {});

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const running = /&&&& RUNNING TensorRT\.trtexec(?:\s*\[TensorRT (v\d+)\])?\s*#\s*(.*)$/.exec(raw);
    if (running) {
      newRun(i);
      if (running[1] !== undefined) run.tensorrtBuild = running[1];
      run.command = running[2]!.trim();
      continue;
    }
    const status = /&&&& (PASSED|FAILED) TensorRT\.trtexec/.exec(raw);
    if (status) {
      run.status = status[1] === 'PASSED' ? 'passed' : 'failed';
      continue;
    }
    const line = stripPrefix(raw);
    let m: RegExpExecArray | null;

    if (inProfile) {
      if (profileColumns === undefined) {
        if (/^Layer\s+Time \(ms\)/.test(line)) {
          profileColumns = { median: /Median Time/.test(line) };
          continue;
        }
      } else {
        const numbers = profileColumns.median ? 4 : 3;
        const row = new RegExp(String.raw`^(.*\S)\s+(${NUM})\s+(${NUM})\s+${profileColumns.median ? String.raw`(${NUM})\s+` : '()'}(${NUM})$`).exec(line);
        const profile = run.layerProfile!;
        if (row && row[1] === 'Total') {
          profile.totalMs = readNumber(row[2]!);
          profile.complete = true;
          inProfile = false;
          continue;
        }
        if (row) {
          const layer: TrtexecLayerTime = {
            name: row[1]!,
            totalMs: readNumber(row[2]!),
            averageMs: readNumber(row[3]!),
            percent: readNumber(row[5]!),
          };
          if (numbers === 4) layer.medianMs = readNumber(row[4]!);
          profile.layers.push(layer);
          continue;
        }
      }
      inProfile = false;
    }

    if (line === '=== Performance summary ===') {
      if (run.summary) newRun(i);
      summary(i, 'performance-summary');
      legacySection = undefined;
      continue;
    }
    if ((m = new RegExp(String.raw`^Throughput:\s*(${NUM})\s*qps$`).exec(line))) {
      summary(i, 'performance-summary').throughputQps = readNumber(m[1]!);
      continue;
    }
    if ((m = /^(Latency|End-to-End Host Latency|Enqueue Time|H2D Latency|GPU Compute Time|D2H Latency):\s*(.*)$/.exec(line))) {
      const key = STAT_NAMES[m[1]!]!;
      const s = summary(i, 'performance-summary');
      if (s[key] !== undefined) failAt(source, i, `second "${m[1]}" line in one summary: expected one per run`);
      (s as unknown as Record<string, TrtexecStats>)[key] = parseStatsLine(m[2]!, source, i, m[1]!);
      continue;
    }
    if ((m = new RegExp(String.raw`^Total Host Walltime:\s*(${NUM})\s*s$`).exec(line))) {
      summary(i, 'performance-summary').totalHostWalltimeMs = readNumber(m[1]!) * 1000;
      continue;
    }
    if ((m = new RegExp(String.raw`^Total GPU Compute Time:\s*(${NUM})\s*s$`).exec(line))) {
      summary(i, 'performance-summary').totalGpuComputeTimeMs = readNumber(m[1]!) * 1000;
      continue;
    }

    // TensorRT 7 summary blocks.
    const legacy = LEGACY_SECTIONS[line.toLowerCase()];
    if (legacy) {
      const s = summary(i, 'legacy');
      if (s[legacy] !== undefined) {
        newRun(i);
        summary(i, 'legacy');
      }
      legacySection = legacy;
      run.summary![legacy] = { percentilesMs: {} };
      continue;
    }
    if (legacySection) {
      const s = run.summary!;
      const stats = s[legacySection]!;
      const e2e = (): TrtexecStats => (s.endToEndHostLatency ??= { percentilesMs: {} });
      if ((m = new RegExp(String.raw`^(min|max|mean|median):\s*(${NUM})\s*ms(?:\s*\(end to end\s*(${NUM})\s*ms\))?$`).exec(line))) {
        const key = `${m[1] as 'min' | 'max' | 'mean' | 'median'}Ms` as const;
        stats[key] = readNumber(m[2]!);
        if (m[3] !== undefined) e2e()[key] = readNumber(m[3]);
        continue;
      }
      if ((m = new RegExp(String.raw`^percentile:\s*(${NUM})\s*ms at (\d+(?:\.\d+)?)%(?:\s*\(end to end\s*(${NUM})\s*ms at \d+(?:\.\d+)?%\))?$`).exec(line))) {
        stats.percentilesMs[m[2]!] = readNumber(m[1]!);
        if (m[3] !== undefined) e2e().percentilesMs[m[2]!] = readNumber(m[3]);
        continue;
      }
      if ((m = new RegExp(String.raw`^throughput:\s*(${NUM})\s*qps$`).exec(line))) {
        s.throughputQps = readNumber(m[1]!);
        continue;
      }
      if ((m = new RegExp(String.raw`^walltime:\s*(${NUM})\s*s$`).exec(line))) {
        s.totalHostWalltimeMs = readNumber(m[1]!) * 1000;
        continue;
      }
      if ((m = new RegExp(String.raw`^total compute time:\s*(${NUM})\s*s$`).exec(line))) {
        s.totalGpuComputeTimeMs = readNumber(m[1]!) * 1000;
        continue;
      }
      if (/^(min|max|mean|median|percentile|throughput|walltime|total compute time):/.test(line)) {
        failAt(source, i, `malformed statistic in the "${legacySection}" block: "${line}"`);
      }
      legacySection = undefined;
    }

    if ((m = new RegExp(String.raw`^Average on (\d+) runs - GPU latency:\s*(${NUM})\s*ms(.*)$`).exec(line))) {
      const avg: TrtexecTraceAverage = { line: i + 1, runs: Number(m[1]), gpuLatencyMs: readNumber(m[2]!) };
      const tail = m[3]!;
      const host = new RegExp(String.raw`Host latency:\s*(${NUM})\s*ms`).exec(tail);
      const e2e = new RegExp(String.raw`end to end\s*(${NUM})\s*ms`).exec(tail);
      const enq = new RegExp(String.raw`enqueue\s*(${NUM})\s*ms`).exec(tail);
      if (host) avg.hostLatencyMs = readNumber(host[1]!);
      if (e2e) avg.endToEndMs = readNumber(e2e[1]!);
      if (enq) avg.enqueueMs = readNumber(enq[1]!);
      run.traceAverages.push(avg);
      continue;
    }
    if (/^Average on \d+ runs/.test(line)) failAt(source, i, 'malformed trace line: expected "Average on N runs - GPU latency: <ms> ms …"');
    if ((m = new RegExp(String.raw`^Warmup completed (\d+) queries over (${NUM})\s*ms$`).exec(line))) {
      run.warmup = { queries: Number(m[1]), ms: readNumber(m[2]!) };
      continue;
    }
    if ((m = new RegExp(String.raw`^Timing trace has (\d+) queries over (${NUM})\s*s$`).exec(line))) {
      run.timingTrace = { queries: Number(m[1]), ms: readNumber(m[2]!) * 1000 };
      continue;
    }
    if ((m = /^=== Profile \((\d+) iterations\s*\) ===$/.exec(line))) {
      run.layerProfile = { line: i + 1, iterations: Number(m[1]), layers: [], complete: false };
      profileColumns = undefined;
      inProfile = true;
      continue;
    }
    if ((m = /^\[DlaLayer\]\s*(.+)$/.exec(line))) {
      (run.dlaLayers ??= []).push(m[1]!);
      continue;
    }
    if ((m = /^\[GpuLayer\]\s*(.+)$/.exec(line))) {
      (run.gpuLayers ??= []).push(m[1]!);
      continue;
    }

    // Device information.
    if ((m = /^TensorRT version:\s*(\S+)$/.exec(line))) run.tensorrtVersion = m[1]!;
    else if ((m = /^Selected Device:\s*(.+)$/.exec(line))) device().name = m[1]!.trim();
    else if ((m = /^Compute Capability:\s*(\S+)$/.exec(line))) device().computeCapability = m[1]!;
    else if ((m = /^SMs:\s*(\d+)$/.exec(line))) device().smCount = Number(m[1]);
    else if ((m = new RegExp(String.raw`^(?:Application )?Compute Clock Rate:\s*(${NUM})\s*GHz$`).exec(line))) device().computeClockGHz = readNumber(m[1]!);
    else if ((m = new RegExp(String.raw`^(?:Application )?Memory Clock Rate:\s*(${NUM})\s*GHz$`).exec(line))) device().memoryClockGHz = readNumber(m[1]!);
    else if ((m = /^Device Global Memory:\s*(\d+)\s*(MiB|GiB|KiB)$/.exec(line))) device().globalMemoryBytes = bytesFromUnit(Number(m[1]), m[2]!);
    else if ((m = /^Shared Memory per SM:\s*(\d+)\s*(KiB|MiB)$/.exec(line))) device().sharedMemoryPerSmBytes = bytesFromUnit(Number(m[1]), m[2]!);
    else if ((m = /^Memory Bus Width:\s*(\d+)\s*bits(?:\s*\(ECC (enabled|disabled)\))?$/.exec(line))) {
      device().memoryBusWidthBits = Number(m[1]);
      if (m[2] !== undefined) device().ecc = m[2] === 'enabled';
    }
  }

  const kept = runs.filter((r) => r.summary !== undefined || r.traceAverages.length > 0 || r.layerProfile !== undefined);
  if (kept.length === 0) {
    failAt(
      source,
      undefined,
      'no trtexec timing found: expected "=== Performance summary ===" / "GPU Compute Time: min = …" lines, TensorRT 7 "GPU Compute" blocks, "Average on N runs" lines or a "=== Profile ===" table',
    );
  }
  return { runs: kept };
}

export interface TrtexecProfileLayer {
  /** 1-based line of the layer's object. */
  line: number;
  name: string;
  timeMs: number;
  averageMs: number;
  /** Absent in profiles written by older TensorRT versions. */
  medianMs?: number;
  percentage: number;
}

export interface TrtexecProfileResult {
  /** Profiled iterations (the leading {"count"} element), when present. */
  count?: number;
  layers: TrtexecProfileLayer[];
}

/** Line of each top-level element of a JSON array, by element index (one pass over the text). */
function elementLines(text: string, fallback: number): (k: number) => number {
  const offsets = topLevelElementOffsets(text);
  const lineOf = lineIndex(text);
  return (k) => {
    const offset = offsets[k];
    return offset !== undefined ? lineOf(offset) : fallback;
  };
}

export function parseTrtexecProfile(text: string, source = '<input>'): TrtexecProfileResult {
  assertText(text, source, 'a trtexec --exportProfile JSON file');
  const doc = parseJsonDocument(text, source, 'trtexec --exportProfile JSON');
  const first = splitLines(text).findIndex((l) => l.trim() !== '');
  if (!Array.isArray(doc)) failAt(source, first, 'trtexec --exportProfile JSON should be an array ([{"count": N}, {"name": …, "timeMs": …}, …])');
  const lineOfElement = elementLines(text, first);
  const result: TrtexecProfileResult = { layers: [] };
  doc.forEach((item: unknown, k) => {
    const at = lineOfElement(k);
    if (!item || typeof item !== 'object' || Array.isArray(item)) failAt(source, at, `profile element ${k} should be an object`);
    const o = item as Record<string, unknown>;
    if (k === 0 && 'count' in o && !('name' in o)) {
      if (typeof o.count !== 'number') failAt(source, at, '"count" should be a number');
      result.count = o.count;
      return;
    }
    const num = (key: string, required: boolean): number | undefined => {
      const v = o[key];
      if (v === undefined && !required) return undefined;
      if (typeof v !== 'number') failAt(source, at, `layer element ${k}: "${key}" should be a number, got ${JSON.stringify(v)}`);
      return v;
    };
    if (typeof o.name !== 'string') failAt(source, at, `layer element ${k}: "name" should be a string`);
    const layer: TrtexecProfileLayer = {
      line: at + 1,
      name: o.name,
      timeMs: num('timeMs', true)!,
      averageMs: num('averageMs', true)!,
      percentage: num('percentage', true)!,
    };
    const median = num('medianMs', false);
    if (median !== undefined) layer.medianMs = median;
    result.layers.push(layer);
  });
  if (result.layers.length === 0) failAt(source, first, 'trtexec profile holds no layer entries');
  return result;
}

export interface TrtexecTimesRecord {
  startEnqMs: number;
  endEnqMs: number;
  startH2dMs: number;
  endH2dMs: number;
  startComputeMs: number;
  endComputeMs: number;
  startD2hMs: number;
  endD2hMs: number;
  h2dMs: number;
  computeMs: number;
  d2hMs: number;
  latencyMs: number;
}

export interface TrtexecTimesResult {
  /** One record per timed inference, in order. */
  inferences: TrtexecTimesRecord[];
}

const TIMES_KEYS: Array<keyof TrtexecTimesRecord> = [
  'startEnqMs',
  'endEnqMs',
  'startH2dMs',
  'endH2dMs',
  'startComputeMs',
  'endComputeMs',
  'startD2hMs',
  'endD2hMs',
  'h2dMs',
  'computeMs',
  'd2hMs',
  'latencyMs',
];

export function parseTrtexecTimes(text: string, source = '<input>'): TrtexecTimesResult {
  assertText(text, source, 'a trtexec --exportTimes JSON file');
  const doc = parseJsonDocument(text, source, 'trtexec --exportTimes JSON');
  const first = splitLines(text).findIndex((l) => l.trim() !== '');
  if (!Array.isArray(doc)) failAt(source, first, 'trtexec --exportTimes JSON should be an array of per-inference records');
  const lineOfElement = elementLines(text, first);
  const inferences = doc.map((item: unknown, k) => {
    const at = lineOfElement(k);
    if (!item || typeof item !== 'object' || Array.isArray(item)) failAt(source, at, `record ${k} should be an object`);
    const o = item as Record<string, unknown>;
    const record = {} as TrtexecTimesRecord;
    for (const key of TIMES_KEYS) {
      const v = o[key];
      if (typeof v !== 'number') failAt(source, at, `record ${k}: "${key}" should be a number, got ${JSON.stringify(v)}`);
      record[key] = v;
    }
    return record;
  });
  if (inferences.length === 0) failAt(source, first, 'trtexec --exportTimes JSON holds no records');
  return { inferences };
}

function statsCell(s: TrtexecStats | undefined): string {
  if (!s) return '— | — | — | — | —';
  // A figure the tool did not print stays "—": legacy "Enqueue Time" has no mean.
  return `${fmt(s.minMs, 3)} | ${fmt(s.medianMs, 3)} | ${fmt(s.meanMs, 3)} | ${fmt(s.maxMs, 3)} | ${fmt(s.percentilesMs['99'], 3)}`;
}

export function summarizeTrtexec(result: TrtexecResult): string {
  const out: string[] = [];
  result.runs.forEach((run, k) => {
    const s = run.summary;
    out.push(
      `run ${k + 1}${run.command ? `: ${run.command}` : ''}${run.device?.name ? ` on ${run.device.name}` : ''}${
        run.tensorrtVersion ? ` (TensorRT ${run.tensorrtVersion})` : ''
      }`,
    );
    if (s) {
      out.push(
        `${s.format}${s.throughputQps !== undefined ? `, throughput ${fmt(s.throughputQps, 3)} qps` : ''}`,
        '',
        '| metric | min ms | median ms | mean ms | max ms | p99 ms |',
        '| --- | ---: | ---: | ---: | ---: | ---: |',
        `| latency (H2D+compute+D2H) | ${statsCell(s.latency)} |`,
        `| end-to-end host latency | ${statsCell(s.endToEndHostLatency)} |`,
        `| GPU compute | ${statsCell(s.gpuComputeTime)} |`,
        `| enqueue | ${statsCell(s.enqueueTime)} |`,
      );
    }
    if (run.traceAverages.length > 0) out.push(`${run.traceAverages.length} "Average on N runs" trace lines`);
    if (run.layerProfile) {
      out.push(`per-layer profile: ${run.layerProfile.layers.length} layers${run.layerProfile.complete ? '' : ' (table incomplete: no Total row)'}`);
    }
    out.push('');
  });
  return out.join('\n').trimEnd();
}

export function summarizeTrtexecProfile(result: TrtexecProfileResult, top = 10): string {
  const sumAverage = result.layers.reduce((total, l) => total + l.averageMs, 0);
  const rows = [...result.layers]
    .sort((a, b) => b.percentage - a.percentage)
    .slice(0, top)
    .map((l) => `| ${l.name.length > 70 ? `${l.name.slice(0, 69)}…` : l.name} | ${fmt(l.averageMs, 4)} | ${fmt(l.medianMs, 4)} | ${fmt(l.percentage, 2)} |`);
  return [
    `${result.layers.length} layers${result.count !== undefined ? ` over ${result.count} iterations` : ''}; sum of layer averages ${fmt(sumAverage, 4)} ms (profiled run, includes profiling overhead)`,
    '',
    '| layer | avg ms | median ms | % |',
    '| --- | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

export function summarizeTrtexecTimes(result: TrtexecTimesResult): string {
  const latencies = result.inferences.map((r) => r.latencyMs).sort((a, b) => a - b);
  const compute = result.inferences.map((r) => r.computeMs);
  const mean = (xs: number[]): number => xs.reduce((t, x) => t + x, 0) / xs.length;
  return `${result.inferences.length} inferences: latency min ${fmt(latencies[0], 4)} / mean ${fmt(mean(latencies), 4)} / max ${fmt(
    latencies[latencies.length - 1],
    4,
  )} ms; GPU compute mean ${fmt(mean(compute), 4)} ms`;
}
