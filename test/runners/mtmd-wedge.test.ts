/**
 * @fugood/llama.node 1.7.15 can leave a context marked busy after a fast completion (a race in
 * its LlamaContext::Completion, reproduced with the tiny zoo model under CPU contention): every
 * later completion on it throws "Another completion is in progress". The pipeline replaces such a
 * context and runs the request again whole. The binding's race cannot be triggered on demand, so
 * these contexts are stand-ins that answer as the binding does, wedged or not.
 */
import { describe, expect, it } from 'vitest';
import { createClock } from '../../core/clock.ts';
import { MtmdPipeline, WEDGED_CONTEXT_MESSAGE } from '../../runners/llamacpp/image-pipeline.ts';
import type { MtmdCompletion, MtmdContext } from '../../runners/llamacpp/mtmd-binding.ts';

const PROMPT_TOKENS = 12;

function standIn(wedgeAfter: number): MtmdContext & { released: boolean; completions: number } {
  const self = {
    released: false,
    completions: 0,
    getSystemInfo: () => 'CPU : AVX2 = 1 |',
    initMultimodal: () => true,
    isMultimodalEnabled: () => true,
    clearCache: () => {},
    tokenize: async () => ({ tokens: Int32Array.from({ length: PROMPT_TOKENS }, (_, i) => (i < 4 ? -1 : i)), has_media: true }),
    async completion(options: { n_predict: number; media_paths?: string[] }): Promise<MtmdCompletion> {
      // The binding throws synchronously from completion() once wedged.
      if (self.completions >= wedgeAfter) throw new TypeError(WEDGED_CONTEXT_MESSAGE);
      const replay = self.completions % 3 === 1; // head, replayed tail, prefill reference
      self.completions++;
      return {
        tokens_predicted: options.n_predict,
        tokens_evaluated: PROMPT_TOKENS,
        timings: { prompt_n: replay ? 1 : PROMPT_TOKENS, prompt_ms: 1, predicted_n: options.n_predict, predicted_ms: 1 },
      };
    },
    async release() {
      self.released = true;
    },
  };
  return self;
}

const shape = { text: 'abcdefgh', imagePaths: ['/nonexistent.png'], outputTokens: 4 };

describe('MtmdPipeline with a context the binding left marked busy', () => {
  it('loads a new context and runs the request again whole; the wedged one is not released', async () => {
    const wedged = standIn(1); // the head completion succeeds, the replay finds the context wedged
    const fresh = standIn(Infinity);
    const logs: string[] = [];
    let opened = 0;
    const pipeline = new MtmdPipeline(wedged, createClock(), async () => (opened++, fresh), (m) => logs.push(m));
    const rec = await pipeline.run(shape, 0, false);
    expect(rec.error).toBeUndefined();
    expect(opened).toBe(1);
    expect(pipeline.reloads).toBe(1);
    expect(pipeline.current).toBe(fresh);
    // The whole request ran on the new context: head, replay and prefill reference.
    expect(fresh.completions).toBe(3);
    expect(rec.outputTokens).toBe(4);
    expect(rec.events.filter((e) => e.kind === 'token').map((e) => (e.kind === 'token' ? e.count : 0))).toEqual([1, 3]);
    // release() on a wedged context would write to the worker the binding already freed.
    expect(wedged.released).toBe(false);
    expect(logs.join('\n')).toMatch(/marked busy/);
  });

  it('records the error after a few fresh contexts all wedge, and any other error at once', async () => {
    let opened = 0;
    const pipeline = new MtmdPipeline(standIn(0), createClock(), async () => (opened++, standIn(0)));
    const rec = await pipeline.run(shape, 0, false);
    expect(rec.error).toBe(WEDGED_CONTEXT_MESSAGE);
    expect(opened).toBe(3);

    const broken = standIn(Infinity);
    broken.completion = async () => {
      throw new Error('failed to load image');
    };
    let reopened = 0;
    const other = await new MtmdPipeline(broken, createClock(), async () => (reopened++, standIn(Infinity))).run(shape, 0, false);
    expect(other.error).toBe('failed to load image');
    expect(reopened).toBe(0);
  });
});
