/**
 * Makes the project's own test images (assets/images/*.jpg): street-like scenes drawn
 * procedurally (sky gradient, sun, hills, buildings with lit windows, road, sensor noise) at
 * common camera resolutions, so suites can time real JPEG decoding with no download. The
 * drawing is seeded, so re-running gives the same pixels; the JPEG encoder (mozjpeg in sharp)
 * may change bytes across sharp versions.
 *
 *   npm run assets:images        # rewrites assets/images/
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { seededRandom } from '../core/random.ts';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'images');

/** Name, size and seed of each image; 16:9 camera modes and one 4:3 frame. */
export const SHIPPED_IMAGES = [
  { file: 'street-1280x720.jpg', width: 1280, height: 720, seed: 11 },
  { file: 'street-1920x1080.jpg', width: 1920, height: 1080, seed: 12 },
  { file: 'street-3840x2160.jpg', width: 3840, height: 2160, seed: 13 },
  { file: 'street-1024x768.jpg', width: 1024, height: 768, seed: 14 },
] as const;

/**
 * The board suites' example images (suites/internvl-orin-nx.yaml imageFiles): one 448x448 tile
 * each, InternVL's encoder size, in their own folder so suites reading all of assets/images keep
 * their workload. Copied to the board's workDir/images/ (docs/boards.md).
 */
const BOARD_OUT = join(dirname(fileURLToPath(import.meta.url)), 'board-images');
export const BOARD_IMAGES = [
  { file: 'test-448-a.jpg', width: 448, height: 448, seed: 21 },
  { file: 'test-448-b.jpg', width: 448, height: 448, seed: 22 },
] as const;

function drawScene(width: number, height: number, seed: number): Buffer {
  const rnd = seededRandom(seed);
  const px = Buffer.alloc(width * height * 3);
  const set = (x: number, y: number, r: number, g: number, b: number) => {
    const i = (y * width + x) * 3;
    px[i] = r;
    px[i + 1] = g;
    px[i + 2] = b;
  };
  const horizon = Math.round(height * (0.55 + 0.1 * rnd()));
  const sun = { x: width * (0.2 + 0.6 * rnd()), y: height * (0.12 + 0.2 * rnd()), r: height * 0.06 };
  // sky and ground
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (y < horizon) {
        const t = y / horizon;
        const d = Math.hypot(x - sun.x, y - sun.y);
        const glow = Math.max(0, 1 - d / (sun.r * 6));
        const inSun = d < sun.r;
        set(x, y, inSun ? 255 : Math.min(255, 70 + 110 * t + 150 * glow), inSun ? 240 : Math.min(255, 120 + 80 * t + 110 * glow), inSun ? 200 : Math.min(255, 200 + 40 * t + 30 * glow));
      } else {
        const t = (y - horizon) / (height - horizon);
        set(x, y, 60 + 40 * t, 90 + 50 * t, 50 + 20 * t);
      }
    }
  }
  // hills
  const f1 = 2 + 4 * rnd();
  const f2 = 7 + 9 * rnd();
  for (let x = 0; x < width; x++) {
    const top = horizon - height * (0.08 + 0.05 * Math.sin((x / width) * f1 * Math.PI) + 0.02 * Math.sin((x / width) * f2 * Math.PI));
    for (let y = Math.max(0, Math.round(top)); y < horizon; y++) set(x, y, 50, 95 + 20 * Math.sin(x / 37), 60);
  }
  // buildings with windows
  let x0 = 0;
  while (x0 < width) {
    const w = Math.round(width * (0.04 + 0.08 * rnd()));
    const h = Math.round(height * (0.15 + 0.3 * rnd()));
    const shade = 70 + Math.round(100 * rnd());
    const tint = [shade, shade - 10 + Math.round(20 * rnd()), shade + Math.round(30 * rnd())];
    const win = Math.max(3, Math.round(w / 8));
    for (let y = horizon - h; y < horizon; y++) {
      for (let x = x0; x < Math.min(width, x0 + w); x++) {
        const wx = (x - x0) % (2 * win);
        const wy = (y - (horizon - h)) % (2 * win);
        const window = wx >= win / 2 && wx < win * 1.5 && wy >= win / 2 && wy < win * 1.5;
        const lit = window && ((x - x0) * 31 + y * 17 + seed) % 7 < 3;
        if (window) set(x, y, lit ? 250 : 40, lit ? 220 : 50, lit ? 140 : 70);
        else set(x, y, tint[0]!, tint[1]!, tint[2]!);
      }
    }
    x0 += w + Math.round(width * 0.01 * rnd());
  }
  // road with lane marks
  const roadTop = horizon + Math.round((height - horizon) * 0.35);
  for (let y = roadTop; y < height; y++) {
    const half = ((y - roadTop) / (height - roadTop)) * width * 0.45 + width * 0.05;
    for (let x = Math.max(0, Math.round(width / 2 - half)); x < Math.min(width, Math.round(width / 2 + half)); x++) {
      const mark = Math.abs(x - width / 2) < 2 + (y - roadTop) / 40 && Math.floor(y / (height / 24)) % 2 === 0;
      set(x, y, mark ? 235 : 80, mark ? 230 : 80, mark ? 220 : 85);
    }
  }
  // sensor noise: a camera frame is never flat
  for (let i = 0; i < px.length; i++) px[i] = Math.max(0, Math.min(255, px[i]! + Math.round((rnd() - 0.5) * 12)));
  return px;
}

async function main(): Promise<void> {
  for (const [dir, images] of [[OUT, SHIPPED_IMAGES], [BOARD_OUT, BOARD_IMAGES]] as const) {
    mkdirSync(dir, { recursive: true });
    for (const img of images) {
      const raw = drawScene(img.width, img.height, img.seed);
      const info = await sharp(raw, { raw: { width: img.width, height: img.height, channels: 3 } })
        .jpeg({ quality: 80, mozjpeg: true })
        .toFile(join(dir, img.file));
      console.log(`${img.file}: ${img.width}x${img.height}, ${(info.size / 1024).toFixed(0)} KiB`);
    }
  }
}

await main();
