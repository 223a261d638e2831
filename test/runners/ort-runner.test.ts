import { THREAD_SPINNING_SETTING, pipelineSessionOptions } from '../../runners/ort/session-options.ts';
import { describe, expect, it } from 'vitest';
import type { Suite } from '../../core/suite-types.ts';
import { ensureModel } from '../../models/zoo.ts';
import { ortRunner } from '../../runners/ort/index.ts';
import { cell, ctx, runOnce as once } from '../helpers/ort-cell.ts';

const suite: Suite = {
  name: 'runner-test',
  model: { zoo: 'internvl2_5-1b', scale: 'tiny', layout: 'onnx-community', seed: 99 },
  target: 'local',
  runner: 'ort',
  defaults: { warmup: 0, iterations: 1, outputTokens: 6 },
  matrix: { images: [2], prefill: [24], precision: ['fp32'] },
};

describe('ORT runner on real ONNX Runtime sessions (tiny synthetic InternVL)', () => {
  it('runs a real generation with every graph and phase timed on one clock', async () => {
    const { rec, settings } = await once(suite, { images: 2, prefill: 24, precision: 'fp32' });
    const tokensPerImage = Number(settings['tokensPerImage']);
    expect(tokensPerImage).toBeGreaterThan(0);
    expect(rec.promptTokens).toBe(24 + 2 * tokensPerImage);
    expect(rec.outputTokens).toBe(6);
    expect(rec.outputTokenIds).toHaveLength(6);
    const calls = (graph: string, phase: string) => rec.events.filter((e) => e.kind === 'subgraph' && e.graph === graph && e.phase === phase).length;
    expect(calls('vision_encoder', 'image_encode')).toBe(2);
    expect(calls('embed_tokens', 'prefill')).toBe(1);
    expect(calls('decoder_model_merged', 'prefill')).toBe(1);
    expect(calls('lm_head', 'prefill')).toBe(1);
    expect(calls('decoder_model_merged', 'decode')).toBe(5);
    expect(calls('lm_head', 'decode')).toBe(5);
    const phases = rec.events.filter((e) => e.kind === 'phase').map((e) => (e.kind === 'phase' ? e.phase : ''));
    expect(phases).toEqual(['preprocess', 'image_encode', 'prefill', 'decode']);
    // Phases follow each other on the one clock, and every subgraph call lies inside its phase.
    const spans = rec.events.filter((e) => e.kind === 'phase');
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.startMs).toBeGreaterThanOrEqual(spans[i - 1]!.endMs);
    for (const e of rec.events) {
      if (e.kind !== 'subgraph') continue;
      const span = spans.find((p) => p.kind === 'phase' && p.phase === e.phase)!;
      expect(e.startMs).toBeGreaterThanOrEqual(span.startMs);
      expect(e.endMs).toBeLessThanOrEqual(span.endMs);
    }
    expect(settings['intraOpNumThreads']).toBe(1);
    expect(settings['lmHead']).toBe('separate graph');
    // Pools must stop spinning between the pipeline's sessions (see runners/ort/session-options.ts).
    expect(settings['threadSpinning']).toBe(THREAD_SPINNING_SETTING);
    expect(pipelineSessionOptions(2).extra).toEqual({ session: { force_spinning_stop: '1' } });
  });

  it('gives the same greedy tokens with chunked and whole-prompt prefill', async () => {
    const whole = await once(suite, { images: 1, prefill: 24, precision: 'fp32' });
    const chunked = await once(suite, { images: 1, prefill: 24, precision: 'fp32', chunk: 8 });
    expect(chunked.rec.events.filter((e) => e.kind === 'subgraph' && e.graph === 'decoder_model_merged' && e.phase === 'prefill')).toHaveLength(
      Math.ceil(whole.rec.promptTokens / 8),
    );
    expect(chunked.rec.outputTokenIds).toEqual(whole.rec.outputTokenIds);
    expect(chunked.settings['chunkSize']).toBe(8);
  });

  it('gives the same tokens and hidden path with the cache shared in place as with a growing cache', async () => {
    const shared = await once(suite, { images: 1, prefill: 24, precision: 'fp32', chunk: 8 });
    const grown = await once({ ...suite, options: { kvCache: 'grow' } }, { images: 1, prefill: 24, precision: 'fp32', chunk: 8 });
    expect(shared.settings['kvCache']).toMatch(/shared buffer/);
    expect(grown.settings['kvCache']).toMatch(/grown/);
    expect(shared.rec.outputTokenIds).toEqual(grown.rec.outputTokenIds);
    // int4 too: MatMulNBits takes other kernel paths, the cache handling must not matter.
    const s4 = await once(suite, { images: 0, prefill: 24, precision: 'int4' });
    const g4 = await once({ ...suite, options: { kvCache: 'grow' } }, { images: 0, prefill: 24, precision: 'int4' });
    expect(s4.rec.outputTokenIds).toEqual(g4.rec.outputTokenIds);
    await expect(once({ ...suite, options: { kvCache: 'static' } }, { images: 0, prefill: 8, precision: 'fp32' })).rejects.toThrow(/options\.kvCache must be "shared" or "grow"/);
  });

  it('runs a real onnx-community export (lm_head inside the decoder) found by path', async () => {
    const built = await ensureModel({ model: 'internvl2_5-1b', scale: 'tiny', precision: 'fp32', layout: 'onnx-community', seed: 99, lmHead: 'merged' });
    expect(built.files['lm_head']).toBeUndefined();
    const fromPath: Suite = { ...suite, model: { path: built.dir }, options: { vocab: built.descriptor.llm.vocab } };
    const prepared = await ortRunner.prepare(cell({ images: 1, prefill: 16, precision: 'fp32' }), fromPath, ctx);
    try {
      expect(prepared.model.synthetic).toBe(false); // the runner cannot know; it hashes the files
      expect(Object.values(prepared.model.hashes ?? {}).every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
      expect(prepared.settings['lmHead']).toBe('inside decoder');
      const rec = await prepared.runIteration(0, false);
      expect(rec.error).toBeUndefined();
      expect(rec.outputTokens).toBe(6);
      expect(rec.events.some((e) => e.kind === 'subgraph' && e.graph === 'lm_head')).toBe(false);
    } finally {
      await prepared.close();
    }
  });

  it('profiles every kernel when asked, per graph and operator type', async () => {
    const prepared = await ortRunner.prepare(cell({ images: 1, prefill: 16, precision: 'fp32' }), suite, { ...ctx, profile: true });
    try {
      const rec = await prepared.runIteration(0, false);
      expect(rec.error).toBeUndefined();
      const profile = (await prepared.collectProfile!())!;
      const layers = Number(prepared.settings['layers']);
      const decoder = profile.graphs['decoder_model_merged']!;
      // One prefill call and 5 decode calls, each running one attention node per layer.
      expect(decoder.find((o) => o.op === 'GroupQueryAttention')!.calls).toBe(6 * layers);
      expect(decoder.reduce((s, o) => s + o.share, 0)).toBeCloseTo(1, 6);
      expect(Object.keys(profile.graphs).sort()).toEqual(['decoder_model_merged', 'embed_tokens', 'lm_head', 'vision_encoder']);
      expect(String(prepared.settings['ortProfiling'])).toMatch(/profiler overhead/);
    } finally {
      await prepared.close();
    }
  });

  it('fails a cell clearly when a precision cannot be synthesised', async () => {
    await expect(ortRunner.prepare(cell({ images: 0, prefill: 8, precision: 'w8a16' }), suite, ctx)).rejects.toThrow(
      /precision "w8a16" cannot be synthesised; the model zoo builds fp32, fp16, int8, int4/,
    );
  });
});
