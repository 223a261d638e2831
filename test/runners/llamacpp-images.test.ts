/**
 * Image cells on the llamacpp runner: the zoo's mmproj GGUF in llama.cpp's mtmd through the
 * suite's mtmd addon (built once per machine against node-llama-cpp's prebuilt libraries; the
 * test setup builds it when missing), next to the ORT runner on the ONNX build of the same seeded
 * weights. Tiny scale only.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
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
import { expectAgreement, minTokenCosine, mtmdEmbeddings, ortEmbeddings, writeFramePng } from './helpers/mtmd-embeddings.ts';
import { NODE_LLAMA_CPP_VERSION } from '../../runners/llamacpp/binding.ts';
import { loadMtmdAddon } from '../../runners/llamacpp/mtmd-native/addon.ts';
import { resolveLlamaLibrary } from '../../runners/llamacpp/mtmd-native/library.ts';

const tmp = tempDir('mtmd-test-');
afterAll(() => removeOutDirs());

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
      const phases = rec.events.filter((e) => e.kind === 'phase') as Array<{ phase: string; startMs: number; endMs: number }>;
      expect(phases.map((p) => p.phase)).toEqual(['preprocess', 'image_encode', 'prefill', 'decode']);
      // Every phase measured, one after another: they tile the request, the first token ends prefill.
      const [pre, enc, pf, dec] = phases;
      const firstToken = rec.events.find((e) => e.kind === 'token' && e.index === 0);
      expect(pre!.startMs).toBe(rec.startMs);
      expect(enc!.startMs).toBe(pre!.endMs);
      expect(pf!.startMs).toBe(enc!.endMs);
      expect(dec!.startMs).toBe(pf!.endMs);
      expect(firstToken && firstToken.kind === 'token' ? firstToken.tMs : NaN).toBe(pf!.endMs);
      for (const p of phases) expect(p.endMs).toBeGreaterThan(p.startMs);
      // One encode per image, inside image_encode, each over the image's 4 tokens.
      const encodes = rec.events.filter((e) => e.kind === 'subgraph' && e.graph === 'mtmd_encode_chunk') as Array<{ startMs: number; endMs: number; items: number }>;
      expect(encodes.map((e) => e.items)).toEqual([4, 4]);
      for (const e of encodes) expect(e.startMs >= enc!.startMs && e.endMs <= enc!.endMs).toBe(true);
      expect(rec.outputTokens).toBe(4);
      // One token per decode step, each at its own time, inside the decode phase.
      const tokens = rec.events.filter((e) => e.kind === 'token') as Array<{ tMs: number; count: number }>;
      expect(tokens.map((t) => t.count)).toEqual([1, 1, 1, 1]);
      for (const t of tokens.slice(1)) expect(t.tMs > dec!.startMs && t.tMs <= dec!.endMs).toBe(true);
      expect(rec.outputTokenIds).toHaveLength(4);
      expect(rec.images).toBe(2);
      expect(rec.visionTiles).toBe(2);
      // llama.cpp's own counters: the prompt's decode calls evaluated every prompt position, and
      // the 3 decode steps one token each.
      expect(rec.reported?.['positions']).toBe(rec.promptTokens);
      expect(rec.reported?.['predicted_n']).toBe(3);
      expect(rec.reported?.['image_chunks']).toBe(2);
    }
    // Greedy and deterministic: both requests generate the same tokens.
    expect(llama.recs[1]!.outputTokenIds).toEqual(llama.recs[0]!.outputTokenIds);
    const o = ortRun.recs[0]!;
    const l = llama.recs[0]!;
    // 56 px tiny tiles: (56/14)^2 / 2^2 = 4 tokens per image in both runtimes.
    expect(o.imageTokens).toBe(8);
    expect(l.imageTokens).toBe(o.imageTokens);
    // mtmd wraps each InternVL image in "<img>" "</img>" text: 11 byte-level tokens per image.
    expect(l.promptTokens).toBe(o.promptTokens + 2 * 11);
    expect(llama.settings['imageTokensReference']).toBe(4);
    expect(llama.settings['phaseTiming']).toMatch(/^measured on the suite clock/);
    expect(llama.settings['figureSourceByMetric']).toBeUndefined();
    expect(llama.settings['mmproj']).toBe('internvl2_5-1b-mmproj-F32.gguf');
  });

  it('records the build\'s CPU features in the cell and flags a build without the machine\'s SIMD', async () => {
    const { settings, flags } = await twoRequests('llamacpp', { images: 1, prefill: 8, precision: 'int8' });
    const info = String(settings['llamaSystemInfo']);
    expect(info).toMatch(/CPU :/);
    // Which llama.cpp library the addon runs on, and why (mtmd-native/library.ts): the CPU package
    // here, or node-llama-cpp's local CPU build where one was made (its getLlama prefers it).
    const library = resolveLlamaLibrary('auto');
    expect(settings['llamaLibrary']).toBe('cpu');
    expect(settings['llamaBuild']).toBe(library.build);
    expect(settings['llamaLibrarySource']).toBe(library.build === 'prebuilt' ? `@node-llama-cpp/${process.platform}-${process.arch}@${NODE_LLAMA_CPP_VERSION}` : `node-llama-cpp local build ${process.platform}-${process.arch}`);
    expect(settings['llamaLibraryDir']).toBe(library.dir);
    expect(settings['llamaLibraryChoice']).toMatch(/^auto: the CPU build/);
    expect([settings['gpu'], settings['gpuOffload']]).toEqual(['false', 'none (CPU)']);
    expect(String(settings['llamaDevices'])).toMatch(/^CPU:/);
    // The system info recorded is what the addon reports, and what its build recorded when checked.
    const { addon, build } = await loadMtmdAddon(resolveLlamaLibrary('auto'));
    expect(info).toBe(addon.systemInfo().trim());
    expect(info).toBe(build.info.systemInfo);
    expect(settings['mtmdAddonBuild']).toBe(build.info.key);
    // ggml loaded one CPU variant of node-llama-cpp's package for this CPU (a local build links its one native CPU backend).
    expect(String(settings['llamaCpuBackend'])).toMatch(library.build === 'prebuilt' ? /^libggml-cpu-[\w.-]+\.so$/ : /^libggml-cpu\.so$/);
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
    // @fugood/node-llama-linux-x64 1.7.15's getSystemInfo() on the AVX2 EPYC dev machine (the binding used before the addon).
    const noSimd = 'CPU : LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 |';
    const avx2Machine = 'processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 fma sse4_1 avx f16c avx2 bmi2\n';
    const vnniMachine = 'flags\t\t: sse3 avx avx2 fma f16c avx512f avx512bw avx512_vnni\n';
    expect(simdVerdict(noSimd, avx2Machine)).toEqual({ build: 'none', machine: 'avx avx2 fma f16c', missing: ['avx', 'avx2', 'fma', 'f16c'] });
    const haswell = 'CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 |';
    expect(simdVerdict(haswell, avx2Machine).missing).toEqual([]);
    expect(simdVerdict(haswell, vnniMachine).missing).toEqual(['avx512f', 'avx512_vnni']);
    expect(simdVerdict(haswell, '').machine).toBe('unknown');
    // A Sapphire Rapids (the VNNI Xeon) on ggml's sapphirerapids variant: its AVX512_VNNI covers avx_vnni.
    const sprMachine = 'flags\t\t: sse3 avx avx2 fma f16c avx512f avx512_vnni avx_vnni amx_int8\n';
    const spr = 'CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | AVX512 = 1 | AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | REPACK = 1 |';
    expect(simdVerdict(spr, sprMachine).missing).toEqual([]);
    // An Alder Lake variant (AVX-VNNI, no AVX-512) on the same machine lacks the AVX-512 units.
    const alderlake = 'CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX_VNNI = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 |';
    expect(simdVerdict(alderlake, sprMachine).missing).toEqual(['avx512f', 'avx512_vnni']);
  });

  it('at F32 the image embeddings of llama.cpp (mmproj) and ONNX Runtime (vision_encoder) agree for the same image', async () => {
    const gguf = await ensureModel({ model: 'internvl2_5-1b', scale: 'tiny', precision: 'fp32', layout: 'gguf', seed: 99 });
    const onnx = await ensureModel({ model: 'internvl2_5-1b', scale: 'tiny', precision: 'fp32', layout: 'onnx-community', seed: 99 });
    const png = join(tmp, 'frame.png');
    await writeFramePng(png, gguf.descriptor.vision.imageSize, 7);
    const tiles = await mtmdEmbeddings(gguf.files[GGUF_FILE_SESSION]!, gguf.files[GGUF_MMPROJ_SESSION]!, png);
    expect(tiles.map((t) => t.tokens)).toEqual([gguf.descriptor.imageTokensPerTile]);
    const features = await ortEmbeddings(onnx.files['vision_encoder']!, gguf.descriptor, png);
    expectAgreement(tiles[0]!, features, gguf.descriptor.llm.hidden);
    // The check can fail: the same tokens in the wrong order (HF's CLS-first position table gave 0.90 on token 0) do not pass.
    const h = gguf.descriptor.llm.hidden;
    const swapped = new Float32Array(features);
    swapped.set(features.subarray(0, h), h);
    swapped.set(features.subarray(h, 2 * h), 0);
    expect(minTokenCosine(tiles[0]!.data, swapped, h).min).toBeLessThan(0.999);
  });

  it('a suite with runner and images axes runs both runtimes\' image cells, a no-SIMD build\'s figures would be marked', async () => {
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
