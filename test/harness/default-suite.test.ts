import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SUITE } from '../../cli/run.ts';
import { applyFilters, expandMatrix, parseFilters } from '../../core/matrix.ts';
import { prebuildZooModels } from '../../harness/prebuild.ts';
import { minimumIterations } from '../../core/rank-stats.ts';
import { medianRanks } from '../../core/stats.ts';
import { loadSuite } from '../../harness/suite-loader.ts';
import { DEFAULT_CONFIDENCE } from '../../analysis/compare-runs.ts';
import { accuracyGate } from '../../models/accuracy-gate.ts';
import { ensureModel, isModelCached } from '../../models/zoo.ts';
import { cellPartPrecisions } from '../../runners/cell-input.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('the default suite can be judged', () => {
  const { suite } = loadSuite(DEFAULT_SUITE);

  it('measures enough iterations per cell for bench compare at its default confidence, and for a median interval', () => {
    expect(suite.defaults.iterations).toBeGreaterThanOrEqual(minimumIterations(DEFAULT_CONFIDENCE));
    expect(medianRanks(suite.defaults.iterations)).not.toBeNull();
  });

  it('measures what users deploy: every image cell encodes at 8 bits or more, the LLM at int8 and int4', () => {
    const cells = expandMatrix(suite.matrix);
    const parts = cells.map((c) => ({ id: c.id, ...cellPartPrecisions(c) }));
    expect(new Set(parts.map((p) => p.llm))).toEqual(new Set(['int8', 'int4']));
    const imageCells = parts.filter((p) => p.vision !== null);
    expect(imageCells.length).toBeGreaterThan(0);
    for (const p of imageCells) expect(['int8', 'fp16', 'fp32'], p.id).toContain(p.vision);
    // The cell id names both parts, so no table can mistake an int4 LLM cell for an int4 ViT.
    expect(cells.find((c) => c.params['images'] === 1 && c.params['precision'] === 'int4')!.id).toMatch(/precision=int4.*vision_precision=int8/);
  });

  it('stops adaptively on the median intervals of TTFT and TPOT at ±2%, bounded per cell', () => {
    expect(suite.defaults.adaptive).toMatchObject({ metrics: ['ttft_ms', 'tpot_ms'], targetCiPct: 2 });
    expect(suite.defaults.adaptive!.maxIterations).toBeGreaterThan(suite.defaults.iterations);
    expect(suite.defaults.adaptive!.maxCellSeconds).toBeGreaterThan(0);
  });
});

describe('first-run model builds', () => {
  const cacheDir = tempDir('bench-prebuild-');
  const saved = process.env['BENCH_CACHE_DIR'];
  afterAll(() => {
    if (saved === undefined) delete process.env['BENCH_CACHE_DIR'];
    else process.env['BENCH_CACHE_DIR'] = saved;
  });

  it("builds every precision a zoo suite's selected cells need, in parallel processes, into the cache the cells read", async () => {
    process.env['BENCH_CACHE_DIR'] = cacheDir; // the build processes inherit it
    const { suite: tiny } = loadSuite('internvl-tiny');
    const cells = applyFilters(expandMatrix(tiny.matrix), parseFilters(['images=0'], tiny.matrix));
    const ref = { model: 'internvl2_5-1b', scale: 'tiny' as const, layout: 'onnx-community' as const, seed: 1234, cacheDir };
    expect(isModelCached({ ...ref, precision: 'int4' })).toBe(false);
    const lines: string[] = [];
    await prebuildZooModels(tiny, cells, (m) => lines.push(m));
    expect(lines[0]).toMatch(/first run: building internvl2_5-1b \(tiny\) fp32, int4, \d at a time/);
    expect(isModelCached({ ...ref, precision: 'fp32' })).toBe(true);
    expect(isModelCached({ ...ref, precision: 'int4' })).toBe(true);
    // Nothing missing: nothing built, nothing said.
    lines.length = 0;
    await prebuildZooModels(tiny, cells, (m) => lines.push(m));
    expect(lines).toEqual([]);
  }, 300_000);

  it('builds the fp32 twin with the others when the accuracy gate will need it, and not once this machine has the verdict', async () => {
    const twinCache = tempDir('bench-prebuild-twin-');
    process.env['BENCH_CACHE_DIR'] = twinCache;
    try {
      const { suite: tiny } = loadSuite('internvl-tiny');
      const cells = applyFilters(expandMatrix(tiny.matrix), parseFilters(['images=0', 'precision=int4'], tiny.matrix));
      const ref = { model: 'internvl2_5-1b', scale: 'tiny' as const, layout: 'onnx-community' as const, seed: 1234, cacheDir: twinCache };
      const lines: string[] = [];
      await prebuildZooModels(tiny, cells, (m) => lines.push(m));
      expect(lines[0]).toMatch(/first run: building internvl2_5-1b \(tiny\) int4, fp32, \d at a time/);
      expect(isModelCached({ ...ref, precision: 'fp32' })).toBe(true);
      // Gated once (verdict cached for this machine): a run needs the twin no more.
      expect(await accuracyGate(await ensureModel({ ...ref, precision: 'int4' }), { cacheDir: twinCache, threads: 1 })).toMatchObject({ passed: true });
      for (const precision of ['fp32', 'int4'] as const) rmSync((await ensureModel({ ...ref, precision })).dir, { recursive: true, force: true });
      lines.length = 0;
      await prebuildZooModels(tiny, cells, (m) => lines.push(m));
      expect(lines).toEqual([]); // one build (int4) is left to the cell; the twin is not built
      expect(isModelCached({ ...ref, precision: 'fp32' })).toBe(false);
    } finally {
      process.env['BENCH_CACHE_DIR'] = cacheDir;
    }
  }, 300_000);
});
