import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import type { Clock } from '../../core/clock.ts';
import type { IterationRecord, PhaseName, TimedEvent } from '../../core/events.ts';
import { makePromptIds } from '../ort/inputs.ts';
import { errorMessage } from '../../core/errors.ts';

/** Graph name of one llama.cpp evaluation (llama_decode over a batch + greedy sampling of the last row). */
export const LLAMA_DECODE_GRAPH = 'llama_decode';

export interface LlamaRequestShape {
  /** Text tokens of the prompt (ids drawn as the ORT runner draws them: same seed, same ids). */
  textTokens: number;
  vocab: number;
  seed: number;
  outputTokens: number;
  /** Prefill chunk in tokens; 0 = the whole prompt in one evaluation. */
  chunkSize: number;
}

/** Greedy: temperature 0 takes the most likely token, as the ORT runner's argmax does. */
const GREEDY = { generateNext: { token: true, options: { temperature: 0 } } } as const;

/**
 * One text request through llama.cpp, timed as the ORT pipeline times its graphs: a
 * `preprocess` phase (the prompt ids), a `prefill` phase with one `llama_decode` event per
 * chunk (the last chunk also samples the first token), the first token event, then a `decode`
 * phase with one `llama_decode` event and one token event per step. Every time is on the
 * run's clock, so TTFT, TPOT and prefill/decode times mean exactly what they mean for ORT.
 */
export class LlamaPipeline {
  constructor(
    private readonly sequence: LlamaContextSequence,
    private readonly clock: Clock,
  ) {}

  async run(shape: LlamaRequestShape, index: number, warmup: boolean): Promise<IterationRecord> {
    const { clock, sequence } = this;
    // The previous request's KV cache is dropped before the clock starts (ORT reuses its buffer).
    await sequence.clearHistory();
    const events: TimedEvent[] = [];
    const record: IterationRecord = {
      index,
      warmup,
      startMs: clock.now(),
      endMs: 0,
      promptTokens: shape.textTokens,
      imageTokens: 0,
      images: 0,
      outputTokens: 0,
      events,
    };
    const phase = async <T>(name: PhaseName, fn: () => Promise<T>): Promise<T> => {
      const startMs = clock.now();
      const value = await fn();
      events.push({ kind: 'phase', phase: name, startMs, endMs: clock.now() });
      return value;
    };
    /** Evaluates `tokens`; returns the greedy next token when `sample` (the last row's logits). */
    const evaluate = async (tokens: Token[], phaseName: PhaseName, sample: boolean): Promise<Token | undefined> => {
      const input = tokens.map((t, i) => (sample && i === tokens.length - 1 ? ([t, GREEDY] as [Token, typeof GREEDY]) : t));
      const startMs = clock.now();
      const out = await sequence.controlledEvaluate(input);
      events.push({ kind: 'subgraph', graph: LLAMA_DECODE_GRAPH, phase: phaseName, startMs, endMs: clock.now(), items: tokens.length });
      if (!sample) return undefined;
      const next = out[tokens.length - 1]?.next?.token;
      if (next === undefined || next === null) throw new Error('llama.cpp returned no token for the last prompt row');
      return next;
    };

    try {
      const prompt = await phase('preprocess', async () =>
        Array.from(makePromptIds(shape.textTokens, [], shape.vocab, shape.seed).ids, (id) => Number(id) as Token),
      );
      const total = prompt.length;
      const first = await phase('prefill', async () => {
        const chunk = shape.chunkSize > 0 ? shape.chunkSize : total;
        let token: Token | undefined;
        for (let start = 0; start < total; start += chunk) {
          const end = Math.min(total, start + chunk);
          token = await evaluate(prompt.slice(start, end), 'prefill', end === total);
        }
        return token!;
      });
      events.push({ kind: 'token', tMs: clock.now(), index: 0, count: 1 });
      const ids: number[] = [first];
      record.outputTokens = 1;
      record.outputTokenIds = ids;
      await phase('decode', async () => {
        let token = first;
        for (let step = 1; step < shape.outputTokens; step++) {
          token = (await evaluate([token], 'decode', true))!;
          events.push({ kind: 'token', tMs: clock.now(), index: step, count: 1 });
          ids.push(token);
          record.outputTokens = step + 1;
        }
      });
    } catch (err) {
      record.error = errorMessage(err);
    }
    record.endMs = clock.now();
    return record;
  }
}
