/**
 * Every zoo model end to end through the ORT runner at tiny scale, on real ONNX Runtime
 * sessions, with 0, 1 and 2 images: event structure and token counts (image tokens per image
 * from each model's descriptor), Qwen2-VL's patches + grid_thw and M-RoPE positions included;
 * and the accuracy gate: checked before timing, cached per build and machine, recorded in
 * the cell, and a failing verdict marks the cell numerically wrong.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../core/events.ts';
import { readResult } from '../../harness/result-store.ts';
import { runSuite } from '../../harness/run-suite.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import { accuracyGate, machineIdentity, verdictPath } from '../../models/accuracy-gate.ts';
import { ACCURACY_THRESHOLDS, judgeDeviation } from '../../models/check.ts';
import { mropePositions } from '../../models/mrope.ts';
import { INT8_FORM_ID } from '../../models/weights/int8-form.ts';
import { ensureModel, getDescriptor, listZoo } from '../../models/zoo.ts';
import { ortRunner } from '../../runners/ort/index.ts';
import { cell, ctx, runOnce } from '../helpers/ort-cell.ts';
import { loaded, outDir, quietProgress } from '../targets/helpers/run.ts';
import { tempDir } from '../helpers/tmp.ts';

// Models, verdicts and results of this file stay in a folder of its own.
const cacheDir = tempDir('ort-zoo-e2e-');
const previousCache = process.env.BENCH_CACHE_DIR;
beforeAll(() => {
  process.env.BENCH_CACHE_DIR = cacheDir;
});
afterAll(() => {
  if (previousCache === undefined) delete process.env.BENCH_CACHE_DIR;
  else process.env.BENCH_CACHE_DIR = previousCache;
});

const OUTPUT_TOKENS = 4;
const PREFILL = 12;

function suiteFor(model: string): Suite {
  return {
    name: `e2e-${model}`,
    model: { zoo: model, scale: 'tiny', layout: 'onnx-community', seed: 7 },
    target: 'local',
    runner: 'ort',
    defaults: { warmup: 0, iterations: 1, outputTokens: OUTPUT_TOKENS },
    matrix: { images: [0, 1, 2], prefill: [PREFILL], precision: ['fp32'] },
  };
}


/** Image tokens per image from the descriptor's geometry: (imageSize / patch / merge)^2. */
function expectedTokensPerImage(model: string, scale: 'tiny' | 'full'): number {
  const d = getDescriptor(model, scale);
  const side = d.vision.imageSize / d.vision.patchSize / d.projector.mergeFactor;
  return side * side;
}

function runCell(model: string, params: Cell['params']): Promise<{ rec: IterationRecord; settings: Record<string, unknown> }> {
  return runOnce(suiteFor(model), params);
}

describe('image tokens per image', () => {
  it('full scale: InternVL2.5 and Qwen2-VL 256 per 448 px tile, SmolVLM 64; tiny: the descriptor\'s count (4 for those three)', () => {
    expect(expectedTokensPerImage('internvl2_5-1b', 'full')).toBe(256);
    expect(expectedTokensPerImage('qwen2-vl-2b', 'full')).toBe(256);
    expect(expectedTokensPerImage('smolvlm-256m', 'full')).toBe(64);
    for (const { id } of listZoo()) {
      expect(expectedTokensPerImage(id, 'tiny')).toBe(getDescriptor(id, 'tiny').imageTokensPerTile);
    }
    for (const id of ['internvl2_5-1b', 'qwen2-vl-2b', 'smolvlm-256m']) expect(expectedTokensPerImage(id, 'tiny')).toBe(4);
  });
});

describe.each(listZoo().map((z) => z.id))('%s (tiny) through the ORT runner', (model) => {
  it.each([0, 1, 2])('%i image(s): phases, graph calls and token counts', async (images) => {
    const { rec, settings } = await runCell(model, { images, prefill: PREFILL, precision: 'fp32' });
    const perImage = expectedTokensPerImage(model, 'tiny');
    expect(settings['tokensPerImage']).toBe(perImage);
    expect(rec.images).toBe(images);
    expect(rec.imageTokens).toBe(images * perImage);
    expect(rec.promptTokens).toBe(PREFILL + images * perImage);
    expect(rec.outputTokens).toBe(OUTPUT_TOKENS);
    expect(rec.outputTokenIds).toHaveLength(OUTPUT_TOKENS);
    const vocab = getDescriptor(model, 'tiny').llm.vocab;
    expect(rec.outputTokenIds!.every((t) => Number.isInteger(t) && t >= 0 && t < vocab)).toBe(true);

    const phases = rec.events.flatMap((e) => (e.kind === 'phase' ? [e.phase] : []));
    expect(phases).toEqual(images > 0 ? ['preprocess', 'image_encode', 'prefill', 'decode'] : ['preprocess', 'prefill', 'decode']);
    const calls = (graph: string, phase: string) => rec.events.filter((e) => e.kind === 'subgraph' && e.graph === graph && e.phase === phase);
    expect(calls('vision_encoder', 'image_encode')).toHaveLength(images);
    expect(calls('decoder_model_merged', 'prefill')).toHaveLength(1);
    expect(calls('decoder_model_merged', 'prefill')[0]).toMatchObject({ items: PREFILL + images * perImage });
    expect(calls('embed_tokens', 'prefill')[0]).toMatchObject({ items: PREFILL + images * perImage });
    expect(calls('decoder_model_merged', 'decode')).toHaveLength(OUTPUT_TOKENS - 1);
    expect(calls('lm_head', 'prefill')).toHaveLength(1);
    expect(calls('lm_head', 'decode')).toHaveLength(OUTPUT_TOKENS - 1);
    const tokens = rec.events.filter((e) => e.kind === 'token');
    expect(tokens.map((e) => (e.kind === 'token' ? e.index : -1))).toEqual(Array.from({ length: OUTPUT_TOKENS }, (_, i) => i));
    // Every subgraph call lies inside its phase, phases follow each other on the one clock.
    const spans = rec.events.filter((e) => e.kind === 'phase');
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.startMs).toBeGreaterThanOrEqual(spans[i - 1]!.endMs);
    for (const e of rec.events) {
      if (e.kind !== 'subgraph') continue;
      const span = spans.find((p) => p.kind === 'phase' && p.phase === e.phase)!;
      expect(e.startMs).toBeGreaterThanOrEqual(span.startMs);
      expect(e.endMs).toBeLessThanOrEqual(span.endMs);
    }
  });

  it('chunked prefill over the image rows gives the same tokens as one pass (positions sliced right)', async () => {
    const whole = await runCell(model, { images: 2, prefill: PREFILL, precision: 'fp32' });
    const chunked = await runCell(model, { images: 2, prefill: PREFILL, precision: 'fp32', chunk: 3 });
    expect(chunked.rec.events.filter((e) => e.kind === 'subgraph' && e.graph === 'decoder_model_merged' && e.phase === 'prefill')).toHaveLength(
      Math.ceil(whole.rec.promptTokens / 3),
    );
    expect(chunked.rec.outputTokenIds).toEqual(whole.rec.outputTokenIds);
  });
});

describe('Qwen2-VL inputs', () => {
  it('M-RoPE ids follow get_rope_index: text t=h=w, image (t, h, w) from its start, text resumes at start + max grid side', () => {
    const p = mropePositions([{ kind: 'text', tokens: 2 }, { kind: 'image', gridT: 1, gridH: 2, gridW: 3 }, { kind: 'text', tokens: 2 }]);
    expect(p.tokens).toBe(10);
    const axis = (a: number) => [...p.ids.subarray(a * 10, (a + 1) * 10)].map(Number);
    expect(axis(0)).toEqual([0, 1, 2, 2, 2, 2, 2, 2, 5, 6]);
    expect(axis(1)).toEqual([0, 1, 2, 2, 2, 3, 3, 3, 5, 6]);
    expect(axis(2)).toEqual([0, 1, 2, 3, 4, 2, 3, 4, 5, 6]);
    expect(p.next).toBe(7);
  });
});

describe('accuracy gate', () => {
  it('checks a quantised cell against fp32 before timing, caches the verdict per build and machine, and records the int8 form', async () => {
    const prepared = await ortRunner.prepare(cell({ images: 1, prefill: PREFILL, precision: 'int8' }), suiteFor('qwen2-vl-2b'), ctx);
    let accuracy;
    try {
      accuracy = prepared.accuracy!;
      expect(prepared.model.int8Form).toBe(INT8_FORM_ID);
      expect(prepared.settings['int8Form']).toBe(INT8_FORM_ID);
    } finally {
      await prepared.close();
    }
    expect(accuracy).toMatchObject({ reference: 'fp32', precision: 'int8', scale: 'tiny', tokens: 32, passed: true, failures: [], cached: false });
    expect(accuracy.thresholds).toEqual(ACCURACY_THRESHOLDS.int8);
    expect(accuracy.cosine).toBeGreaterThan(0.99);
    expect(accuracy.cosine).toBeLessThan(0.99999); // it did compare a quantised model
    expect(accuracy.checkedOn.cpu.length).toBeGreaterThan(0);
    expect(accuracy.checkedOn.onnxruntime).toMatch(/^\d+\.\d+/);

    const built = await ensureModel({ model: 'qwen2-vl-2b', scale: 'tiny', precision: 'int8', layout: 'onnx-community', seed: 7 });
    const machine = machineIdentity();
    expect(existsSync(verdictPath(cacheDir, built, machine))).toBe(true);
    const again = await accuracyGate(built, { cacheDir });
    expect(again).toMatchObject({ cached: true, cosine: accuracy.cosine, top1: accuracy.top1 });
    // Another machine (other CPU flags) does not reuse this machine's verdict.
    const other = { ...machine, key: 'ffffffffffff' };
    const elsewhere = await accuracyGate(built, { cacheDir, machine: other });
    expect(elsewhere!.cached).toBe(false);
    expect(elsewhere!.cosine).toBe(accuracy.cosine); // deterministic: same kernels here
    // fp32 is the reference: nothing to check.
    expect(await accuracyGate(await ensureModel({ model: 'qwen2-vl-2b', scale: 'tiny', precision: 'fp32', layout: 'onnx-community', seed: 7 }), { cacheDir })).toBeNull();
  });

  it('fails the figures a saturating int8 kernel gave (AVX2 without VNNI, s8 weights), and passes the fixed form', () => {
    expect(judgeDeviation('int8', { cosineMean: 0.788810, top1Agreement: 0.219, imageCosine: 0.992862 })).toEqual({
      passed: false,
      failures: ['logit cosine mean 0.7888 < 0.99', 'top-1 agreement 21.9% < 60%', 'image feature cosine 0.9929 < 0.995'],
    });
    expect(judgeDeviation('int8', { cosineMean: 0.998837, top1Agreement: 0.844, imageCosine: 0.999902 }).passed).toBe(true);
  });

  it('a model that fails is still timed, its cell carries the verdict and the run warns that it is numerically wrong', async () => {
    const model = 'smolvlm-256m';
    // The build the suite below runs: no cell of it encodes images, so its int4 build is LLM-only.
    const built = await ensureModel({ model, scale: 'tiny', precision: 'int4', layout: 'onnx-community', seed: 7, vision: false });
    const verdict = (await accuracyGate(built, { cacheDir }))!;
    expect(verdict.passed).toBe(true);
    // The cached verdict as a CPU with broken kernels would have written it.
    const path = verdictPath(cacheDir, built, machineIdentity());
    writeFileSync(path, JSON.stringify({ ...verdict, cosine: 0.5, passed: false, failures: ['logit cosine mean 0.5000 < 0.9'] }));
    const suite: Suite = { ...suiteFor(model), matrix: { images: [0], prefill: [8], precision: ['int4', 'fp32'] } };
    const outcome = await runSuite({
      suite: loaded(suite),
      target: 'local',
      filters: [],
      iterations: 1,
      warmup: 0,
      cooldownSeconds: 0,
      threads: 1,
      outDir: outDir(),
      runners: { ort: ortRunner },
      progress: quietProgress(),
    });
    // readResult validates against schema/result.schema.json.
    const result = readResult(outcome.store.file);
    const int4 = result.cells.find((c) => c.params['precision'] === 'int4')!;
    const fp32 = result.cells.find((c) => c.params['precision'] === 'fp32')!;
    expect(int4.status).toBe('ok');
    expect(int4.iterations.filter((r) => !r.warmup && !r.error)).toHaveLength(1);
    expect(int4.accuracy).toMatchObject({ passed: false, cosine: 0.5, cached: true, failures: ['logit cosine mean 0.5000 < 0.9'] });
    expect(fp32.accuracy).toBeUndefined();
    expect(result.warnings.filter((w) => /NUMERICALLY WRONG/.test(w))).toEqual([
      `${int4.id}: int4 model is NUMERICALLY WRONG on this CPU (logit cosine mean 0.5000 < 0.9 vs fp32); its figures were measured but do not describe a working model`,
    ]);
    expect(JSON.parse(readFileSync(path, 'utf8')).passed).toBe(false);
  });
});
