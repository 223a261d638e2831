/**
 * Qwen3-VL through llama.cpp (node-llama-cpp's v0.4.0 libraries, the suite's mtmd addon): the
 * zoo's `qwen3vl` LLM GGUF and `qwen3vl_merger` mmproj written from the same seeded weights as
 * the ONNX build. The F32 image embeddings of mtmd and ONNX Runtime agree per token on the
 * merger's output and on each DeepStack level; the image cell runs on the llamacpp runner with
 * both token counts; the M-RoPE positions mtmd gives the image are Qwen3-VL's (HF
 * get_rope_index); the text path gives ORT's greedy tokens. Tiny scale only.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { runOnce } from '../helpers/ort-cell.ts';
import type { Suite } from '../../core/suite-types.ts';
import { OnnxCommunityDriver, type DeepstackInput } from '../../models/drivers/onnx-community.ts';
import type { VlmDescriptor } from '../../models/descriptors.ts';
import { GGUF_FILE_SESSION, GGUF_MMPROJ_SESSION, buildGguf } from '../../models/gguf/llm.ts';
import { DEFAULT_LINEAR_OPTIONS } from '../../models/layers/linear.ts';
import { buildOnnxCommunity } from '../../models/layouts/onnx-community.ts';
import { mropePositions, type PromptSegment } from '../../models/mrope.ts';
import { ensureModel, getDescriptor } from '../../models/zoo.ts';
import { MEDIA_MARKER, promptText } from '../../runners/llamacpp/image-pipeline.ts';
import { llamaCppRunner } from '../../runners/llamacpp/index.ts';
import { loadMtmdAddon } from '../../runners/llamacpp/mtmd-native/addon.ts';
import { resolveLlamaLibrary } from '../../runners/llamacpp/mtmd-native/library.ts';
import { ortRunner } from '../../runners/ort/index.ts';
import { removeOutDirs } from '../targets/helpers/run.ts';
import { expectAgreement, mtmdEmbeddings, mtmdLevel, ortVisionOutputs, writeFramePng } from './helpers/mtmd-embeddings.ts';

const tmp = tempDir('mtmd-qwen3vl-');
afterAll(() => removeOutDirs());
const SEED = 99;
const MODEL = 'qwen3-vl-2b';

async function zooPair() {
  const gguf = await ensureModel({ model: MODEL, scale: 'tiny', precision: 'fp32', layout: 'gguf', seed: SEED });
  const onnx = await ensureModel({ model: MODEL, scale: 'tiny', precision: 'fp32', layout: 'onnx-community', seed: SEED });
  return { d: gguf.descriptor, llm: gguf.files[GGUF_FILE_SESSION]!, mmproj: gguf.files[GGUF_MMPROJ_SESSION]!, vision: onnx.files['vision_encoder']!, onnx };
}

const addon = async () => (await loadMtmdAddon(resolveLlamaLibrary('auto'))).addon;

/** Byte-level ids of text in the zoo's placeholder vocabulary (no merges: one token per byte, id = byte). */
const byteIds = (text: string): number[] => Array.from(Buffer.from(text, 'utf8'));

/** ORT's greedy continuation of a prompt of embeddings: the whole sequence again per token (tiny model), generated tokens as text. */
async function ortGreedy(driver: OnnxCommunityDriver, prompt: Float32Array, segments: PromptSegment[], deepstack: DeepstackInput, count: number): Promise<number[]> {
  const out: number[] = [];
  let embeds = prompt;
  for (let i = 0; i < count; i++) {
    const all = [...segments, ...(out.length ? [{ kind: 'text' as const, tokens: out.length }] : [])];
    const positions = mropePositions(all);
    const { logits, vocab } = await driver.forward(embeds, [positions.tokens], deepstack, positions);
    const last = logits.subarray((positions.tokens - 1) * vocab, positions.tokens * vocab);
    let best = 0;
    for (let v = 1; v < vocab; v++) if (last[v]! > last[best]!) best = v;
    out.push(best);
    const next = new Float32Array(embeds.length + (await driver.embed([best])).length);
    next.set(embeds);
    next.set(await driver.embed([best]), embeds.length);
    embeds = next;
  }
  return out;
}

describe('Qwen3-VL (qwen3vl_merger + qwen3vl): F32 image embeddings of mtmd and ONNX Runtime agree, DeepStack levels included', () => {
  it('the same 128 px frame: 16 tokens in both, every token of the merger output and of each DeepStack level within cosine 0.999', async () => {
    const p = await zooPair();
    const hidden = p.d.llm.hidden;
    const levels = 1 + p.d.vision.deepstackLayers!.length;
    expect(levels).toBe(3);
    const png = join(tmp, 'qwen3.png');
    await writeFramePng(png, p.d.vision.imageSize, 7);
    const tiles = await mtmdEmbeddings(p.llm, p.mmproj, png);
    // 128 px is a multiple of 32 px (patch 16 x merge 2) and 16 tokens lie within mtmd's 8-4096: no resize.
    expect(tiles.map((t) => t.tokens)).toEqual([p.d.imageTokensPerTile]);
    expect(p.d.imageTokensPerTile).toBe(16);
    // mtmd hands the LLM n_embd x (1 + DeepStack levels) per token: the merger's output, then each level.
    expect(tiles[0]!.embd).toBe(hidden * levels);
    const ort = await ortVisionOutputs(p.vision, p.d, png);
    expect(ort.deepstack).toHaveLength(levels - 1);
    const main = expectAgreement(mtmdLevel(tiles[0]!, hidden, levels, 0), ort.features, hidden);
    const deep = ort.deepstack.map((level, k) => expectAgreement(mtmdLevel(tiles[0]!, hidden, levels, k + 1), level, hidden));
    // Not trivially equal: the levels differ from each other (a writer that copied one merger into another would not).
    for (const level of ort.deepstack) expect(Math.abs(level[0]! - ort.features[0]!)).toBeGreaterThan(1e-3);
    console.log(`qwen3-vl tiny F32 agreement: main ${JSON.stringify(main)}, deepstack ${JSON.stringify(deep)}`);
  });

  // Opt-in (MTMD_FULL_SCALE=1, about 5 minutes and 3.6 GB in the temp dir on a 2-core machine):
  // the full-scale tower, whose 48x48 position table mtmd shrinks to the 24x24 patch grid of a
  // 384 px frame, and its 3 DeepStack levels, with an LLM of the real width (2048) but 4 layers.
  it.runIf(process.env['MTMD_FULL_SCALE'] === '1')('full-scale tower at 384 px: 144 tokens, the merger output and each of the 3 DeepStack levels agree per token', async () => {
    const full = getDescriptor(MODEL, 'full');
    const d: VlmDescriptor = { ...full, id: 'qwen3-vl-2b-full-tower', llm: { ...full.llm, layers: 4, intermediate: 256, vocab: 512, maxPositions: 1024 } };
    const build = (name: string) => {
      const dir = join(tmp, `${d.id}-${name}`);
      mkdirSync(dir);
      return { dir, descriptor: d, lin: { ...DEFAULT_LINEAR_OPTIONS, precision: 'fp32' as const, seed: SEED }, lmHead: 'separate' as const, log: () => {} };
    };
    const gguf = buildGguf(build('gguf'));
    const onnx = buildOnnxCommunity(build('onnx'));
    const png = join(tmp, 'qwen3-full.png');
    await writeFramePng(png, 384, 7);
    const [tile] = await mtmdEmbeddings(gguf.files[GGUF_FILE_SESSION]!, gguf.files[GGUF_MMPROJ_SESSION]!, png);
    expect(tile!.tokens).toBe(144);
    const ort = await ortVisionOutputs(onnx.files['vision_encoder']!, d, png);
    const levels = [ort.features, ...ort.deepstack];
    expect(levels).toHaveLength(4);
    const found = levels.map((level, k) => expectAgreement(mtmdLevel(tile!, 2048, 4, k), level, 2048));
    console.log(`qwen3-vl full-scale tower F32 agreement per level: ${JSON.stringify(found)}`);
  }, 1_800_000);
});

describe('Qwen3-VL LLM (qwen3vl) in llama.cpp: M-RoPE positions of the image, DeepStack added after the first layers, text after the image', () => {
  it('mtmd places the 4x4 image on 4 positions (HF get_rope_index), and its greedy tokens are the ONNX decoder\'s on the same embeddings', async () => {
    const p = await zooPair();
    const hidden = p.d.llm.hidden;
    const levels = 1 + p.d.vision.deepstackLayers!.length;
    const png = join(tmp, 'qwen3-mrope.png');
    await writeFramePng(png, p.d.vision.imageSize, 11);
    const text = promptText(8, SEED);
    const session = await (await addon()).open({ model: p.llm, mmproj: p.mmproj, nCtx: 256, nBatch: 256, nThreads: 1 });
    let llama: number[];
    let mtmdImage: Float32Array;
    let positions: number;
    try {
      expect(session.info()).toMatchObject({ mrope: true, nEmbdInp: hidden * levels });
      const chunks = await session.prepare(`${MEDIA_MARKER}${text}`, [png]);
      // mtmd wraps the image in "<|vision_start|>" / "<|vision_end|>" (text, byte by byte here).
      expect(chunks).toEqual([
        { type: 'text', nTokens: 16, nPos: 16 },
        { type: 'image', nTokens: 16, nPos: 4, nx: 4, ny: 4 },
        { type: 'text', nTokens: 14 + 8, nPos: 14 + 8 },
      ]);
      await session.encodeImage(1);
      mtmdImage = session.imageEmbedding(1);
      const first = await session.prefill();
      positions = first.positions;
      llama = [first.token];
      for (let i = 1; i < 6; i++) llama.push(await session.step());
    } finally {
      session.close();
    }
    // HF's rule: the image's tokens at (s, s + row, s + col) from s = 16, the text after it from s + max(4, 4) = 20.
    const segments: PromptSegment[] = [
      { kind: 'text', tokens: 16 },
      { kind: 'image', gridT: 1, gridH: 4, gridW: 4 },
      { kind: 'text', tokens: 22 },
    ];
    expect(positions).toBe(mropePositions(segments).next);
    expect(positions).toBe(16 + 4 + 22);

    // The ONNX decoder on the same inputs: the text's embeddings, mtmd's image rows (merger output)
    // and its DeepStack levels at the image rows, M-RoPE ids as HF computes them.
    const driver = await OnnxCommunityDriver.open(p.onnx);
    try {
      const level = (k: number) => mtmdLevel({ embd: hidden * levels, tokens: 16, data: mtmdImage }, hidden, levels, k).data;
      const before = await driver.embed(byteIds('<|vision_start|>'));
      const after = await driver.embed(byteIds(`<|vision_end|>${text}`));
      const prompt = new Float32Array(before.length + 16 * hidden + after.length);
      prompt.set(before);
      prompt.set(level(0), before.length);
      prompt.set(after, before.length + 16 * hidden);
      const stacked = new Float32Array((levels - 1) * 16 * hidden);
      for (let k = 1; k < levels; k++) stacked.set(level(k), (k - 1) * 16 * hidden);
      const rows = Array.from({ length: 16 }, (_, i) => 16 + i);
      const ort = await ortGreedy(driver, prompt, segments, { rows, features: stacked }, llama.length);
      expect(llama).toEqual(ort);
      // The check can fail: without the DeepStack levels, or with the image on 16 sequential
      // positions (1-D RoPE), the ONNX decoder continues differently.
      const noDeepstack = await ortGreedy(driver, prompt, segments, { rows, features: new Float32Array(stacked.length) }, llama.length);
      const sequential: PromptSegment[] = [{ kind: 'text', tokens: 16 + 16 + 22 }];
      const flat = await ortGreedy(driver, prompt, sequential, { rows, features: stacked }, llama.length);
      expect(noDeepstack).not.toEqual(llama);
      expect(flat).not.toEqual(llama);
    } finally {
      await driver.release();
    }
  });

  it('text only: llama.cpp gives the ONNX build\'s greedy tokens at fp32 (qwen3vl: QK-norm, interleaved M-RoPE with equal positions)', async () => {
    const suite = (runner: 'ort' | 'llamacpp'): Suite => ({ name: 'qwen3vl-text', model: { zoo: MODEL, scale: 'tiny', seed: SEED }, target: 'local', runner, defaults: { warmup: 0, iterations: 1, outputTokens: 6 }, matrix: {} });
    const llama = await runOnce(suite('llamacpp'), { prefill: 24, precision: 'fp32' }, llamaCppRunner);
    const ort = await runOnce(suite('ort'), { prefill: 24, precision: 'fp32' }, ortRunner);
    expect(llama.rec.outputTokenIds).toHaveLength(6);
    expect(llama.rec.outputTokenIds).toEqual(ort.rec.outputTokenIds);
  });
});

describe('Qwen3-VL image cell on the llamacpp runner (tiny)', () => {
  it('runs end to end with the ORT runner\'s four phases; both token counts and the reference\'s (which upscales the frame to 64 tokens) are in the cell', async () => {
    const suite = (runner: 'ort' | 'llamacpp'): Suite => ({ name: 'qwen3vl-image', model: { zoo: MODEL, scale: 'tiny', seed: SEED }, target: 'local', runner, defaults: { warmup: 0, iterations: 1, outputTokens: 3 }, matrix: {} });
    const l = await runOnce(suite('llamacpp'), { images: 2, prefill: 8, precision: 'int8' }, llamaCppRunner);
    const o = await runOnce(suite('ort'), { images: 2, prefill: 8, precision: 'int8' }, ortRunner);
    const phases = l.rec.events.filter((e) => e.kind === 'phase');
    expect(phases.map((e) => (e.kind === 'phase' ? e.phase : ''))).toEqual(['preprocess', 'image_encode', 'prefill', 'decode']);
    for (const e of phases) if (e.kind === 'phase') expect(e.endMs).toBeGreaterThan(e.startMs);
    // One mtmd_encode_chunk per image, 16 tokens each; the ORT cell encodes the same 16 per frame.
    const encodes = l.rec.events.filter((e) => e.kind === 'subgraph' && e.graph === 'mtmd_encode_chunk');
    expect(encodes.map((e) => (e.kind === 'subgraph' ? e.items : 0))).toEqual([16, 16]);
    expect([l.rec.imageTokens, o.rec.imageTokens]).toEqual([32, 32]);
    expect(l.rec.outputTokens).toBe(3);
    // 8 text tokens, 2 x 16 image tokens, 2 x 30 wrapper tokens ("<|vision_start|>" "<|vision_end|>" byte by byte).
    expect(l.rec.promptTokens).toBe(8 + 32 + 60);
    // Positions evaluated: each image takes max(4, 4) = 4 M-RoPE positions for its 16 tokens.
    expect(l.rec.reported?.['positions']).toBe(8 + 2 * 4 + 60);
    expect(l.settings['mmprojProjector']).toBe('qwen3vl_merger');
    expect(l.settings['mmprojDiffersFromOnnx']).toBeUndefined();
    expect(l.settings['mmprojType']).toBe('F16');
    expect(l.settings['preprocessFamily']).toBe('qwen3-vl');
    expect([l.settings['imageTokensMtmd'], l.settings['imageTokensReference'], l.settings['imageTokensOrtCell']]).toEqual([16, 64, 16]);
    expect(l.settings['imagePreprocessing']).toBe(
      "mtmd (llama.cpp): smart resize to multiples of 32 px within 8-4096 tokens, 128x128 -> 128x128, 16 tokens per frame; reference (smart_resize 128x128 -> 256x256 (8x8 tokens, max_pixels 16777216, min_pixels 65536)): 64 tokens per frame: DIFFERS from the reference by -48 tokens per frame; the ort runner's image cell (no resolution axis) encodes each frame as one tile: 16 tokens",
    );
  });
});
