/**
 * The prefill reference of a llamacpp image cell (runners/llamacpp/image-pipeline.ts) must
 * evaluate exactly as many prompt positions as the image request: the composed split
 * image_encode = TTFT - preprocess - prefill is only right then. Its text is found by token
 * count, not by assuming one token per character; the real binding's counts are checked in
 * llamacpp-images.test.ts (`prefill_reference.prompt_n` equals the request's `prompt_n`).
 */
import { describe, expect, it } from 'vitest';
import { createClock } from '../../core/clock.ts';
import { MtmdPipeline, referencePrompt } from '../../runners/llamacpp/image-pipeline.ts';
import type { MtmdCompletion, MtmdContext } from '../../runners/llamacpp/mtmd-binding.ts';

/** A vocabulary with merges: a run of two equal characters is one token ("aa" -> 1, "aaa" -> 2). */
function pairMergingCount(text: string): number {
  let tokens = 0;
  for (let i = 0; i < text.length; i++) {
    tokens++;
    if (text[i + 1] === text[i]) i++;
  }
  return tokens;
}
/** A vocabulary that merges every two characters whatever they are. */
const bigramCount = (text: string) => Math.ceil(text.length / 2);

describe('prefill reference prompt', () => {
  it('has exactly the wanted token count under a vocabulary that merges characters', async () => {
    // The old reference, 'a'.repeat(n), evaluates about half the positions under such merges.
    expect(pairMergingCount('a'.repeat(40))).toBe(20);
    for (const n of [1, 7, 40, 301]) {
      expect(pairMergingCount(await referencePrompt(n, async (t) => pairMergingCount(t)))).toBe(n);
      expect(bigramCount(await referencePrompt(n, async (t) => bigramCount(t)))).toBe(n);
      // Byte-level (the zoo's vocabulary): one character per token.
      expect((await referencePrompt(n, async (t) => t.length)).length).toBe(n);
    }
  });

  it('says so when no text has that many tokens, instead of using one of another length', async () => {
    // Every text is 3 tokens (e.g. a template around it): 5 positions are out of reach.
    await expect(referencePrompt(5, async () => 3)).rejects.toThrow(/no text prompt of exactly 5 tokens found for the prefill reference/);
  });

  it('a reference that evaluates another number of positions than the request fails the request, not the split', async () => {
    const PROMPT = 12;
    const context: MtmdContext = {
      getSystemInfo: () => '',
      initMultimodal: () => true,
      isMultimodalEnabled: () => true,
      clearCache: () => {},
      // tokenize agrees (12 tokens for any text) but the reference completion evaluates 11 positions.
      tokenize: async () => ({ tokens: Int32Array.from({ length: PROMPT }, (_, i) => (i < 4 ? -1 : i)), has_media: true }),
      async completion(o): Promise<MtmdCompletion> {
        const prompt_n = o.media_paths ? (o.n_predict === 1 ? PROMPT : 1) : PROMPT - 1;
        return { tokens_predicted: o.n_predict, tokens_evaluated: prompt_n, timings: { prompt_n, prompt_ms: 1, predicted_n: o.n_predict, predicted_ms: 1 } };
      },
      release: async () => {},
    };
    const rec = await new MtmdPipeline(context, createClock(), async () => context).run({ text: 'abcdefgh', imagePaths: ['/x.png'], outputTokens: 3 }, 0, false);
    expect(rec.error).toBe('the prefill reference evaluated 11 prompt positions, the image request 12: prefill and image_encode cannot be split');
  });
});
