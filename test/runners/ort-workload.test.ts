/**
 * Resolution, video frames and real images through the ORT runner on real ONNX Runtime sessions
 * (tiny synthetic models: InternVL tiles of 56 px -> 4 tokens, SmolVLM tiles of 128 px -> 4
 * tokens). Tile and token counts are the reference algorithms' (test/models/preprocess.test.ts);
 * here they must reach the encoder calls, the prompt length and the recorded settings.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../core/events.ts';
import type { Suite } from '../../core/suite-types.ts';
import { ortRunner } from '../../runners/ort/index.ts';
import { cell, ctx, runOnce as once } from '../helpers/ort-cell.ts';
import { tempDir } from '../helpers/tmp.ts';

const base = (zoo: string, options?: Suite['options']): Suite => ({
  name: 'workload-test',
  model: { zoo, scale: 'tiny', layout: 'onnx-community', seed: 7 },
  target: 'local',
  runner: 'ort',
  defaults: { warmup: 0, iterations: 1, outputTokens: 3 },
  matrix: { images: [1] },
  ...(options ? { options } : {}),
});

const calls = (rec: IterationRecord, graph: string, phase = 'image_encode') =>
  rec.events.filter((e) => e.kind === 'subgraph' && e.graph === graph && e.phase === phase).length;

describe('ORT runner workloads', () => {
  it('InternVL at 1280x720: 4x2 grid + thumbnail = 9 encoder runs and 9*4 image tokens per image', async () => {
    const { rec, settings } = await once(base('internvl2_5-1b'), { images: 2, prefill: 16, resolution: '1280x720' });
    expect(calls(rec, 'vision_encoder')).toBe(18);
    expect([rec.visionTiles, rec.imageTokens, rec.promptTokens, rec.images]).toEqual([18, 72, 16 + 72, 2]);
    expect(settings).toMatchObject({ resolution: '1280x720', tilesPerImage: '9', imageTokensPerImage: '36', promptTokens: 88, visionEncoderRunsPerRequest: 18, preprocessFamily: 'internvl' });
    expect(String(settings['imagePreprocessing'])).toContain('4x2 grid + thumbnail (max_num 12)');
    // preprocess: per image one resize to the grid and one for the thumbnail, no decode (synthetic pixels)
    expect(calls(rec, 'image_resize', 'preprocess')).toBe(4);
    expect(calls(rec, 'image_decode', 'preprocess')).toBe(0);
  });

  it('maxTiles bounds the grid and is recorded', async () => {
    const { rec, settings } = await once(base('internvl2_5-1b', { maxTiles: 6 }), { images: 1, prefill: 16, resolution: '1080p' });
    expect([rec.visionTiles, rec.imageTokens]).toEqual([3, 12]);
    expect(settings['maxTiles']).toBe(6);
  });

  it('InternVL video: one tile per frame, frames counted as images, sampling recorded', async () => {
    const { rec, settings } = await once(base('internvl2_5-1b'), { images: 0, prefill: 16, frames: 8 });
    expect(calls(rec, 'vision_encoder')).toBe(8);
    expect([rec.images, rec.frames, rec.imageTokens, rec.promptTokens]).toEqual([8, 8, 32, 48]);
    expect(settings['frameIndices']).toBe('18,55,93,130,168,205,242,280');
    expect(String(settings['frameSampling'])).toMatch(/InternVL load_video/);
  });

  it('SmolVLM at 1280x720: 4x3 crops + global image = 13 tiles', async () => {
    const { rec } = await once(base('smolvlm-256m'), { images: 1, prefill: 16, resolution: '720p' });
    expect([calls(rec, 'vision_encoder'), rec.imageTokens]).toEqual([13, 52]);
  });

  it('Qwen2-VL: a resolution the fixed-grid graph cannot run is a clear error', async () => {
    await expect(ortRunner.prepare(cell({ images: 1, prefill: 16, resolution: '1280x720' }), base('qwen2-vl-2b'), ctx)).rejects.toThrow(
      /Qwen2-VL image becomes 1288x728 .*fixed 56x56 grid/,
    );
  });

  describe('real images', () => {
    let dir = '';
    beforeAll(async () => {
      dir = tempDir('bench-images-');
      const raw = Buffer.alloc(640 * 480 * 3);
      for (let i = 0; i < raw.length; i++) raw[i] = (i * 7) % 251;
      await sharp(raw, { raw: { width: 640, height: 480, channels: 3 } }).jpeg().toFile(join(dir, 'a.jpg'));
      await sharp(raw, { raw: { width: 480, height: 640, channels: 3 } }).png().toFile(join(dir, 'b.png'));
    });

    it('decodes each file in the timed preprocess and plans each at its own size', async () => {
      const { rec, settings } = await once(base('internvl2_5-1b', { images: { dir } }), { images: 2, prefill: 16 });
      expect(calls(rec, 'image_decode', 'preprocess')).toBe(2);
      // 640x480 (4:3) -> 4x3 + thumbnail = 13; 480x640 -> 3x4 + thumbnail = 13
      expect([rec.visionTiles, rec.imageTokens]).toEqual([26, 104]);
      expect(String(settings['imageSource'])).toBe('2 file(s): a.jpg, b.png');
    });

    it('at a resolution axis, files are brought to the cell resolution before timing', async () => {
      const { rec, settings } = await once(base('internvl2_5-1b', { images: [join(dir, 'a.jpg')] }), { images: 1, prefill: 16, resolution: '448x448' });
      // With the tiny model's 56 px tiles the tie rule picks 3x3 for a square 448x448 image:
      // 448² > 0.5 * 56² * 9, so (3,3) replaces (1,1) and (2,2) at equal ratio; + thumbnail
      expect([calls(rec, 'image_decode', 'preprocess'), rec.visionTiles, rec.imageTokens]).toEqual([1, 10, 40]);
      expect(settings['resolution']).toBe('448x448');
    });

    it('a missing folder names the option', async () => {
      await expect(ortRunner.prepare(cell({ images: 1, prefill: 16 }), base('internvl2_5-1b', { images: { dir: join(dir, 'nope') } }), ctx)).rejects.toThrow(
        /suite "workload-test": options\.images\.dir: not a folder/,
      );
    });
  });
});

describe('ORT runner: vision and LLM precision apart', () => {
  it('builds the vision encoder at vision_precision and the LLM graphs at llm_precision, and says so', async () => {
    const s = base('internvl2_5-1b');
    const split = await ortRunner.prepare(cell({ images: 1, prefill: 16, vision_precision: 'int4', llm_precision: 'fp32' }), s, ctx);
    const same = await ortRunner.prepare(cell({ images: 1, prefill: 16, precision: 'fp32' }), s, ctx);
    try {
      expect(split.model.precision).toBe('fp32');
      expect(split.model.visionPrecision).toBe('int4');
      expect(same.model.visionPrecision).toBeUndefined();
      // the LLM comes from the fp32 build, the vision encoder from the int4 build
      expect(split.model.hashes!['build']).toBe(same.model.hashes!['build']);
      expect(split.model.hashes!['visionBuild']).toMatch(/^[0-9a-f]{64}$/);
      expect(split.model.hashes!['visionBuild']).not.toBe(same.model.hashes!['build']);
      const visionBytes = (m: typeof split.model) => Object.entries(m.sizes!).filter(([f]) => f.startsWith('vision_encoder')).reduce((n, [, b]) => n + b, 0);
      expect(visionBytes(split.model)).toBeLessThan(visionBytes(same.model));
      const rec = await split.runIteration(0, false);
      expect(rec.error).toBeUndefined();
    } finally {
      await split.close();
      await same.close();
    }
  });
});

describe('ORT runner: Qwen2-VL video', () => {
  it('is refused with the reason, not run as if it were InternVL', async () => {
    await expect(ortRunner.prepare(cell({ images: 0, prefill: 16, frames: 4 }), base('qwen2-vl-2b'), ctx)).rejects.toThrow(
      /Qwen2-VL video .* is planned but not run by the ORT runner: it packs 2 frames per temporal patch/,
    );
  });
});
