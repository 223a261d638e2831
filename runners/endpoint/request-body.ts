/**
 * Bodies of the requests the runner sends. Besides the OpenAI fields, a few server-specific
 * ones are added (servers ignore fields they do not know; `serverParams: false` drops them for
 * strict servers):
 * - `ignore_eos` + `min_tokens` (vLLM, llama.cpp honours ignore_eos): generate exactly
 *   max_tokens so every request decodes the same length; when a server ignores them the
 *   measured count is what gets reported.
 * - `stream_options.continuous_usage_stats` (vLLM) and `timings_per_token` (llama.cpp): a
 *   cumulative token count in every chunk, so a chunk carrying several tokens is counted right.
 * - `cache_prompt: false` (llama.cpp): no reuse of the previous request's KV cache.
 */
export interface ChatRequestInput {
  model: string;
  text: string;
  imageUrls: readonly string[];
  maxTokens: number;
  fixedOutputLength: boolean;
  serverParams: boolean;
  extraBody: Record<string, unknown>;
}

function userContent(text: string, imageUrls: readonly string[]): unknown {
  if (imageUrls.length === 0) return text;
  // Text first: with the per-request word order it makes each prompt differ from its first
  // tokens, so a prefix cache cannot reuse the (possibly identical, from files) images' KV.
  return [{ type: 'text', text }, ...imageUrls.map((url) => ({ type: 'image_url', image_url: { url } }))];
}

export function streamingChatBody(input: ChatRequestInput): Record<string, unknown> {
  return {
    model: input.model,
    messages: [{ role: 'user', content: userContent(input.text, input.imageUrls) }],
    max_tokens: input.maxTokens,
    temperature: 0,
    stream: true,
    stream_options: input.serverParams ? { include_usage: true, continuous_usage_stats: true } : { include_usage: true },
    ...(input.fixedOutputLength ? { ignore_eos: true, min_tokens: input.maxTokens } : {}),
    ...(input.serverParams ? { cache_prompt: false, timings_per_token: true } : {}),
    ...input.extraBody,
  };
}

/** A one-token, non-streamed text request whose `usage.prompt_tokens` measures a prompt. */
export function usageProbeBody(model: string, text: string, serverParams: boolean, extraBody: Record<string, unknown>): Record<string, unknown> {
  return {
    model,
    messages: [{ role: 'user', content: text }],
    temperature: 0,
    ...(serverParams ? { cache_prompt: false } : {}),
    ...extraBody,
    // Set after extraBody: the probe must stay a one-token, non-streamed answer.
    max_tokens: 1,
    stream: false,
  };
}

/** Body for POST /tokenize understood by both llama.cpp (`content`) and vLLM (`prompt`). */
export function tokenizeBody(model: string, text: string): Record<string, unknown> {
  return { model, content: text, prompt: text, add_special: false, add_special_tokens: false };
}
