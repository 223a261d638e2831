/**
 * The zoo's mmproj GGUF for Qwen2-VL, Qwen2.5-VL and SmolVLM (Idefics3) in llama.cpp's mtmd
 * (@fugood/llama.node's prebuilt binary) against the ONNX vision encoder of the same seeded
 * weights at F32, and their image cells on the llamacpp runner. Tiny scale only: no native build.
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { VlmDescriptor } from '../../models/descriptors.ts';
import { GGUF_FILE_SESSION, GGUF_MMPROJ_SESSION, buildGguf } from '../../models/gguf/llm.ts';
import { mmprojSupport } from '../../models/gguf/mmproj.ts';
import { DEFAULT_LINEAR_OPTIONS } from '../../models/layers/linear.ts';
import { buildOnnxCommunity } from '../../models/layouts/onnx-community.ts';
import { ensureModel, getDescriptor } from '../../models/zoo.ts';
import { cosine, expectAgreement, mtmdEmbeddings, ortEmbeddings, writeFramePng } from './helpers/mtmd-embeddings.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mtmd-families-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const SEED = 99;

async function zooPair(model: string) {
  const gguf = await ensureModel({ model, scale: 'tiny', precision: 'fp32', layout: 'gguf', seed: SEED });
  const onnx = await ensureModel({ model, scale: 'tiny', precision: 'fp32', layout: 'onnx-community', seed: SEED });
  return { d: gguf.descriptor, llm: gguf.files[GGUF_FILE_SESSION]!, mmproj: gguf.files[GGUF_MMPROJ_SESSION]!, vision: onnx.files['vision_encoder']! };
}

/** Both layouts of a descriptor the zoo does not list, written straight by the layout builders. */
function builtPair(d: VlmDescriptor) {
  const build = (name: string) => {
    const dir = join(tmp, `${d.id}-${name}`);
    mkdirSync(dir);
    return { dir, descriptor: d, lin: { ...DEFAULT_LINEAR_OPTIONS, precision: 'fp32' as const, seed: SEED }, lmHead: 'separate' as const, log: () => {} };
  };
  const gguf = buildGguf(build('gguf'));
  const onnx = buildOnnxCommunity(build('onnx'));
  return { d, llm: gguf.files[GGUF_FILE_SESSION]!, mmproj: gguf.files[GGUF_MMPROJ_SESSION]!, vision: onnx.files['vision_encoder']! };
}

describe('mmproj of Qwen2-VL, Qwen2.5-VL and SmolVLM: F32 image embeddings of mtmd and ONNX Runtime agree', () => {
  it('Qwen2-VL (qwen2vl_merger): the same 56 px frame, mtmd told to keep its 4 tokens (--image-min-tokens 4)', async () => {
    const p = await zooPair('qwen2-vl-2b');
    const png = join(tmp, 'qwen2.png');
    await writeFramePng(png, p.d.vision.imageSize, 7);
    const tiles = await mtmdEmbeddings(p.llm, p.mmproj, png, 4);
    expect(tiles.map((t) => t.tokens)).toEqual([p.d.imageTokensPerTile]);
    expectAgreement(tiles[0]!, await ortEmbeddings(p.vision, p.d, png), p.d.llm.hidden);
  });

  it('Qwen2.5-VL (qwen2.5vl_merger): windows of the 112 px mtmd uses, a windowed and a full block; the zoo\'s tiny 56 px windows are labelled as differing', async () => {
    const tiny = getDescriptor('qwen2_5-vl-3b', 'tiny');
    expect(mmprojSupport(tiny)).toEqual({ projector: 'qwen2.5vl_merger', differs: expect.stringContaining('112 px windows') });
    expect(mmprojSupport(getDescriptor('qwen2_5-vl-3b', 'full'))).toEqual({ projector: 'qwen2.5vl_merger' });
    // The tiny structure at 224 px: 16x16 patches, 2x2 windows of 112 px (4x4 merge units each).
    const d: VlmDescriptor = { ...tiny, id: 'qwen2_5-vl-3b-w112', vision: { ...tiny.vision, imageSize: 224, windowSize: 112 }, imageTokensPerTile: 64 };
    expect(mmprojSupport(d)).toEqual({ projector: 'qwen2.5vl_merger' });
    const p = builtPair(d);
    const png = join(tmp, 'qwen25.png');
    await writeFramePng(png, 224, 8);
    const tiles = await mtmdEmbeddings(p.llm, p.mmproj, png);
    expect(tiles.map((t) => t.tokens)).toEqual([64]);
    expectAgreement(tiles[0]!, await ortEmbeddings(p.vision, d, png), d.llm.hidden);

    // The zoo's tiny file: written for timing (same work), and its embeddings do differ.
    const z = await zooPair('qwen2_5-vl-3b');
    const zpng = join(tmp, 'qwen25-zoo.png');
    await writeFramePng(zpng, z.d.vision.imageSize, 8);
    const [zt] = await mtmdEmbeddings(z.llm, z.mmproj, zpng);
    const zf = await ortEmbeddings(z.vision, z.d, zpng);
    expect(zt!.tokens).toBe(z.d.imageTokensPerTile);
    expect(cosine(zt!.token0, [...zf.subarray(0, 16), ...zf.subarray(z.d.llm.hidden - 16, z.d.llm.hidden)])).toBeLessThan(0.99);
  });

  it('SmolVLM (idefics3): mtmd splits the frame into 4x4 crops + the global image as the reference does; the global image is the frame itself', async () => {
    const p = await zooPair('smolvlm-256m');
    const png = join(tmp, 'smolvlm.png');
    await writeFramePng(png, p.d.vision.imageSize, 9);
    const tiles = await mtmdEmbeddings(p.llm, p.mmproj, png);
    expect(tiles.map((t) => t.tokens)).toEqual(new Array(17).fill(p.d.imageTokensPerTile));
    // mtmd encodes the crops first and the global image (the overview, last) at the tile size: a copy of the frame.
    expectAgreement(tiles[16]!, await ortEmbeddings(p.vision, p.d, png), p.d.llm.hidden);
  });
});
