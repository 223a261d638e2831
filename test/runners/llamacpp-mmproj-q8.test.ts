/**
 * The mmproj's Q8_0 form (suite option `mmprojType: Q8_0`): llama.cpp's 8-bit vision tower, to
 * set beside ORT's int8 vision encoder. mtmd (the suite's addon on node-llama-cpp's libraries)
 * loads and runs it for every family the zoo writes an mmproj for, and its image embeddings stay
 * close to ONNX Runtime's fp32 encoder of the same seeded weights, token by token; the form is
 * part of the build hash and of the cell's configuration identity. Tiny scale only.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import { cellIdentity, diffIdentities } from '../../analysis/identity.ts';
import { InputError } from '../../core/errors.ts';
import type { RunResult } from '../../core/result-types.ts';
import type { Suite } from '../../core/suite-types.ts';
import type { VlmDescriptor } from '../../models/descriptors.ts';
import { GGUF_FILE_SESSION, GGUF_MMPROJ_SESSION, buildGguf } from '../../models/gguf/llm.ts';
import { parseMmprojType, type MmprojWeightType } from '../../models/gguf/mmproj.ts';
import { GGML_TYPES } from '../../models/gguf/quants.ts';
import { DEFAULT_LINEAR_OPTIONS } from '../../models/layers/linear.ts';
import { buildOnnxCommunity } from '../../models/layouts/onnx-community.ts';
import { ensureModel, getDescriptor, modelHash } from '../../models/zoo.ts';
import { llamaCppRunner } from '../../runners/llamacpp/index.ts';
import { boardCells, makeResult } from '../compare/make-result.ts';
import { cell, ctx } from '../helpers/ort-cell.ts';
import { tempDir } from '../helpers/tmp.ts';
import { removeOutDirs } from '../targets/helpers/run.ts';
import { minTokenCosine, mtmdEmbeddings, mtmdLevel, ortVisionOutputs, writeFramePng, type MtmdTileEmbeddings } from './helpers/mtmd-embeddings.ts';

const tmp = tempDir('mmproj-q8-');
afterAll(() => removeOutDirs());
const SEED = 99;

/**
 * Lowest per-token cosine a Q8_0 mmproj must keep against ORT's fp32 encoder. Q8_0 rounds each
 * weight to 1/254 of its 32-value block's largest magnitude (an error of ~0.5 % of a weight's
 * scale), and ggml rounds the activations to Q8_0 too before its integer dot product: each
 * matmul's output moves by under 1 %, a cosine loss of order 1e-5..1e-4 per matmul, which the
 * tiny towers' few blocks accumulate to ~1e-3 at most. Measured lowest per-token cosines (AVX2
 * machine, 2 cores, load ~2.9): InternVL 0.99992, Qwen2-VL 0.99986, Qwen2.5-VL 0.99958, SmolVLM
 * 0.99906 (its global image is a resampled frame: 0.99935 at F32 already); Qwen3-VL 0.99956 on
 * the merger's output and 0.99978 / 0.99979 on its 2 DeepStack levels (load ~12). 0.995 leaves room
 * for other SIMD paths (AVX-512 VNNI kernels round differently) while a wrong block layout or
 * scale (cosine well under 0.99) fails.
 */
const Q8_MIN_TOKEN_COSINE = 0.995;

async function ggufPair(model: string, mmprojType?: MmprojWeightType) {
  const gguf = await ensureModel({ model, scale: 'tiny', precision: 'fp32', layout: 'gguf', seed: SEED, ...(mmprojType ? { mmprojType } : {}) });
  const onnx = await ensureModel({ model, scale: 'tiny', precision: 'fp32', layout: 'onnx-community', seed: SEED });
  return { d: gguf.descriptor, llm: gguf.files[GGUF_FILE_SESSION]!, mmproj: gguf.files[GGUF_MMPROJ_SESSION]!, vision: onnx.files['vision_encoder']! };
}

/** Qwen2.5-VL at 224 px with mtmd's 112 px windows (the zoo's tiny 56 px windows are another function in mtmd), both layouts written straight by the builders. */
function qwen25Pair(mmprojType: MmprojWeightType) {
  const tiny = getDescriptor('qwen2_5-vl-3b', 'tiny');
  const d: VlmDescriptor = { ...tiny, id: 'qwen2_5-vl-3b-w112', vision: { ...tiny.vision, imageSize: 224, windowSize: 112 }, imageTokensPerTile: 64 };
  const build = (name: string) => {
    const dir = join(tmp, `${d.id}-${name}-${mmprojType}`);
    mkdirSync(dir);
    return { dir, descriptor: d, lin: { ...DEFAULT_LINEAR_OPTIONS, precision: 'fp32' as const, seed: SEED }, lmHead: 'separate' as const, mmprojType, log: () => {} };
  };
  const gguf = buildGguf(build('gguf'));
  const onnx = buildOnnxCommunity(build('onnx'));
  return { d, llm: gguf.files[GGUF_FILE_SESSION]!, mmproj: gguf.files[GGUF_MMPROJ_SESSION]!, vision: onnx.files['vision_encoder']! };
}

interface Case {
  name: string;
  pair: () => Promise<{ d: VlmDescriptor; llm: string; mmproj: string; vision: string }>;
  /** mtmd's --image-min-tokens (Qwen2-VL: keep the 4 tokens the reference makes of the tiny frame). */
  minTokens?: number;
  /** Which of mtmd's image chunks is the frame itself at the tile size (SmolVLM: the global image, resampled). */
  tile: (tiles: MtmdTileEmbeddings[]) => MtmdTileEmbeddings;
}

const CASES: Case[] = [
  { name: 'InternVL (internvl)', pair: () => ggufPair('internvl2_5-1b', 'Q8_0'), tile: (t) => t[0]! },
  { name: 'Qwen2-VL (qwen2vl_merger)', pair: () => ggufPair('qwen2-vl-2b', 'Q8_0'), minTokens: 4, tile: (t) => t[0]! },
  { name: 'Qwen2.5-VL (qwen2.5vl_merger, 112 px windows)', pair: async () => qwen25Pair('Q8_0'), tile: (t) => t[0]! },
  { name: 'SmolVLM (idefics3)', pair: () => ggufPair('smolvlm-256m', 'Q8_0'), tile: (t) => t[16]! },
  { name: 'Qwen3-VL (qwen3vl_merger, merger output and 2 DeepStack levels)', pair: () => ggufPair('qwen3-vl-2b', 'Q8_0'), tile: (t) => t[0]! },
];

describe('a Q8_0 mmproj in llama.cpp\'s mtmd against ONNX Runtime\'s fp32 vision encoder', () => {
  for (const c of CASES) {
    it(`${c.name}: the matrices are Q8_0, mtmd runs the file, every token's cosine >= ${Q8_MIN_TOKEN_COSINE}`, async () => {
      const p = await c.pair();
      expect(p.mmproj.endsWith('-mmproj-Q8_0.gguf')).toBe(true);
      const info = await readGgufFileInfo(p.mmproj);
      const types = new Map(info.tensorInfo!.map((t) => [t.name, t.ggmlType as number]));
      // Every block's matrices are 8-bit; the patch kernels stay F16 (4-D; llama.cpp's quantiser leaves them too).
      expect(types.get('v.blk.0.ffn_up.weight')).toBe(GGML_TYPES.Q8_0.id);
      expect(types.get('v.blk.0.ffn_down.weight')).toBe(GGML_TYPES.Q8_0.id);
      expect(types.get('v.patch_embd.weight')).toBe(GGML_TYPES.F16.id);
      expect((info.metadata as unknown as { general: { file_type: number } }).general.file_type).toBe(7);

      const png = join(tmp, `${c.name.split(' ')[0]}.png`);
      await writeFramePng(png, p.d.vision.imageSize, 7);
      const tile = c.tile(await mtmdEmbeddings(p.llm, p.mmproj, png, c.minTokens));
      expect(tile.tokens).toBe(p.d.imageTokensPerTile);
      // Every level mtmd gives per token (Qwen3-VL: the merger's output, then each DeepStack level) against ORT's.
      const ort = await ortVisionOutputs(p.vision, p.d, png);
      const levels = [ort.features, ...ort.deepstack];
      expect(levels).toHaveLength(1 + (p.d.vision.deepstackLayers?.length ?? 0));
      levels.forEach((fp32, level) => {
        const mine = mtmdLevel(tile, p.d.llm.hidden, levels.length, level).data;
        expect(mine.length).toBe(fp32.length);
        const { min, token } = minTokenCosine(mine, fp32, p.d.llm.hidden);
        console.log(`${c.name}: Q8_0 mmproj vs ORT fp32, level ${level}, lowest per-token cosine ${min.toFixed(5)} (token ${token} of ${tile.tokens})`);
        expect(min, `level ${level}: lowest per-token cosine (token ${token})`).toBeGreaterThanOrEqual(Q8_MIN_TOKEN_COSINE);
      });
      // Not the F32 file by another name: its values differ from the F32 mmproj's in mtmd.
      const f32 = c.name.startsWith('Qwen2.5') ? qwen25F32() : await ggufPair(modelOf(c), undefined);
      const ref = c.tile(await mtmdEmbeddings(f32.llm, f32.mmproj, png, c.minTokens));
      let maxDiff = 0;
      for (let i = 0; i < ref.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref.data[i]! - tile.data[i]!));
      expect(maxDiff).toBeGreaterThan(1e-4);
    });
  }
});

function modelOf(c: Case): string {
  return { InternVL: 'internvl2_5-1b', 'Qwen2-VL': 'qwen2-vl-2b', SmolVLM: 'smolvlm-256m', 'Qwen3-VL': 'qwen3-vl-2b' }[c.name.split(' ')[0]!]!;
}

let qwen25F32Pair: ReturnType<typeof qwen25Pair> | undefined;
function qwen25F32() {
  qwen25F32Pair ??= qwen25Pair('F32');
  return qwen25F32Pair;
}

describe('options.mmprojType: validated, in the build hash, and a configuration of its own', () => {
  it('a bad value is an InputError naming the valid forms; a model.path GGUF refuses it', () => {
    expect(parseMmprojType(undefined, 'x')).toBeUndefined();
    expect(parseMmprojType('q8_0', 'x')).toBe('Q8_0');
    expect(() => parseMmprojType('Q4_0', 'suite "s"')).toThrow(InputError);
    expect(() => parseMmprojType('Q4_0', 'suite "s"')).toThrow('suite "s": options.mmprojType must be one of F32, F16, Q8_0, got "Q4_0"');
    expect(() => parseMmprojType(8, 'suite "s"')).toThrow(InputError);
    const suite = (model: Suite['model'], mmprojType: unknown): Suite => ({ name: 's', model, target: 'local', runner: 'llamacpp', defaults: { warmup: 0, iterations: 1, outputTokens: 2 }, matrix: {}, options: { mmprojType } });
    expect(() => llamaCppRunner.checkPlan!(suite({ zoo: 'internvl2_5-1b', scale: 'tiny' }, 'int8'), [])).toThrow(InputError);
    expect(() => llamaCppRunner.checkPlan!(suite({ path: '/tmp/x.gguf' }, 'Q8_0'), [])).toThrow(/model\.path/);
    expect(() => llamaCppRunner.checkPlan!(suite({ zoo: 'internvl2_5-1b', scale: 'tiny' }, 'Q8_0'), [])).not.toThrow();
    // Only the gguf layout has an mmproj.
    expect(() => modelHash({ model: 'internvl2_5-1b', scale: 'tiny', precision: 'int8', layout: 'onnx-community', mmprojType: 'Q8_0' })).toThrow(InputError);
  });

  it('Q8_0 changes the build hash; asking for the precision\'s default form keeps the default build\'s hash (and its cache)', () => {
    const req = { model: 'internvl2_5-1b', scale: 'tiny', precision: 'int8', layout: 'gguf' } as const;
    expect(modelHash({ ...req, mmprojType: 'Q8_0' })).not.toBe(modelHash(req));
    expect(modelHash({ ...req, mmprojType: 'F16' })).toBe(modelHash(req));
    expect(modelHash({ ...req, mmprojType: 'F32' })).not.toBe(modelHash(req));
  });

  it('F16 and Q8_0 image cells of the same suite are different configurations (model hash and vision precision), recorded per cell', async () => {
    const prepare = async (mmprojType?: MmprojWeightType) => {
      const suite: Suite = { name: 'mmproj-q8', model: { zoo: 'internvl2_5-1b', scale: 'tiny', seed: SEED }, target: 'local', runner: 'llamacpp', defaults: { warmup: 0, iterations: 1, outputTokens: 2 }, matrix: {}, ...(mmprojType ? { options: { mmprojType } } : {}) };
      const prepared = await llamaCppRunner.prepare(cell({ images: 1, prefill: 8, precision: 'int8' }), suite, ctx);
      try {
        const rec = await prepared.runIteration(0, false);
        expect(rec.error).toBeUndefined();
        return { model: prepared.model, settings: prepared.settings };
      } finally {
        await prepared.close();
      }
    };
    const f16 = await prepare();
    const q8 = await prepare('Q8_0');
    expect([f16.settings['mmprojType'], q8.settings['mmprojType']]).toEqual(['F16', 'Q8_0']);
    expect([f16.settings['mmproj'], q8.settings['mmproj']]).toEqual(['internvl2_5-1b-mmproj-F16.gguf', 'internvl2_5-1b-mmproj-Q8_0.gguf']);
    expect([f16.model.visionPrecision, q8.model.visionPrecision]).toEqual(['fp16', 'q8_0']);

    // The same recorded result with each cell's model identity and settings: the identity tells them apart.
    const base = makeResult({ seed: 1, cells: boardCells(), threads: 1 });
    const withCell = (p: typeof f16): RunResult => {
      const r = JSON.parse(JSON.stringify(base)) as RunResult;
      r.cells[1]!.model = p.model;
      r.cells[1]!.settings = { ...r.cells[1]!.settings, ...p.settings };
      return r;
    };
    const a = withCell(f16);
    const b = withCell(q8);
    const diffs = diffIdentities(cellIdentity(a, a.cells[1]!), cellIdentity(b, b.cells[1]!));
    expect(diffs.map((d) => d.field)).toEqual(['model_hash', 'vision_precision']);
    expect(diffs.find((d) => d.field === 'vision_precision')).toMatchObject({ base: 'fp16', cand: 'q8_0' });
  });
});
