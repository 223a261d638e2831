/**
 * Parser for ONNX Runtime profiling output (`enableProfiling` / `SessionOptions.enable_profiling`):
 * a Chrome-trace JSON array of complete ("X") events with `ts` / `dur` in microseconds.
 * - `cat: "Node"` events named `<node>_kernel_time` carry one kernel execution, with
 *   `args.op_name`, `args.provider`, `args.input_type_shape` / `output_type_shape` and sizes;
 *   older versions also write `<node>_fence_before` / `_fence_after` markers (counted, not kept).
 * - `cat: "Session"` events: `model_loading_*`, `session_initialization`, one `model_run` per
 *   `run()` call, `SequentialExecutor::Execute`.
 *
 * Besides the file ORT writes, two pasted forms are accepted because users share them so: one
 * event per line without the enclosing brackets (optionally with an editor's line numbers in
 * front), and the Python `pprint` of the loaded list (single quotes). Key names broken by an
 * editor's line wrap ("output_t      ype_shape") are joined again; every such repair is listed
 * in `repairs`. Times in the result are milliseconds.
 */
import { assertText, failAt, fmt, splitLines } from './common.ts';
import { isTruncationError, isUnclosed, lineIndex, lineOfOffset, pythonLiteralToJson, topLevelElementOffsets } from './json-text.ts';
import { errorMessage } from '../core/errors.ts';

export interface OrtTypedShape {
  type: string;
  shape: number[];
}

export interface OrtKernel {
  /** Node name (event name without the "_kernel_time" suffix). */
  node: string;
  opName?: string;
  provider?: string;
  startMs: number;
  durMs: number;
  threadId: number;
  inputShapes?: OrtTypedShape[];
  outputShapes?: OrtTypedShape[];
  outputBytes?: number;
  parameterBytes?: number;
  activationBytes?: number;
  /** All event args as written by ORT (memory-arena figures in recent versions, ...). */
  args: Record<string, unknown>;
}

export interface OrtSessionEvent {
  name: string;
  startMs: number;
  durMs: number;
  threadId: number;
}

export interface OrtProfileResult {
  format: 'json' | 'event-lines' | 'python-repr';
  eventCount: number;
  kernels: OrtKernel[];
  /** All "Session" events, in file order. */
  sessionEvents: OrtSessionEvent[];
  /** The `model_run` events (one per run() call), sorted by start time. */
  runs: OrtSessionEvent[];
  /** `_fence_before` / `_fence_after` markers of older ORT versions. */
  fenceEvents: number;
  /** Events of other categories or names, counted only. */
  otherEvents: number;
  /** What had to be repaired or skipped to read a pasted profile. */
  repairs: string[];
}

interface RawEvent {
  value: unknown;
  /** 0-based line of the event, for errors. */
  line: number;
}

/** Removes whitespace that an editor's line wrap put inside object keys, recursively. */
function repairKeys(value: unknown, line: number, repairs: string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => repairKeys(v, line, repairs));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const fixed = /\s/.test(key) ? key.replace(/\s+/g, '') : key;
    if (fixed !== key) repairs.push(`line ${line + 1}: key "${key}" read as "${fixed}"`);
    out[fixed] = repairKeys(v, line, repairs);
  }
  return out;
}

function eventsFromArray(doc: unknown[], text: string, lineOffset: number): RawEvent[] {
  const offsets = topLevelElementOffsets(text);
  const lineOf = lineIndex(text);
  return doc.map((value, k) => ({
    value,
    line: lineOffset + (offsets[k] !== undefined ? lineOf(offsets[k]) : 0),
  }));
}

/** One event per line, as pasted from an editor (line numbers, trailing commas, no brackets). */
function eventsFromLines(lines: string[], start: number, source: string, repairs: string[]): RawEvent[] {
  const events: RawEvent[] = [];
  let numbered = 0;
  for (let i = start; i < lines.length; i++) {
    let line = lines[i]!.trim();
    if (line === '' || line === '[' || line === ']') continue;
    const stripped = line.replace(/^\d+\s+(?=\{)/, '');
    if (stripped !== line) numbered++;
    line = stripped.replace(/,\s*$/, '');
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      failAt(
        source,
        i,
        `unreadable profiling event (truncated or not ONNX Runtime profile JSON): ${errorMessage(err)}`,
      );
    }
    events.push({ value: repairKeys(value, i, repairs), line: i });
  }
  if (numbered > 0) repairs.push(`${numbered} line(s): leading editor line numbers ignored`);
  return events;
}

function readEvents(text: string, source: string, repairs: string[]): { format: OrtProfileResult['format']; events: RawEvent[] } {
  const lines = splitLines(text);
  const start = lines.findIndex((l) => /^\s*(?:[[{]|\d+\s+\{)/.test(l));
  if (start < 0) {
    failAt(source, undefined, 'no ONNX Runtime profile found: expected a JSON array of trace events ([{"cat": "Node", "name": "…_kernel_time", …}, …])');
  }
  const skipped = lines.slice(0, start).filter((l) => l.trim() !== '');
  if (skipped.length > 0) repairs.push(`ignored ${skipped.length} line(s) before the profile: ${skipped.map((l) => JSON.stringify(l.trim())).join(', ')}`);
  const body = lines.slice(start).join('\n');
  const trimmed = body.trim();

  if (trimmed.startsWith('[')) {
    if (/^\[\s*\{\s*'/.test(trimmed)) {
      const json = pythonLiteralToJson(body, source, start);
      if (isUnclosed(json)) failAt(source, lines.length - 1, 'truncated profile: the Python-printed event list is not closed');
      let doc: unknown;
      try {
        doc = JSON.parse(json);
      } catch (err) {
        failAt(source, start, `unreadable Python-printed profile: ${errorMessage(err)}`);
      }
      if (!Array.isArray(doc)) failAt(source, start, 'Python-printed profile should be a list of events');
      repairs.push('read a Python-printed (pprint) event list');
      return { format: 'python-repr', events: doc.map((value) => ({ value, line: start })) };
    }
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch (err) {
      if (isTruncationError(body, err)) {
        const last = lines.length - 1 - [...lines].reverse().findIndex((l) => l.trim() !== '');
        failAt(source, last, 'truncated profile: the JSON array of events is not closed (the file was cut or is still being written)');
      }
      const position = /position (\d+)/.exec(err instanceof Error ? err.message : '');
      failAt(
        source,
        position ? start + lineOfOffset(body, Number(position[1])) : start,
        `invalid profile JSON: ${errorMessage(err)}`,
      );
    }
    if (!Array.isArray(doc)) failAt(source, start, 'profile JSON should be an array of trace events');
    return { format: 'json', events: eventsFromArray(doc, body, start) };
  }
  if (trimmed.startsWith('{')) {
    // A Chrome-trace object ({"traceEvents": [...]}) or pasted event lines.
    try {
      const doc = JSON.parse(body) as unknown;
      if (doc && typeof doc === 'object' && !Array.isArray(doc) && Array.isArray((doc as Record<string, unknown>).traceEvents)) {
        const list = (doc as Record<string, unknown[]>).traceEvents!;
        return { format: 'json', events: list.map((value) => ({ value, line: start })) };
      }
    } catch {
      // Not one JSON document: read it as one event per line below.
    }
  }
  return { format: 'event-lines', events: eventsFromLines(lines, start, source, repairs) };
}

function typedShapes(value: unknown): OrtTypedShape[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: OrtTypedShape[] = [];
  for (const entry of value) {
    if (!entry || typeof entry !== 'object') return undefined;
    for (const [type, shape] of Object.entries(entry as Record<string, unknown>)) {
      if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number')) return undefined;
      out.push({ type, shape: shape as number[] });
    }
  }
  return out;
}

function sizeArg(args: Record<string, unknown>, key: string): number | undefined {
  const v = args[key];
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

export function parseOrtProfile(text: string, source = '<input>'): OrtProfileResult {
  assertText(text, source, 'an ONNX Runtime profiling JSON file');
  const repairs: string[] = [];
  const { format, events } = readEvents(text, source, repairs);
  if (events.length === 0) failAt(source, undefined, 'the profile holds no events');

  const result: OrtProfileResult = {
    format,
    eventCount: events.length,
    kernels: [],
    sessionEvents: [],
    runs: [],
    fenceEvents: 0,
    otherEvents: 0,
    repairs,
  };
  events.forEach(({ value, line }, k) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) failAt(source, line, `event ${k} should be an object`);
    const e = value as Record<string, unknown>;
    for (const key of ['name', 'cat'] as const) {
      if (typeof e[key] !== 'string') failAt(source, line, `event ${k}: "${key}" should be a string, got ${JSON.stringify(e[key])}`);
    }
    for (const key of ['ts', 'dur'] as const) {
      if (typeof e[key] !== 'number') failAt(source, line, `event ${k}: "${key}" should be a number (µs), got ${JSON.stringify(e[key])}`);
    }
    const name = e.name as string;
    const startMs = (e.ts as number) / 1000;
    const durMs = (e.dur as number) / 1000;
    const threadId = typeof e.tid === 'number' ? e.tid : -1;
    const args = e.args && typeof e.args === 'object' && !Array.isArray(e.args) ? (e.args as Record<string, unknown>) : {};
    if (e.cat === 'Node' && name.endsWith('_kernel_time')) {
      const kernel: OrtKernel = { node: name.slice(0, -'_kernel_time'.length), startMs, durMs, threadId, args };
      if (typeof args.op_name === 'string') kernel.opName = args.op_name;
      if (typeof args.provider === 'string') kernel.provider = args.provider;
      const inputs = typedShapes(args.input_type_shape);
      const outputs = typedShapes(args.output_type_shape);
      if (inputs) kernel.inputShapes = inputs;
      if (outputs) kernel.outputShapes = outputs;
      const outputBytes = sizeArg(args, 'output_size');
      const parameterBytes = sizeArg(args, 'parameter_size');
      const activationBytes = sizeArg(args, 'activation_size');
      if (outputBytes !== undefined) kernel.outputBytes = outputBytes;
      if (parameterBytes !== undefined) kernel.parameterBytes = parameterBytes;
      if (activationBytes !== undefined) kernel.activationBytes = activationBytes;
      result.kernels.push(kernel);
    } else if (e.cat === 'Node' && /_fence_(before|after)$/.test(name)) {
      result.fenceEvents++;
    } else if (e.cat === 'Session') {
      const event: OrtSessionEvent = { name, startMs, durMs, threadId };
      result.sessionEvents.push(event);
      if (name === 'model_run') result.runs.push(event);
    } else {
      result.otherEvents++;
    }
  });
  result.runs.sort((a, b) => a.startMs - b.startMs);
  return result;
}

export interface OrtAggregate {
  /** Node name, op type or provider. */
  key: string;
  count: number;
  totalMs: number;
  meanMs: number;
  /** Fraction of all kernel time in the input (0..1). */
  share: number;
  /** For per-node rows: the node's op type and provider. */
  opName?: string;
  provider?: string;
}

function aggregate(kernels: readonly OrtKernel[], keyOf: (k: OrtKernel) => string, perNode: boolean): OrtAggregate[] {
  const total = kernels.reduce((t, k) => t + k.durMs, 0);
  const groups = new Map<string, OrtAggregate>();
  for (const k of kernels) {
    const key = keyOf(k);
    let g = groups.get(key);
    if (!g) {
      g = { key, count: 0, totalMs: 0, meanMs: 0, share: 0 };
      if (perNode && k.opName !== undefined) g.opName = k.opName;
      if (perNode && k.provider !== undefined) g.provider = k.provider;
      groups.set(key, g);
    }
    g.count++;
    g.totalMs += k.durMs;
  }
  const rows = [...groups.values()];
  for (const g of rows) {
    g.meanMs = g.totalMs / g.count;
    g.share = total > 0 ? g.totalMs / total : 0;
  }
  return rows.sort((a, b) => b.totalMs - a.totalMs || a.key.localeCompare(b.key));
}

/** Kernel time per node, largest first. */
export function aggregateByNode(kernels: readonly OrtKernel[]): OrtAggregate[] {
  return aggregate(kernels, (k) => k.node, true);
}

/** Kernel time per op type ("MatMul", "Conv", ...); kernels without op_name count as "(unknown)". */
export function aggregateByOpType(kernels: readonly OrtKernel[]): OrtAggregate[] {
  return aggregate(kernels, (k) => k.opName ?? '(unknown)', false);
}

/** Kernel time per execution provider; kernels without provider count as "(unknown)". */
export function aggregateByProvider(kernels: readonly OrtKernel[]): OrtAggregate[] {
  return aggregate(kernels, (k) => k.provider ?? '(unknown)', false);
}

export interface OrtRunAttribution {
  /** Index of the run in time order. */
  index: number;
  startMs: number;
  durMs: number;
  kernels: OrtKernel[];
  /** Sum of the attributed kernels' durations (excludes framework overhead between kernels). */
  kernelMs: number;
}

/**
 * Assigns each kernel to the `model_run` whose window [start, start + dur] contains the kernel's
 * start. When run windows overlap (concurrent run() calls), a run on the kernel's thread wins.
 * Kernels outside every window (e.g. profiling of a warm-up not recorded as model_run) are
 * returned as `unattributed`.
 */
export function attributeKernelsToRuns(profile: Pick<OrtProfileResult, 'kernels' | 'runs'>): {
  runs: OrtRunAttribution[];
  unattributed: OrtKernel[];
} {
  const runs: OrtRunAttribution[] = [...profile.runs]
    .sort((a, b) => a.startMs - b.startMs)
    .map((r, index) => ({ index, startMs: r.startMs, durMs: r.durMs, kernels: [], kernelMs: 0 }));
  const threads = [...profile.runs].sort((a, b) => a.startMs - b.startMs).map((r) => r.threadId);
  const unattributed: OrtKernel[] = [];
  // Timestamps are whole microseconds: allow the rounding of one on each edge.
  const slack = 0.001;
  for (const kernel of profile.kernels) {
    const candidates = runs.filter((r) => kernel.startMs >= r.startMs - slack && kernel.startMs <= r.startMs + r.durMs + slack);
    const chosen = candidates.find((r) => threads[r.index] === kernel.threadId) ?? candidates[0];
    if (!chosen) {
      unattributed.push(kernel);
      continue;
    }
    chosen.kernels.push(kernel);
    chosen.kernelMs += kernel.durMs;
  }
  return { runs, unattributed };
}

export function summarizeOrtProfile(result: OrtProfileResult, top = 10): string {
  const out: string[] = [
    `${result.eventCount} events (${result.format}): ${result.kernels.length} kernels, ${result.runs.length} model_run, ${result.sessionEvents.length} session events` +
      (result.fenceEvents ? `, ${result.fenceEvents} fence markers` : ''),
  ];
  for (const r of result.repairs) out.push(`note: ${r}`);
  if (result.runs.length > 0) {
    const { runs, unattributed } = attributeKernelsToRuns(result);
    out.push(
      '',
      '| run | start ms | duration ms | kernels | kernel ms |',
      '| ---: | ---: | ---: | ---: | ---: |',
      ...runs.map((r) => `| ${r.index} | ${fmt(r.startMs, 3)} | ${fmt(r.durMs, 3)} | ${r.kernels.length} | ${fmt(r.kernelMs, 3)} |`),
    );
    if (unattributed.length > 0) out.push(`${unattributed.length} kernel(s) outside every model_run window`);
  }
  if (result.kernels.length > 0) {
    const table = (title: string, rows: OrtAggregate[]): string[] => [
      '',
      `| ${title} | count | total ms | mean ms | share |`,
      '| --- | ---: | ---: | ---: | ---: |',
      ...rows.slice(0, top).map((g) => `| ${g.key} | ${g.count} | ${fmt(g.totalMs, 3)} | ${fmt(g.meanMs, 4)} | ${fmt(g.share * 100, 1)}% |`),
    ];
    out.push(...table('op type', aggregateByOpType(result.kernels)));
    out.push(...table('provider', aggregateByProvider(result.kernels)));
    out.push(...table(`node (top ${top})`, aggregateByNode(result.kernels)));
  }
  const byName = new Map<string, number[]>();
  for (const e of result.sessionEvents) if (e.name !== 'model_run') byName.set(e.name, [...(byName.get(e.name) ?? []), e.durMs]);
  if (byName.size > 0) out.push('');
  for (const [name, durations] of byName) {
    const total = durations.reduce((t, d) => t + d, 0);
    out.push(durations.length === 1 ? `${name}: ${fmt(total, 3)} ms` : `${name}: ${durations.length} events, ${fmt(total, 3)} ms in total`);
  }
  return out.join('\n');
}
