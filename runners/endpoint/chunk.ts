/**
 * Reads one `chat.completion.chunk` object of an OpenAI-compatible stream into the few facts the
 * runner needs. Formats seen in the fixtures (test/fixtures/endpoint-sse-*.txt):
 * - llama.cpp server: first chunk `delta: {role, content: null}`; the final chunk carries
 *   `usage` and a llama.cpp-specific `timings` object; with `timings_per_token: true` every chunk
 *   carries `timings` (cumulative `predicted_n`).
 * - vLLM: `delta: {role, content: ""}` first; empty-content chunks happen; `usage` arrives in a
 *   last chunk with `choices: []` when `stream_options.include_usage` is set, and in every chunk
 *   (cumulative `completion_tokens`) with `continuous_usage_stats: true`.
 * - ik_llama.cpp: no role chunk, usage in the final chunk, no `data: [DONE]`.
 */
import { errorMessage, ParseError } from '../../core/errors.ts';

export interface ChunkInfo {
  /** Characters of generated text in this chunk (`content` plus `reasoning_content`). */
  textChars: number;
  /** True when the chunk has at least one choice (vLLM's usage-only chunk has none). */
  hasChoices: boolean;
  finishReason: string | null;
  /** Numeric leaves of `usage`, flattened with dots ("prompt_tokens_details.cached_tokens"). */
  usage: Record<string, number> | null;
  /** Numeric fields of llama.cpp's `timings`. */
  timings: Record<string, number> | null;
  /**
   * Output tokens generated so far according to the server (usage.completion_tokens, else
   * timings.predicted_n); null when the chunk carries neither.
   */
  cumulativeTokens: number | null;
  /** An `error` object the server put in the stream instead of a chunk. */
  serverError: string | null;
}

const EXCERPT = 160;

export function excerpt(text: string, max = EXCERPT): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Numeric leaves of an object; nested objects become dotted keys. */
export function flattenNumbers(obj: Record<string, unknown>, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (typeof value === 'number' && Number.isFinite(value)) out[prefix + key] = value;
    else if (isObject(value)) Object.assign(out, flattenNumbers(value, `${prefix}${key}.`));
  }
  return out;
}

function serverErrorText(err: unknown): string {
  if (typeof err === 'string') return err;
  if (isObject(err)) {
    const message = typeof err['message'] === 'string' ? err['message'] : JSON.stringify(err);
    const code = err['code'] ?? err['type'];
    return code !== undefined ? `${message} (${String(code)})` : message;
  }
  return JSON.stringify(err);
}

/**
 * Parses the data of one SSE event (other than `[DONE]`). Throws ParseError naming the stream
 * line when the data is not JSON or not shaped like a chunk.
 */
export function parseChunk(data: string, source: string, line: number): ChunkInfo {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch (err) {
    throw new ParseError(source, line, `malformed SSE data, not JSON (${errorMessage(err)}): ${excerpt(data)}`);
  }
  if (!isObject(json)) throw new ParseError(source, line, `expected a JSON object in SSE data, got: ${excerpt(data)}`);

  const info: ChunkInfo = {
    textChars: 0,
    hasChoices: false,
    finishReason: null,
    usage: null,
    timings: null,
    cumulativeTokens: null,
    serverError: null,
  };
  if (json['error'] !== undefined && json['choices'] === undefined) {
    info.serverError = serverErrorText(json['error']);
    return info;
  }

  const choices = json['choices'];
  if (choices !== undefined) {
    if (!Array.isArray(choices)) throw new ParseError(source, line, `"choices" is not an array: ${excerpt(data)}`);
    info.hasChoices = choices.length > 0;
    for (const choice of choices) {
      if (!isObject(choice)) throw new ParseError(source, line, `a choice is not an object: ${excerpt(data)}`);
      const delta = choice['delta'];
      if (delta !== undefined && delta !== null) {
        if (!isObject(delta)) throw new ParseError(source, line, `"delta" is not an object: ${excerpt(data)}`);
        for (const field of ['content', 'reasoning_content']) {
          const text = delta[field];
          if (typeof text === 'string') info.textChars += text.length;
          else if (text !== undefined && text !== null) {
            throw new ParseError(source, line, `delta.${field} is neither a string nor null: ${excerpt(data)}`);
          }
        }
      }
      if (typeof choice['finish_reason'] === 'string') info.finishReason = choice['finish_reason'];
    }
  } else if (!isObject(json['usage']) && !isObject(json['timings'])) {
    throw new ParseError(source, line, `expected a chat.completion.chunk (choices, usage or timings), got: ${excerpt(data)}`);
  }

  if (isObject(json['usage'])) info.usage = flattenNumbers(json['usage']);
  if (isObject(json['timings'])) info.timings = flattenNumbers(json['timings']);
  info.cumulativeTokens = info.usage?.['completion_tokens'] ?? info.timings?.['predicted_n'] ?? null;
  return info;
}
