/**
 * The decode-step breakdown on real ONNX Runtime profiles of a tiny zoo model (int8, the zoo's
 * forms): prefill kernels never leak into decode rows, rows add up to the step, and a profile
 * that does not match the pipeline's calls is refused.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createClock } from '../../core/clock.ts';
import type { IterationRecord } from '../../core/events.ts';
import { ensureModel } from '../../models/zoo.ts';
import { BINDING_ITEM, EXECUTOR_ITEM, HOST_ITEM, decodeStepBreakdown } from '../../runners/ort/decode-breakdown.ts';
import { readGeometry } from '../../runners/ort/geometry.ts';
import { OrtPipeline } from '../../runners/ort/pipeline.ts';
import { CellProfiler } from '../../runners/ort/profiling.ts';
import { pipelineSessionOptions } from '../../runners/ort/session-options.ts';
import { tempDir } from '../helpers/tmp.ts';

const cacheDir = tempDir('decode-breakdown-');

describe('decode step breakdown from ONNX Runtime profiles', () => {
  it('charges every kernel of a decode run to decode and adds up to the step', async () => {
    const built = await ensureModel({ model: 'internvl2_5-1b', scale: 'tiny', precision: 'int8', layout: 'onnx-community', cacheDir });
    const profiler = new CellProfiler();
    const open = (name: string) => ort.InferenceSession.create(built.files[name]!, { ...pipelineSessionOptions(1), ...profiler.options(name) });
    const embed = await open('embed_tokens');
    const decoder = await open('decoder_model_merged');
    const lmHead = await open('lm_head');
    const geo = readGeometry(decoder, undefined, {}, 'decoder');
    const pipeline = new OrtPipeline({ embed, decoder, lmHead }, geo, createClock(), 'shared');
    // A chunked prefill (3 decoder runs) makes prefill runs outnumber and outlast decode runs.
    const shape = { images: 0, textTokens: 20, outputTokens: 5, chunkSize: 8, vocab: built.descriptor.llm.vocab, seed: 3 };
    const records: IterationRecord[] = [];
    for (let i = 0; i < 3; i++) records.push(await pipeline.run(shape, i, i === 0));
    expect(records.every((r) => r.error === undefined)).toBe(true);
    const profiles = profiler.profiles({ embed_tokens: embed, decoder_model_merged: decoder, lm_head: lmHead });
    await Promise.all([embed.release(), decoder.release(), lmHead.release()]);

    const b = decodeStepBreakdown(records, profiles);
    expect(b.steps).toBe(2 * 4); // two measured requests of 4 decode steps; the warm-up is left out
    const row = (graph: string, item: string) => b.rows.find((r) => r.graph === graph && r.item === item);
    const layers = built.descriptor.llm.layers;
    // Per decode step: one attention node per layer, five weight matmuls per layer, one head.
    expect(row('decoder_model_merged', 'GroupQueryAttention')!.callsPerStep).toBe(layers);
    expect(row('decoder_model_merged', 'DynamicQuantizeMatMul')!.callsPerStep).toBe(5 * layers);
    expect(row('decoder_model_merged', 'RotaryEmbedding')!.callsPerStep).toBe(2 * layers);
    expect(row('lm_head', 'DynamicQuantizeMatMul')!.callsPerStep).toBe(1);
    for (const graph of ['embed_tokens', 'decoder_model_merged', 'lm_head']) {
      expect(row(graph, EXECUTOR_ITEM)!.msPerStep).toBeGreaterThanOrEqual(0);
      expect(row(graph, BINDING_ITEM)!.msPerStep).toBeGreaterThan(0);
    }
    expect(row('host', HOST_ITEM)!.msPerStep).toBeGreaterThan(0);
    // Every millisecond of the step in one row (the clamps at 0 only ever add a little).
    const sum = b.rows.reduce((s, r) => s + r.msPerStep, 0);
    expect(sum).toBeGreaterThanOrEqual(b.stepMs * 0.999);
    expect(sum).toBeLessThan(b.stepMs * 1.02);
    expect(b.rows.reduce((s, r) => s + r.share, 0)).toBeCloseTo(1, 9);
    expect(b.rows.map((r) => r.msPerStep)).toEqual([...b.rows.map((r) => r.msPerStep)].sort((x, y) => y - x));

    // A profile that does not hold the pipeline's calls one to one (a request missing) is refused.
    expect(() => decodeStepBreakdown(records.slice(1), profiles)).toThrow("embed_tokens ran 15 time(s) in ONNX Runtime's profile but the pipeline timed 10 call(s)");
  });
});
