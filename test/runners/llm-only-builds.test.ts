import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandMatrix } from '../../core/matrix.ts';
import type { Suite } from '../../core/suite-types.ts';
import { DEFAULT_LINEAR_OPTIONS } from '../../models/layers/linear.ts';
import { prebuildZooModels } from '../../harness/prebuild.ts';
import { BUILDER_VERSION, ensureModel, getDescriptor, isModelCached, modelHash } from '../../models/zoo.ts';
import { visionEncoderUsedAt } from '../../runners/cell-input.ts';
import { ortRunner } from '../../runners/ort/index.ts';
import { cell, ctx } from '../helpers/ort-cell.ts';
import { tempDir } from '../helpers/tmp.ts';

// Real tiny builds and real ONNX Runtime sessions. The default suite's int4 LLM cells encode
// images at int8, so the int4 build needs no vision encoder: it is built without one.
const cacheDir = tempDir('llm-only-');
const previousCache = process.env['BENCH_CACHE_DIR'];
beforeAll(() => {
  process.env['BENCH_CACHE_DIR'] = cacheDir;
});
afterAll(() => {
  if (previousCache === undefined) delete process.env['BENCH_CACHE_DIR'];
  else process.env['BENCH_CACHE_DIR'] = previousCache;
});

const model = 'internvl2_5-1b';
const base = { model, scale: 'tiny' as const, layout: 'onnx-community' as const, seed: 1234, cacheDir };

/** The default suite's shape at tiny scale: LLM int8 and int4, every image encoded at int8. */
const suite: Suite = {
  name: 'llm-only-default-shape',
  model: { zoo: model, scale: 'tiny', layout: 'onnx-community', seed: 1234 },
  target: 'local',
  runner: 'ort',
  defaults: { warmup: 0, iterations: 1, outputTokens: 2 },
  matrix: { images: [0, 1], prefill: [8], precision: ['int8', 'int4'], vision_precision: ['int8'] },
};

describe('builds without the vision encoder', () => {
  it('a build that keeps every part has the hash it always had (cached models stay valid)', () => {
    const descriptor = getDescriptor(model, 'tiny');
    // The key builds had before parts could be left out (and before the RoPE form was an option).
    const { ropeForm: _ropeForm, ...opForms } = DEFAULT_LINEAR_OPTIONS;
    const before = createHash('sha256')
      .update(JSON.stringify({ descriptor, precision: 'int4', layout: 'onnx-community', seed: 1234, lmHead: 'separate', opForms, builderVersion: BUILDER_VERSION }))
      .digest('hex');
    expect(modelHash({ ...base, precision: 'int4' })).toBe(before);
    expect(modelHash({ ...base, precision: 'int4', vision: true })).toBe(before);
    expect(modelHash({ ...base, precision: 'int4', vision: false })).not.toBe(before);
  });

  it('are decided per precision from every cell of the matrix: int8 keeps its vision encoder, int4 does not', () => {
    const cells = expandMatrix(suite.matrix);
    expect(visionEncoderUsedAt(cells, 'int8')).toBe(true);
    expect(visionEncoderUsedAt(cells, 'int4')).toBe(false);
    // A filter that keeps only text cells does not change the decision (it reads the whole matrix).
    expect(visionEncoderUsedAt(cells.filter((c) => c.params['images'] === 0), 'int8')).toBe(false);
  });

  it('an int4 image cell runs the int4 LLM-only build with the int8 vision encoder, and its gate compares logits only', async () => {
    const lines: string[] = [];
    const prepared = await ortRunner.prepare(cell({ images: 1, prefill: 8, precision: 'int4', vision_precision: 'int8' }), suite, { ...ctx, log: (m: string) => lines.push(m) });
    try {
      const rec = await prepared.runIteration(0, false);
      expect(rec.error).toBeUndefined();
      expect(rec.images).toBe(1);
      expect(prepared.model.hashes?.['build']).toBe(modelHash({ ...base, precision: 'int4', vision: false }));
      expect(prepared.model.hashes?.['visionBuild']).toBe(modelHash({ ...base, precision: 'int8' }));
      expect(prepared.model.visionPrecision).toBe('int8');
      expect(prepared.accuracy).toMatchObject({ precision: 'int4', passed: true, imageCosine: null });
    } finally {
      await prepared.close();
    }
    expect(lines.some((l) => /building internvl2_5-1b \(tiny, onnx-community, int4, LLM only\)/.test(l))).toBe(true);
    const int4 = await ensureModel({ ...base, precision: 'int4', vision: false });
    expect(int4.files['vision_encoder']).toBeUndefined();
    expect(readdirSync(int4.dir).some((f) => f.startsWith('vision_encoder'))).toBe(false);
    expect(existsSync(int4.files['decoder_model_merged']!)).toBe(true);
    expect(int4.request.vision).toBe(false);
  }, 120_000);

  it('a first run builds them so too, in its parallel build processes (bench models build --no-vision)', async () => {
    const own = tempDir('llm-only-prebuild-');
    process.env['BENCH_CACHE_DIR'] = own;
    try {
      const lines: string[] = [];
      await prebuildZooModels(suite, expandMatrix(suite.matrix), (m) => lines.push(m));
      expect(lines[0]).toMatch(/first run: building internvl2_5-1b \(tiny\) int8, int4 \(LLM only\), fp32, \d at a time/);
      const mine = { ...base, cacheDir: own };
      expect(isModelCached({ ...mine, precision: 'int4', vision: false })).toBe(true);
      expect(isModelCached({ ...mine, precision: 'int4' })).toBe(false);
      expect(isModelCached({ ...mine, precision: 'int8' })).toBe(true);
    } finally {
      process.env['BENCH_CACHE_DIR'] = cacheDir;
    }
  }, 300_000);

  it('only the onnx-community layout can leave the vision encoder out', async () => {
    await expect(ensureModel({ ...base, precision: 'int4', layout: 'axera', vision: false })).rejects.toThrow(/onnx-community layout only/);
  });
});
