/**
 * Preprocessing plans against values worked out by hand from the reference algorithms
 * (InternVL dynamic_preprocess, transformers Qwen2-VL smart_resize and SmolVLM split_image).
 * The arithmetic for each case is in the comment beside it.
 */
import { describe, expect, it } from 'vitest';
import { closestGrid, internvlTiling, targetGrids } from '../../models/preprocess/internvl.ts';
import { imagePlan, sampleFrames, videoPlan } from '../../models/preprocess/plan.ts';
import { smartResize } from '../../models/preprocess/qwen2-vl.ts';
import { parseResolution, tryParseResolution } from '../../models/preprocess/resolution.ts';
import { roundHalfEven } from '../../models/preprocess/rounding.ts';
import { smolvlmSplit } from '../../models/preprocess/smolvlm.ts';

const INTERNVL = { tileSize: 448, tokensPerTile: 256 };
const SMOLVLM = { tileSize: 512, tokensPerTile: 64 };
const QWEN = { tileSize: 448, tokensPerTile: 256, factor: 28 };
const res = (width: number, height: number) => ({ width, height });

describe('rounding as Python does it', () => {
  it('rounds halves to even, unlike Math.round', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, 4, 0, 2, 3]);
  });
});

describe('InternVL dynamic_preprocess', () => {
  it.each([
    // aspect 1: (1,1) diff 0 first; (2,2) ties but 448² = 200704 is not > 0.5*448²*4 -> 1 tile, no thumbnail
    [448, 448, 1, 1, 1],
    // aspect 1.778: closest ratio 2 (diff .222; 3/2 has .278); (2,1) then (4,2) ties and
    // 921600 > 0.5*448²*8 = 802816 -> 4x2 + thumbnail = 9 tiles
    [1280, 720, 4, 2, 9],
    [1920, 1080, 4, 2, 9],
    [3840, 2160, 4, 2, 9],
    // portrait 720x1280: ratio 0.5 -> (1,2) then (2,4) -> 2x4 + thumbnail
    [720, 1280, 2, 4, 9],
    // 800x600: 4/3 exactly at (4,3), 12 tiles <= max_num -> 13 with thumbnail
    [800, 600, 4, 3, 13],
    [600, 800, 3, 4, 13],
    // tie rule at the threshold: aspect 2, area 1280*640 = 819200 > 802816 -> (4,2) ...
    [1280, 640, 4, 2, 9],
    // ... but 1266*633 = 801378 is not -> stays (2,1) + thumbnail = 3 tiles
    [1266, 633, 2, 1, 3],
    [500, 250, 2, 1, 3],
  ])('%ix%i -> %ix%i grid, %i tiles', (w, h, cols, rows, tiles) => {
    const t = internvlTiling(w, h);
    expect([t.cols, t.rows, t.tiles]).toEqual([cols, rows, tiles]);
    expect([t.resizedWidth, t.resizedHeight]).toEqual([cols * 448, rows * 448]);
    expect(imagePlan('internvl', res(w, h), INTERNVL).tokens).toBe(tiles * 256);
  });

  it('max_num bounds the grid: 1920x1080 with maxTiles 6 -> 2x1 + thumbnail = 768 tokens', () => {
    // ratios <= 6 tiles: 2 (diff .222) beats 3/2 (.278); (4,2) has 8 tiles, not allowed
    const p = imagePlan('internvl', res(1920, 1080), INTERNVL, { maxTiles: 6 });
    expect([p.tiles, p.tokens]).toEqual([3, 768]);
    expect(p.detail).toContain('2x1 grid + thumbnail');
  });

  it('with min_num 1, the order of equal-count grids never decides (so Python set order cannot matter)', () => {
    for (let max = 1; max <= 64; max++) {
      const grids = targetGrids(1, max);
      // ties can only happen at the midpoint of two ratios; try every equal-count pair's midpoint
      for (const a of grids) {
        for (const b of grids) {
          if (a[0] * a[1] !== b[0] * b[1] || a === b) continue;
          const mid = (a[0] / a[1] + b[0] / b[1]) / 2;
          const reversed = [...grids].sort((x, y) => x[0] * x[1] - y[0] * y[1] || y[0] - x[0]);
          for (const area of [1, 1e9]) {
            const w = Math.sqrt(area * mid);
            const h = w / mid;
            expect(closestGrid(mid, reversed, w, h, 448)).toEqual(closestGrid(mid, grids, w, h, 448));
          }
        }
      }
    }
  });
});

describe('Qwen2-VL smart_resize', () => {
  it.each([
    // 448/28 = 16 exactly -> 448x448, 16*16 = 256 tokens
    [448, 448, 448, 448, 256],
    // 1280/28 = 45.71 -> 46 -> 1288; 720/28 = 25.71 -> 26 -> 728; 937664 px <= 1003520 -> 46*26
    [1280, 720, 1288, 728, 1196],
    // rounded 1932x1092 = 2109744 px > max; beta = sqrt(2073600/1003520) = 1.43747;
    // floor(1080/1.43747/28) = floor(26.83) = 26 -> 728; floor(1920/1.43747/28) = 47 -> 1316
    [1920, 1080, 1316, 728, 1222],
    // same aspect, beta = sqrt(8294400/1003520) = 2.87494 -> same grid
    [3840, 2160, 1316, 728, 1222],
    // 800/28 = 28.57 -> 29 -> 812; 600/28 = 21.43 -> 21 -> 588; 29*21
    [800, 600, 812, 588, 609],
    [600, 800, 588, 812, 609],
    // 70/28 = 2.5 exactly: Python rounds to 2 (JS Math.round would give 3); 56*56 = min_pixels, not below
    [70, 70, 56, 56, 4],
  ])('%ix%i -> %ix%i, %i tokens', (w, h, rw, rh, tokens) => {
    expect(smartResize(h, w)).toEqual([rh, rw]);
    const p = imagePlan('qwen2-vl', res(w, h), QWEN);
    expect([p.resized.width, p.resized.height, p.tokens, p.tiles]).toEqual([rw, rh, tokens, 1]);
  });

  it('maxPixels lowers the grid: 1920x1080 at 640*640 px -> beta 2.25 -> 840x476, 30*17 = 510 tokens', () => {
    // floor(1080/2.25/28) = floor(17.14) = 17; floor(1920/2.25/28) = floor(30.48) = 30
    const p = imagePlan('qwen2-vl', res(1920, 1080), QWEN, { maxPixels: 640 * 640 });
    expect([p.resized.width, p.resized.height, p.tokens]).toEqual([840, 476, 510]);
  });

  it('refuses what the reference refuses', () => {
    expect(() => smartResize(5, 100)).toThrow(/at least 10 px/);
    expect(() => smartResize(10, 2500)).toThrow(/aspect ratio/);
  });
});

describe('SmolVLM image splitting', () => {
  it.each([
    // longest edge -> 2048: 2048x1152; to tile multiples: 2048 x ceil(1152/512)*512 = 1536 -> 4x3 + global
    [1280, 720, 4, 3, 13],
    [1920, 1080, 4, 3, 13],
    [3840, 2160, 4, 3, 13],
    // upscaled to 2048x2048 -> 4x4 + global
    [448, 448, 4, 4, 17],
    // 2048 x int(2048/1.333) = 1536 -> 4x3 + global
    [800, 600, 4, 3, 13],
    [600, 800, 3, 4, 13],
    // 2048x1024 -> 4x2 + global
    [512, 256, 4, 2, 9],
  ])('%ix%i -> %i cols x %i rows, %i tiles', (w, h, cols, rows, tiles) => {
    const s = smolvlmSplit(w, h);
    expect([s.cols, s.rows, s.tiles]).toEqual([cols, rows, tiles]);
    expect(imagePlan('smolvlm', res(w, h), SMOLVLM).tokens).toBe(tiles * 64);
  });

  it('an image that fits one tile is not split', () => {
    const s = smolvlmSplit(300, 200, { longestEdge: 512, tileSize: 512 });
    expect([s.rows, s.cols, s.tiles]).toEqual([0, 0, 1]);
  });
});

describe('video', () => {
  it('InternVL: one 448 tile per frame -> the Axera 8-frame row is 8*256 = 2048 image tokens', () => {
    const p = videoPlan('internvl', 8, res(1920, 1080), INTERNVL);
    expect([p.tiles, p.tokens, p.frames]).toEqual([8, 2048, 8]);
  });

  it('Qwen2-VL: ceil(frames/2) temporal patches at the video processor\'s smart_resize', () => {
    // video max_pixels 28*28*768 = 602112; 1280x720: beta = sqrt(921600/602112) = 1.23718;
    // floor(720/1.23718/28) = 20 -> 560, floor(1280/1.23718/28) = 36 -> 1008; 20*36 = 720 per patch
    expect(videoPlan('qwen2-vl', 8, res(1280, 720), QWEN).tokens).toBe(4 * 720);
    expect(videoPlan('qwen2-vl', 7, res(1280, 720), QWEN).tokens).toBe(4 * 720);
    expect(videoPlan('qwen2-vl', 1, res(1280, 720), QWEN).tokens).toBe(720);
    // 448x448 = 200704 px lies inside [100352, 602112]: 16*16 per patch
    expect(videoPlan('qwen2-vl', 8, res(448, 448), QWEN).tokens).toBe(4 * 256);
  });

  it('samples segment middles as InternVL load_video does', () => {
    // 300 frames, 8 segments: seg = 299/8 = 37.375; int(18.6875 + round(37.375 k)), round(149.5) = 150
    expect(sampleFrames('internvl', 300, 8).indices).toEqual([18, 55, 93, 130, 168, 205, 242, 280]);
    // Qwen2-VL: arange(0, 300, 37.5).int()
    expect(sampleFrames('qwen2-vl', 300, 8).indices).toEqual([0, 37, 75, 112, 150, 187, 225, 262]);
    expect(() => sampleFrames('internvl', 4, 8)).toThrow(/cannot sample 8 frames from a clip of 4/);
  });
});

describe('resolution values', () => {
  it('parses WxH and presets', () => {
    expect(tryParseResolution('1280x720')).toEqual({ width: 1280, height: 720 });
    expect(tryParseResolution('4K')).toEqual({ width: 3840, height: 2160 });
    expect(tryParseResolution('1080p')).toEqual({ width: 1920, height: 1080 });
    for (const bad of ['1280*720', '0x10', '99999x1', 448, '720', '']) expect(tryParseResolution(bad)).toBeNull();
  });
  it('names the field and the allowed forms', () => {
    expect(() => parseResolution('big', 'matrix.resolution[1]')).toThrow(/matrix\.resolution\[1\]: "big" is not a resolution; expected WIDTHxHEIGHT .*720p, 1080p.*4k/);
  });
});
