/**
 * Sizes the prompt text to the cell's `prefill` tokens with the server's own tokenizer:
 * - `tokenize`: POST /tokenize (llama.cpp and vLLM serve it at the server root) counts the text
 *   directly;
 * - `usage`: one-token text requests; text tokens = usage.prompt_tokens(text) -
 *   usage.prompt_tokens(empty message), which removes the chat template's tokens. If the server
 *   refuses an empty message the template stays in the count (mode `usage-with-template`).
 * `auto` tries /tokenize and falls back to usage. When the cell has images, one text-only
 * request also measures the full text prompt (template included), so that each request's image
 * tokens can be taken as its usage.prompt_tokens minus that figure.
 */
import type { HttpTarget, JsonAnswer } from './http-client.ts';
import { describeHttpError, displayUrl, postJson } from './http-client.ts';
import type { CalibrationMode } from './options.ts';
import { calibrateWords, promptText } from './prompt.ts';
import { tokenizeBody, usageProbeBody } from './request-body.ts';
import { errorMessage } from '../../core/errors.ts';

export interface CalibrationResult {
  mode: 'tokenize' | 'usage' | 'usage-with-template' | 'off';
  /** Filler words to put in each prompt. */
  words: number;
  /** Tokens of the prompt text at `words`, by the server; null when not calibrated. */
  textTokens: number | null;
  /** usage.prompt_tokens of the text-only prompt (chat template included); null if unknown. */
  textPromptTokens: number | null;
  /** The `Server` header the server answered with (llama.cpp says "llama.cpp"). */
  serverHeader: string | null;
  probes: number;
  notes: string[];
}

export interface CalibrationInput {
  mode: CalibrationMode;
  target: number;
  model: string;
  instruction: string;
  seed: number;
  /** Measure the text-only prompt's usage (for image token counts). */
  needTextPromptTokens: boolean;
  chat: HttpTarget;
  tokenize: HttpTarget;
  serverParams: boolean;
  extraBody: Record<string, unknown>;
}

/** Status codes meaning "this server has no such endpoint". */
const NO_ENDPOINT = new Set([404, 405, 501]);

function tokenCount(answer: JsonAnswer): number | null {
  const json = answer.json as { count?: unknown; tokens?: unknown } | null;
  if (json && typeof json.count === 'number') return json.count;
  if (json && Array.isArray(json.tokens)) return json.tokens.length;
  return null;
}

export async function calibratePrompt(input: CalibrationInput): Promise<CalibrationResult> {
  const notes: string[] = [];
  let serverHeader: string | null = null;
  const text = (words: number) => promptText(words, input.seed, input.instruction);

  const usageCache = new Map<string, number>();
  const promptTokensOf = async (t: string): Promise<number> => {
    const cached = usageCache.get(t);
    if (cached !== undefined) return cached;
    const answer = await postJson(input.chat, usageProbeBody(input.model, t, input.serverParams, input.extraBody));
    serverHeader ??= answer.serverHeader;
    if (answer.status < 200 || answer.status >= 300) {
      throw new Error(`calibration request to ${displayUrl(input.chat.url)} failed: ${describeHttpError(answer.status, undefined, answer.text)}`);
    }
    const usage = (answer.json as { usage?: { prompt_tokens?: unknown } } | null)?.usage;
    if (typeof usage?.prompt_tokens !== 'number') {
      throw new Error(`calibration request to ${displayUrl(input.chat.url)}: the answer has no usage.prompt_tokens, so prompt length cannot be measured (set options.calibrate: off to send an uncalibrated prompt)`);
    }
    usageCache.set(t, usage.prompt_tokens);
    return usage.prompt_tokens;
  };

  if (input.mode === 'off') {
    const textPromptTokens = input.needTextPromptTokens ? await promptTokensOf(text(input.target)).catch(() => null) : null;
    return { mode: 'off', words: input.target, textTokens: null, textPromptTokens, serverHeader, probes: 0, notes: ['prompt not calibrated: one filler word per requested token'] };
  }

  let mode: CalibrationResult['mode'] | null = null;
  let result: { words: number; tokens: number; probes: number } | null = null;

  if (input.mode === 'auto' || input.mode === 'tokenize') {
    const first = await postJson(input.tokenize, tokenizeBody(input.model, text(0)));
    serverHeader = first.serverHeader;
    const firstCount = tokenCount(first);
    if (first.status >= 200 && first.status < 300 && firstCount !== null) {
      mode = 'tokenize';
      result = await calibrateWords(input.target, async (w) => {
        if (w === 0) return firstCount;
        const answer = await postJson(input.tokenize, tokenizeBody(input.model, text(w)));
        const n = tokenCount(answer);
        if (answer.status < 200 || answer.status >= 300 || n === null) {
          throw new Error(`POST ${displayUrl(input.tokenize.url)} failed during calibration: ${describeHttpError(answer.status, undefined, answer.text)}`);
        }
        return n;
      });
    } else if (input.mode === 'tokenize' || !NO_ENDPOINT.has(first.status)) {
      const why = first.status >= 200 && first.status < 300 ? 'an answer without "tokens" or "count"' : describeHttpError(first.status, undefined, first.text);
      if (input.mode === 'tokenize') throw new Error(`options.calibrate is "tokenize" but POST ${displayUrl(input.tokenize.url)} gave ${why}`);
      notes.push(`POST ${displayUrl(input.tokenize.url)} gave ${why}; calibrated through usage instead`);
    } else {
      notes.push(`no /tokenize on this server (HTTP ${first.status}); calibrated through usage`);
    }
  }

  if (result === null) {
    let empty = 0;
    mode = 'usage';
    try {
      empty = await promptTokensOf('');
    } catch (err) {
      mode = 'usage-with-template';
      notes.push(`an empty message was refused (${errorMessage(err)}); text token counts include the chat template`);
    }
    result = await calibrateWords(input.target, async (w) => (await promptTokensOf(text(w))) - empty);
  }

  let textPromptTokens: number | null = null;
  if (input.needTextPromptTokens) {
    try {
      textPromptTokens = await promptTokensOf(text(result.words));
    } catch (err) {
      notes.push(`image token counts unavailable: ${errorMessage(err)}`);
    }
  }
  if (result.tokens !== input.target) {
    notes.push(`prompt text has ${result.tokens} tokens, the closest reachable to the requested ${input.target}`);
  }
  return { mode: mode ?? 'usage', words: result.words, textTokens: result.tokens, textPromptTokens, serverHeader, probes: result.probes, notes };
}
