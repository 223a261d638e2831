/**
 * Parser for llama.cpp run logs (llama-cli / main / llava-cli / llama-mtmd-cli / perplexity /
 * llama-server):
 * - timing blocks: legacy `llama_print_timings:` (2023–mid 2024), `llama_perf_sampler_print:` +
 *   `llama_perf_context_print:` (later), llama-server's `print_timings` (old "INFO [ print_timings]"
 *   lines and the newer bare lines after "slot print_timing"), and the server JSON `"timings"`;
 * - multimodal encode lines: mtmd "image slice encoded in N ms" / "image/slice encoded in N ms",
 *   "image decoded (batch 1/1) in N ms", llava "encode_image_with_clip: image encoded in N ms by
 *   CLIP (N ms per image patch)" and "image embedding created: N tokens";
 * - "main: decoded N tokens in X s, speed: Y t/s" (llava / mllama examples).
 * Log prefixes (timestamps, "0.01.388.542 I ", journald fields) are tolerated. Decimal commas
 * ("106,78 ms", printed under a comma locale) are read as decimals; "inf" / "-nan" become null.
 *
 * Meaning of the figures (llama.cpp): "prompt eval" is the prefill of the prompt tokens; "eval"
 * counts decode steps ("runs"), which exclude the token produced by the prompt eval, so
 * `eval.tokensPerSecond` matches DESIGN.md's decode tokens/s (sampling time excluded).
 * "total" is wall time since load and, in interactive sessions, includes the user's typing.
 *
 * llama-bench outputs are parsed by ./llama-bench.ts (re-exported here).
 */
import { NUM, assertText, failAt, fmt, readFiniteOrNull, readNumber, splitLines } from './common.ts';
import { isUnclosed } from './json-text.ts';
import { errorMessage } from '../core/errors.ts';

export { parseLlamaBench, summarizeLlamaBench } from './llama-bench.ts';
export type { LlamaBenchResult, LlamaBenchRow } from './llama-bench.ts';

/** A "X ms / N tokens|runs (Y ms per token, Z tokens per second)" figure. */
export interface LlamaCountedTiming {
  ms: number;
  /** Token or run count; absent when not printed (server "total"). */
  count?: number;
  unit?: 'tokens' | 'runs';
  /** null when printed as nan/inf (zero count or zero time). */
  msPerToken?: number | null;
  tokensPerSecond?: number | null;
}

export type LlamaTimingFormat = 'llama_print_timings' | 'llama_perf' | 'server-log' | 'server-json';

export interface LlamaTimingBlock {
  format: LlamaTimingFormat;
  /** 1-based line of the block's first timing line. */
  line: number;
  loadMs?: number;
  /** "sample time" (legacy) / "sampling time" (llama_perf). */
  sample?: LlamaCountedTiming;
  promptEval?: LlamaCountedTiming;
  /** "eval time" / server "generation eval time" (decode steps). */
  eval?: LlamaCountedTiming;
  total?: LlamaCountedTiming;
}

export interface LlamaImageEncode {
  line: number;
  /** What was encoded, as printed: "image", "audio", "image/slice". */
  media: string;
  ms: number;
  /** llava CLIP line: "(N ms per image patch)". */
  msPerPatch?: number;
  tool: 'mtmd' | 'llava';
}

export interface LlamaImageDecode {
  line: number;
  media: string;
  /** Image tokens in this batch ("decoding image batch 1/1, n_tokens_batch = 256"), when printed. */
  tokens?: number;
  batch: number;
  batches: number;
  ms: number;
}

export interface LlamaCppLogResult {
  /** "build: 4247 (82bca225)" or "main: build = 1749 (0040d42)". */
  build?: { number: number; commit: string };
  timings: LlamaTimingBlock[];
  imageEncodes: LlamaImageEncode[];
  /** mtmd: time to run the LLM over an image's embeddings ("image decoded (batch 1/1) in N ms"). */
  imageDecodes: LlamaImageDecode[];
  /** llava: "image embedding created: N tokens". */
  imageEmbeddings: Array<{ line: number; tokens: number }>;
  /** "main: decoded N tokens in X s, speed: Y t/s". */
  decodeSummaries: Array<{ line: number; tokens: number; ms: number; tokensPerSecond: number }>;
}

type TimingKey = 'load' | 'sample' | 'promptEval' | 'eval' | 'total';

// The key starts the line or follows a log prefix ending in ':' or ']' (so generated text such as
// "the total time = 3 h" is not taken for a timing line).
const TIMING_START = /(?:^|[:\]])\s*(load|sampl(?:e|ing)|prompt eval|generation eval|eval|total) time\s*=/;
/** Lines that can only be llama.cpp timing output: a mismatch there is an error, not prose. */
const TIMING_PREFIX = /llama_print_timings|llama_perf_\w+_print|print_timings\]/;
const TIMING = new RegExp(
  String.raw`(load|sampl(?:e|ing)|prompt eval|generation eval|eval|total) time\s*=\s*(${NUM})\s*ms` +
    String.raw`(?:\s*/\s*(${NUM})\s*(tokens|runs))?` +
    String.raw`(?:\s*\(\s*(${NUM})\s*ms per token,\s*(${NUM})\s*tokens per second\s*\))?`,
);
const MTMD_ENCODE = new RegExp(String.raw`\b(image|audio|image/slice)(?: slice)? encoded in\s+(${NUM})\s*ms\b`);
const CLIP_ENCODE = new RegExp(
  String.raw`encode_image_with_clip:\s*image encoded in\s+(${NUM})\s*ms by CLIP\s*\(\s*(${NUM})\s*ms per image patch\)`,
);
const MTMD_DECODE = new RegExp(String.raw`\b(image|audio) decoded \(batch (\d+)/(\d+)\) in\s+(${NUM})\s*ms\b`);
const DECODED = new RegExp(String.raw`decoded (\d+) tokens in\s+(${NUM})\s*s, speed:\s*(${NUM})\s*t/s`);

function keyOf(word: string): TimingKey {
  if (word === 'load') return 'load';
  if (word.startsWith('sampl')) return 'sample';
  if (word === 'prompt eval') return 'promptEval';
  if (word === 'total') return 'total';
  return 'eval';
}

function formatOf(line: string): LlamaTimingFormat {
  if (line.includes('llama_print_timings')) return 'llama_print_timings';
  if (line.includes('llama_perf_')) return 'llama_perf';
  return 'server-log';
}

function hasKey(block: LlamaTimingBlock, key: TimingKey): boolean {
  return key === 'load' ? block.loadMs !== undefined : block[key] !== undefined;
}

/** The server JSON "timings" member (a full /completion response or just the member). */
function serverJsonTimings(text: string, source: string): LlamaTimingBlock[] {
  const blocks: LlamaTimingBlock[] = [];
  const pattern = /"timings"\s*:\s*\{/g;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    const start = m.index + m[0].length - 1;
    let depth = 0;
    let end = -1;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (c === '{') depth++;
      else if (c === '}' && --depth === 0) {
        end = i + 1;
        break;
      }
    }
    const line = text.slice(0, m.index).split('\n').length - 1;
    if (end < 0 || isUnclosed(text.slice(start, end))) failAt(source, line, 'truncated server JSON: the "timings" object is not closed');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.slice(start, end));
    } catch (err) {
      failAt(source, line, `invalid server JSON "timings" object: ${errorMessage(err)}`);
    }
    const t = parsed as Record<string, unknown>;
    const num = (key: string): number | undefined => {
      const v = t[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'number') failAt(source, line, `server JSON "timings.${key}" should be a number, got ${JSON.stringify(v)}`);
      return v;
    };
    const counted = (prefix: 'prompt' | 'predicted'): LlamaCountedTiming | undefined => {
      const ms = num(`${prefix}_ms`);
      if (ms === undefined) return undefined;
      const out: LlamaCountedTiming = { ms };
      const n = num(`${prefix}_n`);
      if (n !== undefined) {
        out.count = n;
        out.unit = 'tokens';
      }
      const perToken = num(`${prefix}_per_token_ms`);
      if (perToken !== undefined) out.msPerToken = perToken;
      const perSecond = num(`${prefix}_per_second`);
      if (perSecond !== undefined) out.tokensPerSecond = perSecond;
      return out;
    };
    const block: LlamaTimingBlock = { format: 'server-json', line: line + 1 };
    const prompt = counted('prompt');
    const predicted = counted('predicted');
    if (prompt) block.promptEval = prompt;
    if (predicted) block.eval = predicted;
    if (!prompt && !predicted) failAt(source, line, 'server JSON "timings" has neither prompt_ms nor predicted_ms');
    blocks.push(block);
  }
  return blocks;
}

export function parseLlamaCppLog(text: string, source = '<input>'): LlamaCppLogResult {
  assertText(text, source, 'a llama.cpp log');
  const lines = splitLines(text);
  const result: LlamaCppLogResult = {
    timings: [],
    imageEncodes: [],
    imageDecodes: [],
    imageEmbeddings: [],
    decodeSummaries: [],
  };
  let block: LlamaTimingBlock | undefined;
  let closed = true;
  let pendingBatchTokens: number | undefined;

  lines.forEach((line, i) => {
    let m: RegExpExecArray | null;
    if (!result.build && (m = /\bbuild(?::| =)\s*(\d+)\s*\(([0-9a-f]{6,40})\)/.exec(line))) {
      result.build = { number: Number(m[1]), commit: m[2]! };
    }
    if ((m = CLIP_ENCODE.exec(line))) {
      result.imageEncodes.push({ line: i + 1, media: 'image', ms: readNumber(m[1]!), msPerPatch: readNumber(m[2]!), tool: 'llava' });
      return;
    }
    if (/encode_image_with_clip:\s*image encoded in/.test(line)) {
      failAt(source, i, 'malformed CLIP line: expected "image encoded in <ms> ms by CLIP (<ms> ms per image patch)"');
    }
    if ((m = MTMD_ENCODE.exec(line))) {
      result.imageEncodes.push({ line: i + 1, media: m[1]!, ms: readNumber(m[2]!), tool: 'mtmd' });
      return;
    }
    if ((m = /decoding (?:image|audio) batch \d+\/\d+, n_tokens_batch = (\d+)/.exec(line))) {
      pendingBatchTokens = Number(m[1]);
      return;
    }
    if ((m = MTMD_DECODE.exec(line))) {
      result.imageDecodes.push({
        line: i + 1,
        media: m[1]!,
        batch: Number(m[2]),
        batches: Number(m[3]),
        ...(pendingBatchTokens !== undefined ? { tokens: pendingBatchTokens } : {}),
        ms: readNumber(m[4]!),
      });
      pendingBatchTokens = undefined;
      return;
    }
    if ((m = /image embedding created:\s*(\d+) tokens/.exec(line))) {
      result.imageEmbeddings.push({ line: i + 1, tokens: Number(m[1]) });
      return;
    }
    if ((m = DECODED.exec(line))) {
      result.decodeSummaries.push({ line: i + 1, tokens: Number(m[1]), ms: readNumber(m[2]!) * 1000, tokensPerSecond: readNumber(m[3]!) });
      return;
    }

    const start = TIMING_START.exec(line);
    if (!start) return;
    const certain = TIMING_PREFIX.test(line);
    m = TIMING.exec(line.slice(start.index));
    if (!m) {
      if (!certain) return;
      failAt(source, i, `malformed timing line: expected "<name> time = <ms> ms [/ <n> tokens|runs (<ms> ms per token, <n> tokens per second)]"`);
    }
    const rest = line.slice(start.index + m.index + m[0].length).trim();
    // llama-server's old log appends "| tid=... key=value"; anything else means a cut or odd line.
    if (rest !== '' && !rest.startsWith('|')) {
      if (!certain) return;
      failAt(source, i, `unexpected text after timing figures: "${rest}"`);
    }
    const key = keyOf(m[1]!);
    if (closed || !block || hasKey(block, key)) {
      block = { format: formatOf(line), line: i + 1 };
      result.timings.push(block);
      closed = false;
    }
    if (key === 'load') {
      block.loadMs = readNumber(m[2]!);
    } else {
      const timing: LlamaCountedTiming = { ms: readNumber(m[2]!) };
      if (m[3] !== undefined) {
        timing.count = readNumber(m[3]);
        timing.unit = m[4] as 'tokens' | 'runs';
      }
      if (m[5] !== undefined) {
        timing.msPerToken = readFiniteOrNull(m[5]);
        timing.tokensPerSecond = readFiniteOrNull(m[6]!);
      }
      block[key] = timing;
      if (key === 'total') closed = true;
    }
  });

  result.timings.push(...serverJsonTimings(text, source));
  result.timings.sort((a, b) => a.line - b.line);

  const found =
    result.timings.length + result.imageEncodes.length + result.imageDecodes.length + result.decodeSummaries.length;
  if (found === 0) {
    failAt(
      source,
      undefined,
      'no llama.cpp timing lines found: expected "llama_print_timings:" / "llama_perf_context_print:" / "prompt eval time = …" lines, a server "timings" object, or image encode lines',
    );
  }
  return result;
}

function counted(t: LlamaCountedTiming | undefined): string {
  if (!t) return '—';
  const count = t.count !== undefined ? ` / ${t.count} ${t.unit ?? ''}`.trimEnd() : '';
  const rate = t.tokensPerSecond !== undefined ? ` (${fmt(t.tokensPerSecond)} t/s)` : '';
  return `${fmt(t.ms)} ms${count}${rate}`;
}

export function summarizeLlamaCppLog(result: LlamaCppLogResult): string {
  const out: string[] = [];
  if (result.build) out.push(`build ${result.build.number} (${result.build.commit})`);
  if (result.timings.length > 0) {
    out.push(
      '| line | format | load ms | prompt eval | eval (decode) | total ms |',
      '| ---: | --- | ---: | --- | --- | ---: |',
      ...result.timings.map(
        (b) => `| ${b.line} | ${b.format} | ${fmt(b.loadMs)} | ${counted(b.promptEval)} | ${counted(b.eval)} | ${fmt(b.total?.ms)} |`,
      ),
    );
  }
  if (result.imageEncodes.length > 0) {
    out.push('', `image encodes (ms): ${result.imageEncodes.map((e) => `${fmt(e.ms)} (${e.tool}, line ${e.line})`).join(', ')}`);
  }
  if (result.imageDecodes.length > 0) {
    out.push(
      `image decodes into the LLM (ms): ${result.imageDecodes.map((e) => `${fmt(e.ms)}${e.tokens !== undefined ? ` (${e.tokens} tokens)` : ''}`).join(', ')}`,
    );
  }
  for (const e of result.imageEmbeddings) out.push(`image embedding: ${e.tokens} tokens (line ${e.line})`);
  for (const d of result.decodeSummaries) out.push(`decoded ${d.tokens} tokens in ${fmt(d.ms)} ms (${fmt(d.tokensPerSecond)} t/s as printed)`);
  return out.join('\n').trim();
}
