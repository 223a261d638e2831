/**
 * Registry of the board / vendor tool outputs that `bench import KIND FILE [--json]` reads.
 * Each kind parses text into a typed result (see the module of each parser for the fields and
 * what the tool's figures mean) and prints a short Markdown summary for the terminal.
 */
import type { ImportKind } from '../core/import-kind.ts';
import { parseAxLlm, summarizeAxLlm } from './ax-llm.ts';
import { parseAxRunModel, summarizeAxRunModel } from './ax-run-model.ts';
import { parseLlamaBench, summarizeLlamaBench } from './llama-bench.ts';
import { parseLlamaCppLog, summarizeLlamaCppLog } from './llamacpp.ts';
import { parseOrtProfile, summarizeOrtProfile } from './ort-profile.ts';
import {
  parseTrtexec,
  parseTrtexecProfile,
  parseTrtexecTimes,
  summarizeTrtexec,
  summarizeTrtexecProfile,
  summarizeTrtexecTimes,
} from './trtexec.ts';

/** Pairs a typed parser with its summarizer; `summarize` only ever receives this parser's result. */
function defineKind<T>(
  kind: string,
  description: string,
  parse: (text: string, source: string) => T,
  summarize: (parsed: T) => string,
  recognised: (parsed: T) => number,
): ImportKind {
  return { kind, description, parse, summarize: (parsed) => summarize(parsed as T), recognised: (parsed) => recognised(parsed as T) };
}

export type { ImportKind };

export const boardImportKinds: ImportKind[] = [
  defineKind(
    'ax-run-model',
    'Axera ax_run_model output (all header versions, --verify mode) or ax-samples demo timing: min/avg/max latency, repeat/warmup, CMM size',
    parseAxRunModel,
    summarizeAxRunModel,
    (r) => r.runs.length,
  ),
  defineKind(
    'ax-llm',
    'Axera ax-llm / axllm log (or *.axera Python demo): per request image encode ms, prefill TTFT ms (excludes image encode), the tool\'s "avg token/s", prompt tokens, generated text',
    parseAxLlm,
    summarizeAxLlm,
    // A turn counts when it holds a figure: random lines can look like a turn's start.
    (r) => r.turns.filter((t) => t.imageEncodeMs.length > 0 || t.prefillTtftMs !== undefined || t.reportedAvgTokensPerS !== undefined || t.promptTokens !== undefined).length,
  ),
  defineKind(
    'llamacpp',
    'llama.cpp log: llama_print_timings / llama_perf_* / llama-server timing blocks (load, sample, prompt eval, eval, total), mtmd/llava image encode lines',
    parseLlamaCppLog,
    summarizeLlamaCppLog,
    (r) => r.timings.length + r.imageEncodes.length + r.imageDecodes.length + r.decodeSummaries.length,
  ),
  defineKind(
    'llama-bench',
    'llama-bench output (-o md, csv, json or jsonl): per test t/s mean ± sd with model, size, params, backend, ngl/threads',
    parseLlamaBench,
    summarizeLlamaBench,
    (r) => r.rows.length,
  ),
  defineKind(
    'trtexec',
    'TensorRT trtexec log: performance summary (TensorRT 8+ and TensorRT 7 formats), trace averages, device info, --dumpProfile table',
    parseTrtexec,
    summarizeTrtexec,
    (r) => r.runs.length,
  ),
  defineKind(
    'trtexec-profile',
    'trtexec --exportProfile JSON: per-layer timeMs, averageMs, medianMs, percentage and the iteration count',
    parseTrtexecProfile,
    (parsed) => summarizeTrtexecProfile(parsed),
    (r) => r.layers.length,
  ),
  defineKind(
    'trtexec-times',
    'trtexec --exportTimes JSON: per-inference enqueue/H2D/compute/D2H timestamps and latency',
    parseTrtexecTimes,
    summarizeTrtexecTimes,
    (r) => r.inferences.length,
  ),
  defineKind(
    'ort-profile',
    'ONNX Runtime profiling JSON: kernel time per node / op type / provider, model_run windows with their kernels',
    parseOrtProfile,
    (parsed) => summarizeOrtProfile(parsed),
    (r) => r.kernels.length + r.sessionEvents.length,
  ),
];

/** The kind with this name, or undefined. */
export function findImportKind(kind: string): ImportKind | undefined {
  return boardImportKinds.find((k) => k.kind === kind);
}

export * from './ax-run-model.ts';
export * from './ax-llm.ts';
export * from './llamacpp.ts';
export * from './llama-bench.ts';
export * from './trtexec.ts';
export * from './ort-profile.ts';
