/**
 * Image cells on the llamacpp runner: the zoo's mmproj GGUF in llama.cpp's mtmd
 * (@fugood/llama.node's prebuilt binary, whatever its SIMD), next to the ORT runner on the ONNX
 * build of the same seeded weights. Tiny scale only: no native build is ever triggered here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClock } from '../../core/clock.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import { readResult } from '../../harness/result-store.ts';
import { runSuite } from '../../harness/run-suite.ts';
import { GGUF_FILE_SESSION, GGUF_MMPROJ_SESSION } from '../../models/gguf/llm.ts';
import { ensureModel } from '../../models/zoo.ts';
import { llamaCppRunner } from '../../runners/llamacpp/index.ts';
import { simdVerdict } from '../../runners/llamacpp/simd.ts';
import { ortRunner } from '../../runners/ort/index.ts';
import { loaded, outDir, quietProgress, removeOutDirs } from '../targets/helpers/run.ts';
import { expectAgreement, mtmdEmbeddings, ortEmbeddings, writeFramePng } from './helpers/mtmd-embeddings.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mtmd-test-'));
afterAll(() => {
  removeOutDirs();
  rmSync(tmp, { recursive: true, force: true });
});

const suite = (runner: string): Suite => ({
  name: 'llamacpp-images-test',
  model: { zoo: 'internvl2_5-1b', scale: 'tiny', seed: 99 },
  target: 'local',
  runner,
  defaults: { warmup: 0, iterations: 1, outputTokens: 4 },
  matrix: {},
});
const ctx = { clock: createClock(), threads: 1, log: () => {} };
const cell = (params: Cell['params']): Cell => ({ id: JSON.stringify(params), index: 0, params });

async function twoRequests(runner: 'ort' | 'llamacpp', params: Cell['params']) {
  const prepared = await (runner === 'ort' ? ortRunner : llamaCppRunner).prepare(cell(params), suite(runner), ctx);
  try {
    const recs = [await prepared.runIteration(0, false), await prepared.runIteration(1, false)];
    for (const r of recs) expect(r.error).toBeUndefined();
    return { recs, settings: prepared.settings, flags: prepared.flags ?? [] };
  } finally {
    await prepared.close();
  }
}

describe('llamacpp runner: image cells through llama.cpp mtmd with the zoo mmproj', () => {
  it('times an image request with the ORT runner\'s phases, and counts the same image tokens as ORT', async () => {
    const params = { images: 2, prefill: 24, precision: 'fp32' };
    const llama = await twoRequests('llamacpp', params);
    const ortRun = await twoRequests('ort', params);
    for (const rec of llama.recs) {
      const phases = rec.events.filter((e) => e.kind === 'phase').map((e) => (e.kind === 'phase' ? e.phase : ''));
      expect(phases).toEqual(['preprocess', 'image_encode', 'prefill', 'decode']);
      // Phases tile time to first token: preprocess starts the request, prefill ends at the first token.
      const [pre, enc, pf] = rec.events.filter((e) => e.kind === 'phase') as Array<{ startMs: number; endMs: number }>;
      const firstToken = rec.events.find((e) => e.kind === 'token' && e.index === 0);
      expect(pre!.startMs).toBe(rec.startMs);
      expect(enc!.startMs).toBe(pre!.endMs);
      expect(pf!.startMs).toBe(enc!.endMs);
      expect(firstToken && firstToken.kind === 'token' ? firstToken.tMs : NaN).toBe(pf!.endMs);
      // image_encode is composed: TTFT - preprocess - the prefill reference, never below 0 (on a
      // loaded machine the reference can take longer than the whole request's prefill).
      const ttft = pf!.endMs - pre!.startMs;
      const refMs = rec.reported?.['prefill_reference.ms'] ?? NaN;
      expect(refMs).toBeGreaterThan(0);
      expect(pf!.endMs - pf!.startMs).toBeCloseTo(Math.min(refMs, ttft - (pre!.endMs - pre!.startMs)), 6);
      expect(enc!.endMs - enc!.startMs).toBeCloseTo(Math.max(0, ttft - (pre!.endMs - pre!.startMs) - refMs), 6);
      expect(rec.outputTokens).toBe(4);
      // The first token ends the 1-token request; the other 3 arrive together at the end of the replayed decode.
      expect(rec.events.filter((e) => e.kind === 'token').map((e) => (e.kind === 'token' ? e.count : 0))).toEqual([1, 3]);
      expect(rec.images).toBe(2);
      expect(rec.visionTiles).toBe(2);
      expect(rec.reported?.['prompt_n']).toBe(rec.promptTokens);
      // The prefill reference evaluated exactly the request's prompt positions (text only).
      expect(rec.reported?.['prefill_reference.prompt_n']).toBe(rec.reported?.['prompt_n']);
    }
    const o = ortRun.recs[0]!;
    const l = llama.recs[0]!;
    // 56 px tiny tiles: (56/14)^2 / 2^2 = 4 tokens per image in both runtimes.
    expect(o.imageTokens).toBe(8);
    expect(l.imageTokens).toBe(o.imageTokens);
    // mtmd wraps each InternVL image in "<img>" "</img>" text: 11 byte-level tokens per image.
    expect(l.promptTokens).toBe(o.promptTokens + 2 * 11);
    expect(llama.settings['imageTokensReference']).toBe(4);
    expect(llama.settings['phaseSplit']).toMatch(/image_encode = time to first token - preprocess - prefill \(composed\)/);
    expect(llama.settings['mmproj']).toBe('internvl2_5-1b-mmproj-F32.gguf');
  });

  it('records the build\'s CPU features in the cell and flags a build without the machine\'s SIMD', async () => {
    const { settings, flags } = await twoRequests('llamacpp', { images: 1, prefill: 8, precision: 'int8' });
    const info = String(settings['llamaSystemInfo']);
    expect(info).toMatch(/CPU :/);
    // Which llama.node build ran, and why (runners/llamacpp/llama-node-variant.ts): not a Jetson here.
    expect(settings['llamaNodeVariant']).toBe('default');
    expect(settings['llamaNodePackage']).toBe(`@fugood/node-llama-${process.platform}-${process.arch}`);
    expect(settings['llamaNodeVariantChoice']).toMatch(/^auto: not a Jetson/);
    expect([settings['gpu'], settings['gpuOffload']]).toEqual(['false', 'none (CPU)']);
    expect(String(settings['llamaDevices'])).toMatch(/^CPU:CPU$/);
    const verdict = simdVerdict(info);
    expect(settings['llamaBuildSimd']).toBe(verdict.build);
    expect(settings['machineSimd']).toBe(verdict.machine);
    if (verdict.missing.length > 0) {
      expect(settings['llamaBuildMissingSimd']).toBe(verdict.missing.join(' '));
      expect(flags).toEqual([{ kind: 'no-simd', message: expect.stringContaining(`without this CPU's ${verdict.missing.join(', ')}`) }]);
    } else {
      expect(flags).toEqual([]);
    }
  });

  it('the simd verdict reads ggml system-info lines and /proc/cpuinfo flags', () => {
    // @fugood/node-llama-linux-x64 1.7.15's getSystemInfo() on the AVX2 EPYC dev machine.
    const noSimd = 'CPU : LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 |';
    const avx2Machine = 'processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 fma sse4_1 avx f16c avx2 bmi2\n';
    const vnniMachine = 'flags\t\t: sse3 avx avx2 fma f16c avx512f avx512bw avx512_vnni\n';
    expect(simdVerdict(noSimd, avx2Machine)).toEqual({ build: 'none', machine: 'avx avx2 fma f16c', missing: ['avx', 'avx2', 'fma', 'f16c'] });
    const haswell = 'CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 |';
    expect(simdVerdict(haswell, avx2Machine).missing).toEqual([]);
    expect(simdVerdict(haswell, vnniMachine).missing).toEqual(['avx512f', 'avx512_vnni']);
    expect(simdVerdict(haswell, '').machine).toBe('unknown');
  });

  it('at F32 the image embeddings of llama.cpp (mmproj) and ONNX Runtime (vision_encoder) agree for the same image', async () => {
    const gguf = await ensureModel({ model: 'internvl2_5-1b', scale: 'tiny', precision: 'fp32', layout: 'gguf', seed: 99 });
    const onnx = await ensureModel({ model: 'internvl2_5-1b', scale: 'tiny', precision: 'fp32', layout: 'onnx-community', seed: 99 });
    const png = join(tmp, 'frame.png');
    await writeFramePng(png, gguf.descriptor.vision.imageSize, 7);
    const tiles = await mtmdEmbeddings(gguf.files[GGUF_FILE_SESSION]!, gguf.files[GGUF_MMPROJ_SESSION]!, png);
    expect(tiles.map((t) => t.tokens)).toEqual([gguf.descriptor.imageTokensPerTile]);
    expectAgreement(tiles[0]!, await ortEmbeddings(onnx.files['vision_encoder']!, gguf.descriptor, png), gguf.descriptor.llm.hidden);
  });

  it('a suite with runner and images axes runs both runtimes\' image cells, the no-SIMD build\'s figures marked', async () => {
    const s: Suite = {
      name: 'runtimes-images-test',
      model: { zoo: 'internvl2_5-1b', scale: 'tiny', seed: 99 },
      target: 'local',
      defaults: { warmup: 0, iterations: 2, outputTokens: 3, threads: 1 },
      matrix: { runner: ['ort', 'llamacpp'], images: [1], prefill: [8], precision: ['int8'] },
    };
    const outcome = await runSuite({ suite: loaded(s), target: 'local', filters: [], outDir: outDir(), runners: { ort: ortRunner, llamacpp: llamaCppRunner }, progress: quietProgress() });
    const result = readResult(outcome.store.file);
    expect(outcome.failedCells).toBe(0);
    const [o, l] = result.cells;
    expect(o!.metrics['image_encode_ms']!.n).toBe(2);
    expect(l!.metrics['image_encode_ms']!.n).toBe(2);
    expect(l!.metrics['ttft_ms']!.n).toBe(2);
    const lacks = String(l!.settings['llamaBuildMissingSimd'] ?? '') !== '';
    const flagged = (l!.metrics['image_encode_ms'] as { flags?: Array<{ kind: string }> }).flags?.some((f) => f.kind === 'no-simd') ?? false;
    expect(flagged).toBe(lacks);
    expect(l!.flags?.some((f) => f.kind === 'no-simd') ?? false).toBe(lacks);
    expect(o!.flags?.some((f) => f.kind === 'no-simd') ?? false).toBe(false);
  });
});
