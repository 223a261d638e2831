/**
 * The 2025-2026 zoo models (and Qwen2-VL, whose images now go in as flattened patches too) end
 * to end through the ORT runner at tiny scale: 0, 1 and 2 images, every graph of the split run
 * and timed, and chunked prefill (image rows and, for Qwen3-VL, their DeepStack rows split
 * across chunks) giving the same tokens as one call.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../core/events.ts';
import type { Suite } from '../../core/suite-types.ts';
import { loadSuite } from '../../harness/suite-loader.ts';
import { getDescriptor } from '../../models/zoo.ts';
import { cell, ctx, runOnce as once } from '../helpers/ort-cell.ts';
import { tempDir } from '../helpers/tmp.ts';

const cacheDir = tempDir('ort-new-models-');
const savedCache = process.env.BENCH_CACHE_DIR;
process.env.BENCH_CACHE_DIR = cacheDir;
afterAll(() => {
  if (savedCache === undefined) delete process.env.BENCH_CACHE_DIR;
  else process.env.BENCH_CACHE_DIR = savedCache;
});


function suiteFor(zoo: string): Suite {
  return {
    name: `runner-${zoo}`,
    model: { zoo, scale: 'tiny', layout: 'onnx-community', seed: 7 },
    target: 'local',
    runner: 'ort',
    defaults: { warmup: 0, iterations: 1, outputTokens: 4 },
    matrix: { images: [0, 1, 2], prefill: [12], precision: ['fp32'] },
  };
}

const calls = (rec: IterationRecord, graph: string, phase: string): number =>
  rec.events.filter((e) => e.kind === 'subgraph' && e.graph === graph && e.phase === phase).length;

describe.each(['internvl3_5-1b', 'qwen2_5-vl-3b', 'qwen3-vl-2b', 'qwen2-vl-2b'])('%s (tiny) through the ORT runner', (zoo) => {
  const tokensPerImage = getDescriptor(zoo, 'tiny').imageTokensPerTile;

  it.each([0, 1, 2])('generates with %i image(s), each graph timed in its phase', async (images) => {
    const { rec, settings } = await once(suiteFor(zoo), { images, prefill: 12, precision: 'fp32' });
    expect(settings['tokensPerImage']).toBe(tokensPerImage);
    const visionInput = zoo.startsWith('internvl') ? 'image tensor' : zoo === 'qwen2-vl-2b' ? 'flattened patches + grid_thw' : 'flattened patches + image_grid_thw';
    expect(settings['visionInput']).toBe(images > 0 ? visionInput : undefined); // no vision session without images
    expect(settings['deepstackLevels']).toBe(zoo === 'qwen3-vl-2b' ? 2 : undefined);
    // Each family's processor statistics: Qwen3-VL's preprocessor_config has 0.5, not Qwen2-VL's CLIP values.
    const normalisation = zoo.startsWith('internvl') ? 'mean 0.485,0.456,0.406 std 0.229,0.224,0.225' : zoo === 'qwen3-vl-2b' ? 'mean 0.5,0.5,0.5 std 0.5,0.5,0.5' : 'mean 0.48145466,0.4578275,0.40821073 std 0.26862954,0.26130258,0.27577711';
    expect(settings['pixelNormalisation']).toBe(images > 0 ? normalisation : undefined);
    expect(rec.promptTokens).toBe(12 + images * tokensPerImage);
    expect(rec.imageTokens).toBe(images * tokensPerImage);
    expect(rec.outputTokens).toBe(4);
    expect(calls(rec, 'vision_encoder', 'image_encode')).toBe(images);
    expect(calls(rec, 'decoder_model_merged', 'prefill')).toBe(1);
    expect(calls(rec, 'decoder_model_merged', 'decode')).toBe(3);
  });

  it('gives the same tokens with chunked prefill (image rows split across chunks)', async () => {
    const whole = await once(suiteFor(zoo), { images: 2, prefill: 12, precision: 'fp32' });
    const chunked = await once(suiteFor(zoo), { images: 2, prefill: 12, precision: 'fp32', chunk: 5 });
    expect(calls(chunked.rec, 'decoder_model_merged', 'prefill')).toBe(Math.ceil(whole.rec.promptTokens / 5));
    expect(chunked.rec.outputTokenIds).toEqual(whole.rec.outputTokenIds);
  });
});

describe('shipped suites of the new models', () => {
  it.each([
    ['internvl3_5-cpu', 'internvl3_5-1b', 'AXERA-TECH/InternVL3_5-1B.axera'],
    ['qwen2_5-vl-cpu', 'qwen2_5-vl-3b', 'AXERA-TECH/Qwen2.5-VL-3B-Instruct.axera'],
    ['qwen3-vl-cpu', 'qwen3-vl-2b', 'AXERA-TECH/Qwen3-VL.AXERA'],
  ])('%s runs %s locally and carries the published board figures with their source', (name, zoo, repo) => {
    const { suite } = loadSuite(name);
    expect(suite.model).toMatchObject({ zoo, layout: 'onnx-community' });
    expect(suite.runner).toBe('ort');
    expect(suite.reference?.source).toContain(`https://github.com/${repo}/blob/`);
    expect(suite.reference?.rows.length).toBeGreaterThan(0);
    for (const row of suite.reference?.rows ?? []) expect(Object.keys(row.figures).length).toBeGreaterThan(0);
  });
});
