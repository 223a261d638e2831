/**
 * Image cells on the llamacpp runner: the zoo's mmproj GGUF in llama.cpp's mtmd
 * (@fugood/llama.node's prebuilt binary, whatever its SIMD), next to the ORT runner on the ONNX
 * build of the same seeded weights. Tiny scale only: no native build is ever triggered here.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { createClock } from '../../core/clock.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import { readResult } from '../../harness/result-store.ts';
import { runSuite } from '../../harness/run-suite.ts';
import { GGUF_FILE_SESSION, GGUF_MMPROJ_SESSION } from '../../models/gguf/llm.ts';
import { PIXEL_CONVENTIONS } from '../../models/preprocess/pixels.ts';
import { ensureModel } from '../../models/zoo.ts';
import { llamaCppRunner } from '../../runners/llamacpp/index.ts';
import { simdVerdict } from '../../runners/llamacpp/simd.ts';
import { makeTestImage } from '../../runners/ort/inputs.ts';
import { ortRunner } from '../../runners/ort/index.ts';
import { normalizeTile } from '../../runners/ort/visual-inputs.ts';
import { loaded, outDir, quietProgress, removeOutDirs } from '../targets/helpers/run.ts';

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

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

/** clip.cpp's MTMD_DEBUG_EMBEDDINGS block (tools/mtmd/clip.cpp, clip_image_batch_encode). */
function parseDebugEmbeddings(log: string) {
  const block = /=== MTMD_DEBUG_EMBEDDINGS ===([\s\S]*?)=== END MTMD_DEBUG_EMBEDDINGS ===/.exec(log)?.[1];
  if (!block) throw new Error(`no MTMD_DEBUG_EMBEDDINGS block in the child's log:\n${log.slice(-2000)}`);
  const nums = (re: RegExp) => (re.exec(block)?.[1] ?? '').trim().split(/\s+/).map(Number);
  const stat = (name: string) => Number(new RegExp(`${name}=(-?[\\d.]+)`).exec(block)?.[1]);
  const [, embd, tokens] = (/Shape: \[(\d+), (\d+)\]/.exec(block) ?? []).map(Number);
  return {
    embd: embd!,
    tokens: tokens!,
    first16: nums(/Token 0 \(first 16 values\):([^\n]*)/),
    last16: nums(/Token 0 \(last 16 values\):([^\n]*)/),
    mean: stat('mean'),
    std: stat('std'),
    min: stat('min'),
    max: stat('max'),
  };
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
      expect(enc!.endMs - enc!.startMs).toBeGreaterThan(0);
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
    const side = gguf.descriptor.vision.imageSize;
    const png = join(tmp, 'frame.png');
    writeFileSync(png, await sharp(Buffer.from(makeTestImage(side, 7)), { raw: { width: side, height: side, channels: 3 } }).png().toBuffer());

    const child = await promisify(execFile)(process.execPath, [join(import.meta.dirname, 'helpers', 'mtmd-debug-embeddings.cjs'), gguf.files[GGUF_FILE_SESSION]!, gguf.files[GGUF_MMPROJ_SESSION]!, png], {
      maxBuffer: 64 << 20,
    });
    const mtmd = parseDebugEmbeddings(child.stdout + child.stderr);

    // ORT on the pixels decoded from the same PNG (lossless), normalised as the ORT runner does.
    const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const chw = new Float32Array(3 * side * side);
    normalizeTile({ data: new Uint8Array(data), width: side, height: side }, 0, 0, side, PIXEL_CONVENTIONS.internvl, chw);
    const session = await ort.InferenceSession.create(onnx.files['vision_encoder']!);
    const out = await session.run({ pixel_values: new ort.Tensor('float32', chw, [1, 3, side, side]) });
    await session.release();
    const features = out['image_features']!.data as Float32Array;
    const hidden = gguf.descriptor.llm.hidden;

    expect([mtmd.embd, mtmd.tokens]).toEqual([hidden, gguf.descriptor.imageTokensPerTile]);
    expect(features.length).toBe(hidden * mtmd.tokens);
    const ortToken0 = [...features.subarray(0, 16), ...features.subarray(hidden - 16, hidden)];
    const mtmdToken0 = [...mtmd.first16, ...mtmd.last16];
    expect(cosine(mtmdToken0, ortToken0)).toBeGreaterThanOrEqual(0.999);
    // Printed with 6 decimals; ggml's GELU is the tanh form, ORT's the erf form: differences ~1e-3.
    for (let i = 0; i < 32; i++) expect(Math.abs(mtmdToken0[i]! - ortToken0[i]!)).toBeLessThan(5e-3);
    // Whole-tensor statistics cover every token.
    let sum = 0;
    let sq = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const x of features) {
      sum += x;
      sq += x * x;
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
    const mean = sum / features.length;
    expect(Math.abs(mtmd.mean - mean)).toBeLessThan(1e-3);
    expect(Math.abs(mtmd.std - Math.sqrt(sq / features.length - mean * mean))).toBeLessThan(1e-3);
    expect(Math.abs(mtmd.min - min)).toBeLessThan(5e-3);
    expect(Math.abs(mtmd.max - max)).toBeLessThan(5e-3);
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
