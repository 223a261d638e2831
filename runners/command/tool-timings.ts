/**
 * What a tool says about one request, in the suite's vocabulary, from its own log: parsed by the
 * shared parsers in runners/parsers and reduced here to phase durations and token counts. Every
 * figure is the tool's own; anything it does not print stays undefined.
 */
import { InputError } from '../../core/errors.ts';
import { parseAxLlm, type AxLlmTurn } from '../../parsers/ax-llm.ts';
import { parseLlamaCppLog } from '../../parsers/llamacpp.ts';

export interface ToolTimings {
  /** Vision encoder time of each image, ms. */
  imageEncodeMs: number[];
  /** Prefill of the prompt, ms (for ax-llm: its "ttft", which excludes image encoding). */
  prefillMs?: number;
  /** Decode steps after the first token, ms, and how many steps. */
  decodeMs?: number;
  decodeSteps?: number;
  promptTokens?: number;
  imageTokens?: number;
  /** Generated tokens including the first. */
  outputTokens?: number;
  /** The tool's figures as printed, under "tool.*" names. */
  reported: Record<string, number>;
  /** What the figures mean and what is missing, for the record's settings. */
  notes: string[];
}

export type ToolParser = (text: string, source: string) => ToolTimings;

function put(reported: Record<string, number>, key: string, value: number | null | undefined): void {
  if (typeof value === 'number' && Number.isFinite(value)) reported[key] = value;
}

/** llama.cpp CLIs (llava-cli, llama-mtmd-cli, llama-cli) and llama-server logs: the last timing block is the request. */
export function llamaCppTimings(text: string, source: string): ToolTimings {
  const log = parseLlamaCppLog(text, source);
  const block = log.timings[log.timings.length - 1];
  if (!block) throw new InputError(`${source}: no llama.cpp timing block (llama_print_timings / llama_perf_context_print) in the output`);
  const reported: Record<string, number> = {};
  put(reported, 'tool.load_ms', block.loadMs);
  put(reported, 'tool.sample_ms', block.sample?.ms);
  put(reported, 'tool.prompt_eval_ms', block.promptEval?.ms);
  put(reported, 'tool.prompt_eval_tokens', block.promptEval?.count);
  put(reported, 'tool.prompt_eval_tokens_per_s', block.promptEval?.tokensPerSecond);
  put(reported, 'tool.eval_ms', block.eval?.ms);
  put(reported, 'tool.eval_runs', block.eval?.count);
  put(reported, 'tool.eval_tokens_per_s', block.eval?.tokensPerSecond);
  put(reported, 'tool.total_ms', block.total?.ms);
  const encodes = log.imageEncodes.map((e) => e.ms);
  if (encodes.length) put(reported, 'tool.image_encode_ms', encodes.reduce((s, v) => s + v, 0));
  const decodes = log.imageDecodes.reduce((s, d) => s + d.ms, 0);
  if (log.imageDecodes.length) put(reported, 'tool.image_decode_ms', decodes);
  const embedTokens = log.imageEmbeddings.reduce((s, e) => s + e.tokens, 0);
  const t: ToolTimings = {
    imageEncodeMs: encodes,
    reported,
    notes: [
      'phases from llama.cpp\'s own timings: image_encode = CLIP/mtmd encode lines, prefill = "prompt eval", decode = "eval" (runs after the first token)',
    ],
  };
  if (block.promptEval) {
    t.prefillMs = block.promptEval.ms;
    if (block.promptEval.count !== undefined) t.promptTokens = block.promptEval.count;
  }
  if (block.eval) {
    t.decodeMs = block.eval.ms;
    if (block.eval.count !== undefined) {
      t.decodeSteps = block.eval.count;
      // "eval" runs exclude the token the prompt eval produced.
      t.outputTokens = block.eval.count + 1;
    }
  }
  if (log.imageEmbeddings.length) t.imageTokens = embedTokens;
  return t;
}

/**
 * Axera ax-llm / axllm demos: the last request of the session. Its "ttft" is the prefill alone
 * (image encoding excluded) and it never prints how many tokens it generated, so no decode
 * phase can be built: the tool's "avg N token/s" is kept as reported.
 */
export function axLlmTimings(text: string, source: string): ToolTimings {
  const log = parseAxLlm(text, source);
  const turn: AxLlmTurn | undefined = log.turns[log.turns.length - 1];
  if (!turn) throw new InputError(`${source}: the ax-llm log holds no request (no "ttft" / "image encode time" / "token/s" line)`);
  const reported: Record<string, number> = {};
  put(reported, 'tool.prefill_ttft_ms', turn.prefillTtftMs);
  put(reported, 'tool.avg_token_per_s', turn.reportedAvgTokensPerS);
  put(reported, 'tool.init_ms', log.init.initElapsedMs);
  put(reported, 'tool.remain_cmm_bytes', log.init.remainCmmBytes);
  if (turn.imageEncodeMs.length) put(reported, 'tool.image_encode_ms', turn.imageEncodeMs.reduce((s, v) => s + v, 0));
  put(reported, 'tool.prompt_tokens', turn.promptTokens);
  put(reported, 'tool.prefill_chunks', turn.prefillChunks);
  const t: ToolTimings = {
    imageEncodeMs: [...turn.imageEncodeMs],
    reported,
    notes: [
      'phases from ax-llm\'s own log: image_encode = "image encode time", prefill = "ttft" (prefill only, image encoding excluded); no decode phase: ax-llm does not print the generated token count, and its "avg N token/s" (kept as tool.avg_token_per_s) counts the first token over the time after it',
    ],
  };
  if (turn.prefillTtftMs !== undefined) t.prefillMs = turn.prefillTtftMs;
  if (turn.promptTokens !== undefined) t.promptTokens = turn.promptTokens;
  if (!turn.complete) t.notes.push('the request did not finish (no "token/s" line)');
  return t;
}

export const TOOL_PARSERS: Record<string, ToolParser> = {
  llamacpp: llamaCppTimings,
  'ax-llm': axLlmTimings,
};

export function toolParser(name: unknown, where: string): { name: string; parse: ToolParser } {
  if (typeof name !== 'string' || !TOOL_PARSERS[name]) {
    throw new InputError(`${where}: expected one of ${Object.keys(TOOL_PARSERS).map((k) => `"${k}"`).join(', ')}, got ${JSON.stringify(name)}`);
  }
  return { name, parse: TOOL_PARSERS[name]! };
}
