/**
 * The llamacpp runner on real llama.cpp (node-llama-cpp 3.21.1's prebuilt CPU binary) with the
 * zoo's tiny GGUF files, next to the ORT runner on the ONNX build of the same model.
 */
import { describe, expect, it } from 'vitest';
import { createClock } from '../../core/clock.ts';
import type { IterationRecord } from '../../core/events.ts';
import { readResult } from '../../harness/result-store.ts';
import { runSuite } from '../../harness/run-suite.ts';
import { checkSuite } from '../../harness/suite-loader.ts';
import type { Runner } from '../../core/runner.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import { decodeWeightBytesPerToken } from '../../models/weight-bytes.ts';
import { getDescriptor } from '../../models/zoo.ts';
import { iterationMetrics } from '../../core/metrics.ts';
import { llamaCppRunner } from '../../runners/llamacpp/index.ts';
import { ortRunner } from '../../runners/ort/index.ts';
import { resolveLlamaLibrary } from '../../runners/llamacpp/mtmd-native/library.ts';
import { loaded, outDir, quietProgress } from '../targets/helpers/run.ts';

const suite = (zoo: string, runner = 'llamacpp'): Suite => ({
  name: 'llamacpp-test',
  model: { zoo, scale: 'tiny', seed: 99 },
  target: 'local',
  runner,
  defaults: { warmup: 0, iterations: 1, outputTokens: 6 },
  matrix: { prefill: [24], precision: ['fp32'] },
});
const ctx = { clock: createClock(), threads: 1, log: () => {} };
const cell = (params: Cell['params']): Cell => ({ id: JSON.stringify(params), index: 0, params });

async function once(runner: Runner, s: Suite, params: Cell['params'], iterations = 1) {
  const prepared = await runner.prepare(cell(params), s, ctx);
  try {
    const recs: IterationRecord[] = [];
    for (let i = 0; i < iterations; i++) {
      const rec = await prepared.runIteration(i, false);
      expect(rec.error).toBeUndefined();
      recs.push(rec);
    }
    return { rec: recs[recs.length - 1]!, recs, settings: prepared.settings, loadMs: prepared.loadMs };
  } finally {
    await prepared.close();
  }
}

const shapeOf = (rec: IterationRecord) =>
  rec.events.map((e) => (e.kind === 'phase' ? `phase:${e.phase}` : e.kind === 'token' ? `token:${e.index}` : `call:${e.phase}`));

describe('llamacpp runner (node-llama-cpp, prebuilt CPU binary)', () => {
  it.each(['internvl2_5-1b', 'qwen2-vl-2b', 'smolvlm-256m', 'internvl3_5-1b', 'qwen2_5-vl-3b', 'qwen3-vl-2b'])('%s: the tiny GGUF loads in llama.cpp and generates tokens', async (zoo) => {
    const { rec, settings } = await once(llamaCppRunner, suite(zoo), { prefill: 24, precision: 'int4' });
    expect(rec.outputTokens).toBe(6);
    expect(rec.outputTokenIds).toHaveLength(6);
    for (const id of rec.outputTokenIds!) expect(id).toBeGreaterThanOrEqual(0);
    expect(settings['ggufType']).toBe('Q4_0');
  });

  it('times prefill and each decode step with the ORT runner\'s phases and token events, on the run clock', async () => {
    const { rec, settings } = await once(llamaCppRunner, suite('internvl2_5-1b'), { prefill: 24, precision: 'int8', chunk: 10 });
    // 24 prompt tokens in chunks of 10: three llama_decode calls in prefill, the last one samples token 0.
    expect(shapeOf(rec)).toEqual([
      'phase:preprocess',
      'call:prefill', 'call:prefill', 'call:prefill', 'phase:prefill',
      'token:0',
      'call:decode', 'token:1', 'call:decode', 'token:2', 'call:decode', 'token:3', 'call:decode', 'token:4', 'call:decode', 'token:5',
      'phase:decode',
    ]);
    const calls = rec.events.filter((e) => e.kind === 'subgraph');
    expect(calls.map((e) => (e.kind === 'subgraph' ? e.items : 0))).toEqual([10, 10, 4, 1, 1, 1, 1, 1]);
    expect(new Set(calls.map((e) => (e.kind === 'subgraph' ? e.graph : '')))).toEqual(new Set(['llama_decode']));
    // Every event lies inside the request, in time order.
    let t = rec.startMs;
    for (const e of rec.events) {
      const start = e.kind === 'token' ? e.tMs : e.startMs;
      if (e.kind !== 'phase') expect(start).toBeGreaterThanOrEqual(t);
      t = e.kind === 'token' ? e.tMs : Math.max(t, e.endMs);
    }
    expect(rec.endMs).toBeGreaterThanOrEqual(t);
    expect(settings['runner']).toBe('llamacpp');
    expect(settings['threads']).toBe(1);
    expect(settings['contextThreads']).toBe(1);
    expect(settings['chunkSize']).toBe(10);
    expect(settings['flashAttention']).toBe('off');
    expect(settings['kvCacheType']).toBe('K F16, V F16');
    expect(settings['batchSize']).toBeGreaterThanOrEqual(10);
    // The binary node-llama-cpp chose by itself (its npm package, or its local build where one was
    // made): nothing was downloaded or compiled, and it is the build the image cells link.
    const library = resolveLlamaLibrary('auto');
    expect(settings['llamaBuildType']).toBe(library.build === 'local' ? 'localBuild' : 'prebuilt');
    expect([settings['llamaBuild'], settings['llamaLibraryDir'], settings['gpuOffload']]).toEqual([library.build, library.dir, 'none (CPU)']);
    expect(String(settings['binding'])).toBe('node-llama-cpp 3.21.1');
    expect(String(settings['llamaCppRelease'])).toMatch(/^ggml-org\/llama\.cpp@/);
    expect(settings['weightFormat']).toMatch(/^Q8_0 \(8\.5 bits\/weight/);
    const llm = getDescriptor('internvl2_5-1b', 'tiny').llm;
    expect(settings['weightBytesPerToken']).toBe(decodeWeightBytesPerToken(llm, 'int8', 'gguf'));
    expect(settings['onnxWeightBytesPerToken']).toBe(decodeWeightBytesPerToken(llm, 'int8', 'onnx'));
  });

  it('gives TTFT and TPOT the ORT runner\'s definitions on the same inputs, and the same greedy tokens at fp32', async () => {
    const llama = await once(llamaCppRunner, suite('internvl2_5-1b'), { prefill: 24, precision: 'fp32' });
    const ort = await once(ortRunner, suite('internvl2_5-1b', 'ort'), { prefill: 24, precision: 'fp32' });
    for (const { rec } of [llama, ort]) {
      const m = iterationMetrics(rec);
      const tokens = rec.events.filter((e) => e.kind === 'token');
      const prefill = rec.events.find((e) => e.kind === 'phase' && e.phase === 'prefill')!;
      expect(m.ttft_ms).toBe(tokens[0]!.kind === 'token' ? tokens[0]!.tMs - rec.startMs : NaN);
      expect(m.tpot_ms).toBeCloseTo((tokens.at(-1)!.kind === 'token' ? tokens.at(-1)!.tMs - (tokens[0] as { tMs: number }).tMs : NaN) / 5, 9);
      // TTFT covers preprocess and prefill, and the first token arrives once prefill ends.
      expect(m.ttft_ms!).toBeGreaterThanOrEqual(m.prefill_ms!);
      expect(prefill.kind === 'phase' && (tokens[0] as { tMs: number }).tMs >= prefill.endMs).toBe(true);
      expect(rec.promptTokens).toBe(24);
    }
    // Same phase sequence, same token events; only the graphs per phase differ (one llama_decode
    // per step vs embed_tokens + decoder + lm_head).
    const phasesAndTokens = (rec: IterationRecord) => shapeOf(rec).filter((s) => !s.startsWith('call:'));
    expect(phasesAndTokens(llama.rec)).toEqual(phasesAndTokens(ort.rec));
    // Same prompt ids and the same fp32 weights in both files: the greedy continuation agrees
    // (a wrong tensor mapping, a missing RoPE permutation or a transposed weight would not).
    expect(llama.rec.outputTokenIds).toEqual(ort.rec.outputTokenIds);
  });

  it('gives ORT\'s greedy tokens at fp32 for the llama (permuted q/k) and qwen3 (QK-norm) architectures too', async () => {
    for (const zoo of ['smolvlm-256m', 'internvl3_5-1b']) {
      const llama = await once(llamaCppRunner, suite(zoo), { prefill: 24, precision: 'fp32' });
      const ort = await once(ortRunner, suite(zoo, 'ort'), { prefill: 24, precision: 'fp32' });
      expect(llama.rec.outputTokenIds, zoo).toEqual(ort.rec.outputTokenIds);
    }
  });

  it('gives the same greedy tokens with a chunked prefill, and on repeated requests (the cache is cleared)', async () => {
    const whole = await once(llamaCppRunner, suite('smolvlm-256m'), { prefill: 24, precision: 'fp32' }, 2);
    const chunked = await once(llamaCppRunner, suite('smolvlm-256m'), { prefill: 24, precision: 'fp32', chunk: 8 });
    expect(whole.recs[1]!.outputTokenIds).toEqual(whole.recs[0]!.outputTokenIds);
    expect(chunked.rec.outputTokenIds).toEqual(whole.rec.outputTokenIds);
  });

  it('refuses unknown precisions as bad input', async () => {
    await expect(llamaCppRunner.prepare(cell({ prefill: 24, precision: 'w8a16' }), suite('internvl2_5-1b'), ctx)).rejects.toThrow(/precision "w8a16" has no GGUF form/);
  });

  it('accepts runner as an axis instead of the top-level field, and names the alternative when both are missing', async () => {
    const doc = { name: 'x', model: { zoo: 'internvl2_5-1b', scale: 'tiny' }, target: 'local', defaults: { warmup: 0, iterations: 1, outputTokens: 2 } };
    expect(checkSuite({ ...doc, matrix: { runner: ['ort', 'llamacpp'], prefill: [8] } }, 'x.yaml').matrix['runner']).toEqual(['ort', 'llamacpp']);
    expect(() => checkSuite({ ...doc, matrix: { prefill: [8] } }, 'x.yaml')).toThrow('x.yaml: field "runner": is required (or list runners as a matrix axis, e.g. matrix.runner: [ort, llamacpp])');
    // A runner name nobody registered is bad input before any cell runs.
    const typo: Suite = { ...suite('internvl2_5-1b'), runner: undefined, matrix: { runner: ['ort', 'llama.cpp'], prefill: [8] } };
    await expect(
      runSuite({ suite: loaded(typo), target: 'local', filters: [], outDir: outDir(), runners: { ort: ortRunner, llamacpp: llamaCppRunner }, progress: quietProgress() }),
    ).rejects.toThrow('suite "llamacpp-test": unknown runner "llama.cpp"; available: ort, llamacpp');
  });

  it('runs a suite with runner as a matrix axis: both runtimes side by side, each cell recording its runner', async () => {
    const s: Suite = {
      name: 'runtimes-test',
      model: { zoo: 'internvl2_5-1b', scale: 'tiny', seed: 99 },
      target: 'local',
      defaults: { warmup: 0, iterations: 2, outputTokens: 4, threads: 1 },
      matrix: { runner: ['ort', 'llamacpp'], images: [0, 1], prefill: [16], precision: ['int4'] },
    };
    const outcome = await runSuite({
      suite: loaded(s),
      target: 'local',
      filters: [],
      outDir: outDir(),
      runners: { ort: ortRunner, llamacpp: llamaCppRunner },
      progress: quietProgress(),
    });
    const result = readResult(outcome.store.file);
    const byId = new Map(result.cells.map((c) => [c.id, c]));
    expect([...byId.keys()]).toEqual([
      'runner=ort,images=0,prefill=16,precision=int4',
      'runner=ort,images=1,prefill=16,precision=int4',
      'runner=llamacpp,images=0,prefill=16,precision=int4',
      'runner=llamacpp,images=1,prefill=16,precision=int4',
    ]);
    for (const c of result.cells) expect(c.settings['runner']).toBe(c.params['runner']);
    expect(byId.get('runner=ort,images=0,prefill=16,precision=int4')!.status).toBe('ok');
    expect(byId.get('runner=ort,images=1,prefill=16,precision=int4')!.status).toBe('ok');
    const llama = byId.get('runner=llamacpp,images=0,prefill=16,precision=int4')!;
    expect(llama.status).toBe('ok');
    expect(llama.metrics['ttft_ms']!.n).toBe(2);
    expect(llama.metrics['tpot_ms']!.n).toBe(2);
    expect(Object.keys(llama.subgraphs).sort()).toEqual(['llama_decode/decode', 'llama_decode/prefill']);
    // The image cell runs through llama.cpp's mtmd with the zoo's mmproj (test/runners/llamacpp-images.test.ts has the details).
    const image = byId.get('runner=llamacpp,images=1,prefill=16,precision=int4')!;
    expect(image.error).toBeUndefined();
    expect(image.status).toBe('ok');
    expect(image.metrics['image_encode_ms']!.n).toBe(2);
    expect(image.settings['binding']).toMatch(/^mtmd addon on node-llama-cpp /);
    expect(outcome.failedCells).toBe(0);
  });
});
