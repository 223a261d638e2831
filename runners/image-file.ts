/**
 * Image files a suite names, read with bounds before anything decodes them: a regular file of at
 * most MAX_IMAGE_FILE_BYTES, whose header says at most MAX_IMAGE_PIXELS. A 31 KB PNG can declare
 * 16000x16000 pixels (a gigabyte decoded); it is refused from its header, and every decoder
 * (sharp) is opened with the same limit as a second guard.
 */
import sharp from 'sharp';
import { MiB, readBoundedFile } from '../core/bounded-read.ts';
import { InputError } from '../core/errors.ts';

/**
 * Most pixels an input image may have: 8192x8192 (67 MP), above a 50 MP phone photo and far above
 * what the models take (Qwen2-VL's max_pixels is 12.8 MP; InternVL tiles 448-pixel crops).
 */
export const MAX_IMAGE_PIXELS = 8192 * 8192;
/** Largest image file read, bytes. */
export const MAX_IMAGE_FILE_BYTES = 256 * MiB;

/** A sharp pipeline that refuses an input above MAX_IMAGE_PIXELS before decoding it. */
export function boundedSharp(input: Buffer | string): sharp.Sharp {
  return sharp(input, { limitInputPixels: MAX_IMAGE_PIXELS });
}

export interface ImageFile {
  bytes: Buffer;
  width: number;
  height: number;
  /** EXIF orientation (1 when none). */
  orientation: number;
}

/** The file's bytes and header facts; refused (exit 2) when not a readable image or above the limits. */
export async function readImageFile(path: string, what = 'image file'): Promise<ImageFile> {
  const bytes = readBoundedFile(path, MAX_IMAGE_FILE_BYTES, `cannot read ${what}`);
  const meta = await sharp(bytes).metadata().catch((err: Error) => {
    throw new InputError(`${what} ${path}: not an image sharp can read (${err.message})`);
  });
  if (!meta.width || !meta.height) throw new InputError(`${what} ${path}: no width/height in its header`);
  if (meta.width * meta.height > MAX_IMAGE_PIXELS) {
    throw new InputError(
      `${what} ${path}: ${meta.width}x${meta.height} = ${(meta.width * meta.height / 1e6).toFixed(1)} MP, more than the limit of ${MAX_IMAGE_PIXELS} pixels (8192x8192); scale it down first`,
    );
  }
  return { bytes, width: meta.width, height: meta.height, orientation: meta.orientation ?? 1 };
}
