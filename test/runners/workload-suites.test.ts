/**
 * The shipped resolution suite decodes the project's own JPEGs at each resolution; the shipped
 * video suite reproduces the seed's video row (Axera table: 8 images, 2176 prompt
 * tokens) with the full model's geometry, and its cells run through the ORT runner (at the
 * zoo's tiny scale, same structure, so the test takes seconds).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createClock } from '../../core/clock.ts';
import { expandMatrix } from '../../core/matrix.ts';
import { loadSuite } from '../../harness/suite-loader.ts';
import { getDescriptor } from '../../models/zoo.ts';
import { videoPlan } from '../../models/preprocess/plan.ts';
import { parseResolution } from '../../models/preprocess/resolution.ts';
import { ortRunner } from '../../runners/ort/index.ts';

describe('suites/internvl-video-cpu.yaml', () => {
  const { suite } = loadSuite('internvl-video-cpu');
  const cells = expandMatrix(suite.matrix);

  it('its frames=8 cell is the Axera video row: 8 x 256 + 128 = 2176 prompt tokens', () => {
    const d = getDescriptor('internvl2_5-1b', 'full');
    const eight = cells.find((c) => c.params['frames'] === 8)!;
    const plan = videoPlan('internvl', 8, parseResolution(eight.params['resolution'], 'test'), { tileSize: d.vision.imageSize, tokensPerTile: d.imageTokensPerTile });
    expect(Number(eight.params['prefill']) + plan.tokens).toBe(2176);
    expect(plan.tiles).toBe(8);
  });

  it('runs its cells through the ORT runner (tiny scale) with the frames as encoder runs', async () => {
    const tiny = { ...suite, model: { zoo: 'internvl2_5-1b', scale: 'tiny' as const, layout: 'onnx-community' as const, seed: 1 }, defaults: { ...suite.defaults, outputTokens: 2 } };
    const eight = cells.find((c) => c.params['frames'] === 8)!;
    const prepared = await ortRunner.prepare({ ...eight, params: { ...eight.params, precision: 'fp32' } }, tiny, { clock: createClock(), threads: 1, log: () => {} });
    try {
      const rec = await prepared.runIteration(0, false);
      expect(rec.error).toBeUndefined();
      // tiny tiles are 56 px -> 4 tokens: 8 frames x 4 + 128 text tokens
      expect([rec.frames, rec.visionTiles, rec.promptTokens]).toEqual([8, 8, 128 + 32]);
      expect(prepared.settings['frameIndices']).toBe('18,55,93,130,168,205,242,280');
      expect(prepared.settings['resolution']).toBe('1920x1080');
    } finally {
      await prepared.close();
    }
  });
});

describe('assets/images and suites/internvl-resolution-cpu.yaml', () => {
  it('ships JPEGs at 720p, 1080p and 4K, under 3 MB in all', async () => {
    const dir = join(import.meta.dirname, '..', '..', 'assets', 'images');
    const files = readdirSync(dir).filter((f) => f.endsWith('.jpg'));
    const sizes = await Promise.all(files.map(async (f) => {
      const m = await sharp(join(dir, f)).metadata();
      return `${m.width}x${m.height}`;
    }));
    expect(sizes).toEqual(expect.arrayContaining(['1280x720', '1920x1080', '3840x2160']));
    expect(files.reduce((n, f) => n + statSync(join(dir, f)).size, 0)).toBeLessThan(3 * 1024 * 1024);
  });

  it('times the decode of a real JPEG at the cell resolution and tiles it', async () => {
    const { suite } = loadSuite('internvl-resolution-cpu');
    const tiny = { ...suite, model: { zoo: 'internvl2_5-1b', scale: 'tiny' as const, layout: 'onnx-community' as const, seed: 1 }, defaults: { ...suite.defaults, outputTokens: 2 } };
    const cell = expandMatrix(suite.matrix).find((c) => c.params['resolution'] === '4k')!;
    const prepared = await ortRunner.prepare({ ...cell, params: { ...cell.params, precision: 'fp32' } }, tiny, { clock: createClock(), threads: 1, log: () => {} });
    try {
      const rec = await prepared.runIteration(0, false);
      expect(rec.error).toBeUndefined();
      const decodes = rec.events.filter((e) => e.kind === 'subgraph' && e.graph === 'image_decode' && e.phase === 'preprocess');
      expect(decodes).toHaveLength(1);
      // 3840x2160 -> 4x2 grid + thumbnail; tiny tiles give 4 tokens each
      expect([rec.visionTiles, rec.imageTokens]).toEqual([9, 36]);
      expect(String(prepared.settings['imageSource'])).toMatch(/^4 file\(s\): street-1024x768\.jpg/);
    } finally {
      await prepared.close();
    }
  });
});
