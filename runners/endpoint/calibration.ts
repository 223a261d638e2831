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
  /** Calibration requests sent again after a 429, a 5xx, a timeout or a network error. */
  retries: number;
  /** What calibration fell back to after its requests kept failing, or null. */
  fallback: string | null;
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
  /** How failed calibration requests are retried (default CALIBRATION_RETRY). */
  retry?: RetryPolicy;
}

/**
 * Calibration requests are few and cheap, and one 429 or 503 of a busy server must not fail a
 * whole cell: each is retried with exponential backoff (or after the server's Retry-After),
 * a bounded number of times, with a per-attempt time limit shorter than a streamed request's.
 */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Time limit of one attempt, ms (capped by the target's timeoutMs). */
  timeoutMs: number;
}

export const CALIBRATION_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 10_000, timeoutMs: 30_000 };

/** Statuses worth asking again: rate limited, overloaded, a gateway's hiccup. */
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * A calibration request that kept failing in a way that may pass (429, 5xx, timeout, reset)
 * after every attempt. Only these lead to a fallback; a refused connection or a 401 fails the
 * cell, since every measured request would fail the same way.
 */
export class TransientCalibrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransientCalibrationError';
  }
}

/** Milliseconds a Retry-After header asks for (delta-seconds or an HTTP date), or null. */
export function retryAfterMs(header: string | null, nowMs = Date.now()): number | null {
  if (header === null) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

/**
 * POSTs with retries. Resolves with the first answer that is not retryable, or the last one;
 * rejects only when the last attempt failed on the network (or timed out).
 */
async function postJsonRetrying(target: HttpTarget, payload: unknown, policy: RetryPolicy, counter: { retries: number }): Promise<JsonAnswer> {
  const attemptTarget = { ...target, timeoutMs: Math.min(target.timeoutMs, policy.timeoutMs) };
  for (let attempt = 1; ; attempt++) {
    let answer: JsonAnswer | null = null;
    let failure: unknown = null;
    try {
      answer = await postJson(attemptTarget, payload);
    } catch (err) {
      failure = err;
    }
    const message = failure === null ? '' : (failure as Error).message;
    // Nobody listening is not a hiccup: the measured requests would be refused as well.
    if (failure !== null && /cannot connect/.test(message)) throw failure;
    const retryable = answer === null || RETRYABLE_STATUS.has(answer.status);
    if (!retryable || attempt >= policy.attempts) {
      if (answer) return answer;
      throw new TransientCalibrationError(`${message} (after ${attempt} attempt${attempt === 1 ? '' : 's'})`);
    }
    const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    const asked = answer ? retryAfterMs(answer.retryAfter) : null;
    counter.retries += 1;
    await new Promise((r) => setTimeout(r, Math.min(policy.maxDelayMs, asked ?? backoff)));
  }
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
  const policy = input.retry ?? CALIBRATION_RETRY;
  const counter = { retries: 0 };
  const post = (target: HttpTarget, payload: unknown) => postJsonRetrying(target, payload, policy, counter);
  const text = (words: number) => promptText(words, input.seed, input.instruction);

  const usageCache = new Map<string, number>();
  const promptTokensOf = async (t: string): Promise<number> => {
    const cached = usageCache.get(t);
    if (cached !== undefined) return cached;
    const answer = await post(input.chat, usageProbeBody(input.model, t, input.serverParams, input.extraBody));
    serverHeader ??= answer.serverHeader;
    if (answer.status < 200 || answer.status >= 300) {
      const message = `calibration request to ${displayUrl(input.chat.url)} failed: ${describeHttpError(answer.status, undefined, answer.text)}`;
      throw RETRYABLE_STATUS.has(answer.status) ? new TransientCalibrationError(message) : new Error(message);
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
    return { mode: 'off', words: input.target, textTokens: null, textPromptTokens, serverHeader, probes: 0, notes: ['prompt not calibrated: one filler word per requested token'], retries: counter.retries, fallback: null };
  }

  let mode: CalibrationResult['mode'] | null = null;
  let result: { words: number; tokens: number; probes: number } | null = null;

  if (input.mode === 'auto' || input.mode === 'tokenize') {
    let first: JsonAnswer;
    try {
      first = await post(input.tokenize, tokenizeBody(input.model, text(0)));
    } catch (err) {
      if (input.mode === 'tokenize' || !(err instanceof TransientCalibrationError)) throw err;
      // Silence or a reset at /tokenize, every attempt: usage may still work.
      first = { status: 0, json: null, text: (err as Error).message, serverHeader: null, retryAfter: null };
    }
    serverHeader = first.serverHeader;
    const firstCount = tokenCount(first);
    if (first.status === 0) {
      notes.push(`POST ${displayUrl(input.tokenize.url)} failed: ${first.text}; calibrated through usage instead`);
    } else if (first.status >= 200 && first.status < 300 && firstCount !== null) {
      try {
        result = await calibrateWords(input.target, async (w) => {
          if (w === 0) return firstCount;
          const answer = await post(input.tokenize, tokenizeBody(input.model, text(w)));
          const n = tokenCount(answer);
          if (answer.status < 200 || answer.status >= 300 || n === null) {
            throw new (RETRYABLE_STATUS.has(answer.status) ? TransientCalibrationError : Error)(`POST ${displayUrl(input.tokenize.url)} failed during calibration: ${describeHttpError(answer.status, undefined, answer.text)}`);
          }
          return n;
        });
        mode = 'tokenize';
      } catch (err) {
        if (input.mode === 'tokenize' || !(err instanceof TransientCalibrationError)) throw err;
        notes.push(`${(err as Error).message}; calibrated through usage instead`);
      }
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
    try {
      result = await calibrateWords(input.target, async (w) => (await promptTokensOf(text(w))) - empty);
    } catch (err) {
      if (!(err instanceof TransientCalibrationError)) throw err;
      // The server kept refusing the probes: send the prompt uncalibrated rather than fail the
      // cell, and say so (the record's prompt_tokens still give the true count per request).
      const fallback = `calibration failed (${(err as Error).message}); prompt not calibrated: one filler word per requested token`;
      notes.push(fallback);
      return { mode: 'off', words: input.target, textTokens: null, textPromptTokens: null, serverHeader, probes: usageCache.size, notes, retries: counter.retries, fallback };
    }
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
  if (counter.retries > 0) notes.push(`${counter.retries} calibration request(s) sent again after a 429, 5xx, timeout or network error`);
  const fallback = notes.find((n) => n.endsWith('calibrated through usage instead')) ?? null;
  return { mode: mode ?? 'usage', words: result.words, textTokens: result.tokens, textPromptTokens, serverHeader, probes: result.probes, notes, retries: counter.retries, fallback };
}
