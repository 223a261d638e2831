/**
 * Test images for requests: PNGs generated from a seed with @napi-rs/canvas, or image files the
 * suite names. Each request gets images with different pixels (a different seed), because
 * servers cache by content: vLLM's multimodal cache and prefix cache, llama.cpp's prompt cache.
 * Identical images would let the server skip the vision encoder and the measured TTFT would no
 * longer contain it.
 */
import { extname, resolve } from 'node:path';
import { createCanvas, ImageData } from '@napi-rs/canvas';
import { InputError } from '../../core/errors.ts';
import { seededRandom } from './random.ts';
import { boundedSharp, MAX_IMAGE_FILE_BYTES, readImageFile } from '../image-file.ts';
import { readBoundedFile } from '../../core/bounded-read.ts';

export type ImagePattern = 'noise' | 'pattern';

export interface ImageSize {
  width: number;
  height: number;
}

/**
 * A PNG of the given size. "noise" is uniform random RGB (incompressible, so the upload is as
 * large as a photo's can get); "pattern" is shapes on a gradient (small upload, photo-like
 * structure for encoders that tile by content).
 */
export async function generateTestImage(size: ImageSize, pattern: ImagePattern, seed: number): Promise<Buffer> {
  const { width, height } = size;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const rand = seededRandom(seed);
  if (pattern === 'noise') {
    const pixels = new Uint8ClampedArray(width * height * 4);
    for (let i = 0; i < pixels.length; i += 4) {
      const v = Math.floor(rand() * 0x1000000);
      pixels[i] = v & 0xff;
      pixels[i + 1] = (v >>> 8) & 0xff;
      pixels[i + 2] = (v >>> 16) & 0xff;
      pixels[i + 3] = 255;
    }
    ctx.putImageData(new ImageData(pixels, width, height), 0, 0);
  } else {
    const colour = () => `rgb(${Math.floor(rand() * 256)},${Math.floor(rand() * 256)},${Math.floor(rand() * 256)})`;
    const gradient = ctx.createLinearGradient(0, 0, width, height);
    gradient.addColorStop(0, colour());
    gradient.addColorStop(1, colour());
    ctx.fillStyle = gradient;
    ctx.fillRect(0, 0, width, height);
    for (let i = 0; i < 24; i++) {
      ctx.fillStyle = colour();
      const x = rand() * width;
      const y = rand() * height;
      const r = (0.03 + rand() * 0.12) * Math.min(width, height);
      if (i % 2 === 0) {
        ctx.beginPath();
        ctx.arc(x, y, r, 0, Math.PI * 2);
        ctx.fill();
      } else {
        ctx.fillRect(x - r, y - r / 2, 2 * r, r);
      }
    }
  }
  return canvas.encode('png');
}

export function dataUrl(bytes: Buffer, mime: string): string {
  return `data:${mime};base64,${bytes.toString('base64')}`;
}

const MIME_BY_EXT: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
};

/** Reads the files named in `options.imageFiles` into data URLs; errors name the entry. */
export function loadImageFiles(files: readonly string[], field: string): string[] {
  return files.map((file, i) => {
    const mime = MIME_BY_EXT[extname(file).toLowerCase()];
    if (!mime) {
      throw new InputError(`${field}[${i}]: "${file}" has an unknown image extension (expected ${Object.keys(MIME_BY_EXT).join(', ')})`);
    }
    // Sent as they are (the server decodes them): a regular file within the size limit.
    return dataUrl(readBoundedFile(resolve(file), MAX_IMAGE_FILE_BYTES, `${field}[${i}]: cannot read`), mime);
  });
}

/**
 * The files of `options.imageFiles` brought to one size (scaled to cover it, centre-cropped) and
 * sent as JPEG quality 90: a cell's resolution axis then means the bytes a camera at that
 * resolution would send, whatever size the files are.
 */
export async function scaledImageFiles(files: readonly string[], size: ImageSize, field: string): Promise<string[]> {
  const out: string[] = [];
  for (const [i, file] of files.entries()) {
    try {
      const bytes = await boundedSharp((await readImageFile(resolve(file), `${field}[${i}]`)).bytes).rotate().resize(size.width, size.height, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
      out.push(dataUrl(bytes, 'image/jpeg'));
    } catch (err) {
      throw new InputError(`${field}[${i}]: cannot scale "${file}" to ${size.width}x${size.height}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Width and height of a PNG from its IHDR chunk (used to check what was sent). */
export function pngSize(bytes: Buffer): ImageSize {
  const signature = '89504e470d0a1a0a';
  if (bytes.subarray(0, 8).toString('hex') !== signature || bytes.subarray(12, 16).toString('latin1') !== 'IHDR') {
    throw new InputError('not a PNG file (bad signature or missing IHDR)');
  }
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}
