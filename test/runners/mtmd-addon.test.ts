/**
 * The suite's mtmd addon (runners/llamacpp/mtmd-native/addon.cc) on the zoo's tiny GGUF and
 * mmproj: what each call returns, M-RoPE chunk geometry, and the errors a misuse gets (never a
 * crash). Real llama.cpp sessions; the addon is built by the test setup when missing.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { GGUF_FILE_SESSION, GGUF_MMPROJ_SESSION } from '../../models/gguf/llm.ts';
import { ensureModel } from '../../models/zoo.ts';
import { MEDIA_MARKER } from '../../runners/llamacpp/image-pipeline.ts';
import { loadMtmdAddon } from '../../runners/llamacpp/mtmd-native/addon.ts';
import { resolveLlamaLibrary } from '../../runners/llamacpp/mtmd-native/library.ts';
import { writeFramePng } from './helpers/mtmd-embeddings.ts';

const tmp = tempDir('mtmd-addon-test-');
const addon = async () => (await loadMtmdAddon(resolveLlamaLibrary('auto'))).addon;

async function tinySession(model: string) {
  const gguf = await ensureModel({ model, scale: 'tiny', precision: 'fp32', layout: 'gguf', seed: 5 });
  const png = join(tmp, `${model}.png`);
  await writeFramePng(png, gguf.descriptor.vision.imageSize, 3);
  const session = await (await addon()).open({ model: gguf.files[GGUF_FILE_SESSION]!, mmproj: gguf.files[GGUF_MMPROJ_SESSION]!, nCtx: 256, nBatch: 256, nThreads: 1 });
  return { session, png, d: gguf.descriptor };
}

describe('mtmd addon', () => {
  it('prepare, encode, prefill and step: chunk counts, positions, greedy tokens, llama.cpp counters', async () => {
    const { session, png, d } = await tinySession('internvl2_5-1b');
    try {
      expect(session.info()).toMatchObject({ nCtx: 256, nBatch: 256, nEmbdInp: d.llm.hidden, mrope: false, vision: true, marker: MEDIA_MARKER });
      const chunks = await session.prepare(`${MEDIA_MARKER}abc`, [png]);
      const image = chunks.findIndex((c) => c.type === 'image');
      expect(chunks[image]).toEqual({ type: 'image', nTokens: d.imageTokensPerTile, nPos: d.imageTokensPerTile });
      const total = chunks.reduce((n, c) => n + c.nTokens, 0);
      // Misuse is an error, not a crash: prefill before the image is encoded, embeddings of a text chunk.
      await expect(session.prefill()).rejects.toThrow(`prefill: image chunk ${image} was not encoded`);
      expect(() => session.imageEmbedding(image)).toThrow('that image chunk is not encoded');
      expect(() => session.imageEmbedding(image === 0 ? 1 : 0)).toThrow(/is not an image/);
      await session.encodeImage(image);
      expect(session.imageEmbedding(image)).toHaveLength(d.imageTokensPerTile * d.llm.hidden);
      const first = await session.prefill();
      expect(first.positions).toBe(total);
      // A second prefill without reset() is refused (the KV memory holds the prompt).
      await expect(session.prefill()).rejects.toThrow(`the KV memory already holds ${total} positions`);
      const tokens = [first.token, await session.step(), await session.step()];
      expect(session.info().nPast).toBe(total + 2);
      const perf = session.perf();
      expect(perf.evalTokens).toBe(2);
      expect(perf.promptEvalTokens).toBe(total);
      // Reset: the same request again gives the same greedy tokens.
      session.reset();
      // Counters zeroed (llama.cpp reports its token counts as at least 1, so the times say it).
      expect(session.perf()).toMatchObject({ evalMs: 0, promptEvalMs: 0 });
      await session.prepare(`${MEDIA_MARKER}abc`, [png]);
      await session.encodeImage(image);
      const again = await session.prefill();
      expect([again.token, await session.step(), await session.step()]).toEqual(tokens);
    } finally {
      session.close();
    }
  });

  it('refuses overlapping calls, a marker count that does not match the images, and a closed session', async () => {
    const { session, png } = await tinySession('internvl2_5-1b');
    const running = session.prepare(`${MEDIA_MARKER}x`, [png]);
    expect(() => session.prepare('y', [])).toThrow('another call is still running');
    await running;
    await expect(session.prepare(`${MEDIA_MARKER}${MEDIA_MARKER}x`, [png])).rejects.toThrow(
      /^mtmd_tokenize failed \(\d\) \(llama\.cpp log: .*number of media markers in text \(2\) exceeds number of bitmaps \(1\)\)$/,
    );
    await expect(session.prepare(`${MEDIA_MARKER}x`, [join(tmp, 'missing.png')])).rejects.toThrow(/could not load the image .*missing\.png/);
    session.close();
    expect(() => session.reset()).toThrow('mtmd session is closed');
  });

  it('M-RoPE (Qwen2-VL): an image chunk takes fewer positions than tokens, with its token grid', async () => {
    const { session, png } = await tinySession('qwen2-vl-2b');
    try {
      expect(session.info().mrope).toBe(true);
      const image = (await session.prepare(`${MEDIA_MARKER}x`, [png])).find((c) => c.type === 'image')!;
      // The 56 px frame upscaled by mtmd to 84 px: a 3x3 grid, 9 tokens on 3 positions.
      expect(image).toEqual({ type: 'image', nTokens: 9, nPos: 3, nx: 3, ny: 3 });
    } finally {
      session.close();
    }
  });

  it('a model file that does not load: the error carries llama.cpp\'s reason', async () => {
    const a = await addon();
    await expect(a.open({ model: join(tmp, 'none.gguf'), mmproj: join(tmp, 'none-mmproj.gguf'), nCtx: 64, nBatch: 64, nThreads: 1 })).rejects.toThrow(
      /^llama\.cpp could not load the model .*none\.gguf \(llama\.cpp log: gguf_init_from_file: failed to open GGUF file/,
    );
  });
});
