/**
 * The zoo's mmproj GGUF for Qwen2-VL, Qwen2.5-VL and SmolVLM (Idefics3) in llama.cpp's mtmd
 * (the suite's mtmd addon on node-llama-cpp's libraries, built once per machine by the test
 * setup) against the ONNX vision encoder of the same seeded weights at F32, every token compared,
 * and their image cells on the llamacpp runner. Tiny scale only.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import type { Suite } from '../../core/suite-types.ts';
import type { VlmDescriptor } from '../../models/descriptors.ts';
import { GGUF_FILE_SESSION, GGUF_MMPROJ_SESSION } from '../../models/gguf/llm.ts';
import { mmprojSupport } from '../../models/gguf/mmproj.ts';
import { ensureModel, getDescriptor } from '../../models/zoo.ts';
import { readResult } from '../../harness/result-store.ts';
import { runSuite } from '../../harness/run-suite.ts';
import { buildReport } from '../../reporters/build-report.ts';
import { renderMarkdown } from '../../reporters/render/markdown.ts';
import { llamaCppRunner } from '../../runners/llamacpp/index.ts';
import { ortRunner } from '../../runners/ort/index.ts';
import { runOnce } from '../helpers/ort-cell.ts';
import { loaded, outDir, quietProgress, removeOutDirs } from '../targets/helpers/run.ts';
import { buildLayoutPair, expectAgreement, minTokenCosine, mtmdEmbeddings, ortEmbeddings, writeFramePng } from './helpers/mtmd-embeddings.ts';

const tmp = tempDir('mtmd-families-');
afterAll(() => removeOutDirs());
const SEED = 99;

async function zooPair(model: string) {
  const gguf = await ensureModel({ model, scale: 'tiny', precision: 'fp32', layout: 'gguf', seed: SEED });
  const onnx = await ensureModel({ model, scale: 'tiny', precision: 'fp32', layout: 'onnx-community', seed: SEED });
  return { d: gguf.descriptor, llm: gguf.files[GGUF_FILE_SESSION]!, mmproj: gguf.files[GGUF_MMPROJ_SESSION]!, vision: onnx.files['vision_encoder']! };
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
    const p = buildLayoutPair(tmp, d, SEED);
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
    expect(minTokenCosine(zt!.data, zf, z.d.llm.hidden).min).toBeLessThan(0.99);
  });

  it('SmolVLM (idefics3): mtmd splits the frame into 4x4 crops + the global image as the reference does; the global image is the frame resampled', async () => {
    const p = await zooPair('smolvlm-256m');
    const png = join(tmp, 'smolvlm.png');
    await writeFramePng(png, p.d.vision.imageSize, 9);
    const tiles = await mtmdEmbeddings(p.llm, p.mmproj, png);
    expect(tiles.map((t) => t.tokens)).toEqual(new Array(17).fill(p.d.imageTokensPerTile));
    // The global image (the overview) at the tile size: mtmd makes it by resizing the frame's
    // 512 px upscale back down to 128 px (mtmd-image.cpp, idefics3), so its pixels are the frame's
    // after a resampling round trip, not the frame itself: every token's cosine still >= 0.999
    // (0.99935 measured), values within 0.106 of ORT's on the frame (values up to 3.4), so the
    // value check is 0.15 here, against 5e-3 for the families whose frame mtmd encodes as is.
    expectAgreement(tiles[16]!, await ortEmbeddings(p.vision, p.d, png), p.d.llm.hidden, 0.15);
  });
});

/** One measured request of a tiny zoo model's image cell on a runner. */
function oneRequest(runner: 'ort' | 'llamacpp', model: string) {
  const suite: Suite = { name: 'mtmd-families-test', model: { zoo: model, scale: 'tiny', seed: SEED }, target: 'local', runner, defaults: { warmup: 0, iterations: 1, outputTokens: 3 }, matrix: {} };
  return runOnce(suite, { images: 1, prefill: 8, precision: 'int8' }, runner === 'ort' ? ortRunner : llamaCppRunner);
}

describe('image cells of Qwen2-VL, Qwen2.5-VL and SmolVLM on the llamacpp runner: mtmd\'s preprocessing against the reference, both token counts', () => {
  it('Qwen2-VL: mtmd upscales the 56 px frame to its 8-token minimum (9 tokens), the reference keeps 4; the cell says so', async () => {
    const l = await oneRequest('llamacpp', 'qwen2-vl-2b');
    const o = await oneRequest('ort', 'qwen2-vl-2b');
    expect(o.rec.imageTokens).toBe(4);
    expect(l.rec.imageTokens).toBe(9);
    expect(l.rec.visionTiles).toBe(1);
    expect(l.settings['imageTokensMtmd']).toBe(9);
    expect(l.settings['imageTokensReference']).toBe(4);
    expect(l.settings['imageTokensOrtCell']).toBeUndefined();
    expect(l.settings['preprocessFamily']).toBe('qwen2-vl');
    expect(l.settings['imagePreprocessing']).toBe(
      'mtmd (llama.cpp): smart resize to multiples of 28 px within 8-4096 tokens, 56x56 -> 84x84, 9 tokens per frame; reference (smart_resize 56x56 -> 56x56 (2x2 tokens, max_pixels 1003520)): 4 tokens per frame: DIFFERS from the reference by 5 tokens per frame',
    );
    expect(l.settings['mmprojProjector']).toBe('qwen2vl_merger');
    expect(l.settings['mmprojDiffersFromOnnx']).toBeUndefined();
    // mtmd's "<|vision_start|>" "<|vision_end|>" are text: 30 byte-level tokens.
    expect(l.rec.promptTokens).toBe(8 + 9 + 30);
    expect(l.rec.events.filter((e) => e.kind === 'phase').map((e) => (e.kind === 'phase' ? e.phase : ''))).toEqual(['preprocess', 'image_encode', 'prefill', 'decode']);
  });

  it('Qwen2.5-VL: same 16 tokens in both; the cell carries why the zoo\'s tiny file is not the ONNX encoder\'s function', async () => {
    const l = await oneRequest('llamacpp', 'qwen2_5-vl-3b');
    const o = await oneRequest('ort', 'qwen2_5-vl-3b');
    expect([l.rec.imageTokens, o.rec.imageTokens]).toEqual([16, 16]);
    expect(l.settings['imagePreprocessing']).toMatch(/112x112 -> 112x112, 16 tokens per frame; reference .*: 16 tokens per frame: same count$/);
    expect(l.settings['mmprojDiffersFromOnnx']).toMatch(/112 px windows .* 56 px windows/);
  });

  it('SmolVLM: mtmd and the reference split the frame into 16 crops + the global image (68 tokens); the ORT cell encodes one tile (4)', async () => {
    const l = await oneRequest('llamacpp', 'smolvlm-256m');
    const o = await oneRequest('ort', 'smolvlm-256m');
    expect(o.rec.imageTokens).toBe(4);
    expect(l.rec.imageTokens).toBe(68);
    expect(l.rec.visionTiles).toBe(17);
    expect([l.settings['imageTokensMtmd'], l.settings['imageTokensReference'], l.settings['imageTokensOrtCell'], l.settings['visionTilesPerImage']]).toEqual([68, 68, 4, 17]);
    expect(l.settings['imagePreprocessing']).toMatch(
      /^mtmd \(llama\.cpp\): longest edge 512 px, 17 tiles of 128 px \(crops \+ global image\), 68 tokens per frame; reference \(image splitting: 4x4 crops \+ global image \(longest edge 512\)\): 68 tokens per frame: same count; the ort runner's image cell \(no resolution axis\) encodes each frame as one tile: 4 tokens$/,
    );
    // The prompt mtmd builds holds every tile's tokens and its row/column markers, and the context fits it.
    expect(Number(l.settings['contextSize'])).toBeGreaterThanOrEqual(l.rec.promptTokens + 3);
  });

  it('the report shows the llamacpp cell\'s preprocessing next to its measured tokens (Images and video table)', async () => {
    const suite: Suite = {
      name: 'mtmd-families-report',
      model: { zoo: 'qwen2-vl-2b', scale: 'tiny', seed: SEED },
      target: 'local',
      defaults: { warmup: 0, iterations: 1, outputTokens: 2, threads: 1 },
      matrix: { runner: ['ort', 'llamacpp'], images: [1], prefill: [8], precision: ['int8'] },
    };
    const outcome = await runSuite({ suite: loaded(suite), target: 'local', filters: [], outDir: outDir(), runners: { ort: ortRunner, llamacpp: llamaCppRunner }, progress: quietProgress() });
    expect(outcome.failedCells).toBe(0);
    const md = renderMarkdown(buildReport(readResult(outcome.store.file)));
    const section = md.slice(md.indexOf('Images and video'));
    const row = section.split('\n').find((line) => line.includes('llamacpp'));
    expect(row).toBeDefined();
    // Cell, input, tiles 1, image tokens 9 (measured), prompt tokens 8 + 9 + 30, then the note with both counts.
    expect(row).toMatch(/\| 1 image\(s\), encoder tile size \|\s+1 \|\s+9 \|\s+47 \|/);
    expect(row).toMatch(/9 tokens per frame; reference .*4 tokens per frame: DIFFERS from the reference by 5 tokens per frame/);
  });
});
