/**
 * The visual workload of an ORT cell: which images/videos a request carries, at what size, and
 * what the model family's preprocessing makes of them (tiles, tokens). Built once per cell from
 * the cell's `images`, `resolution` and `frames` axes and the suite's preprocessing options;
 * the sources are made (synthetic frames) or read (files) here, outside the timed requests.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../core/errors.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import { PREPROCESS_FAMILIES, imagePlan, sampleFrames, videoPlan, type PreprocessFamily, type PreprocessLimits, type TileGeometry } from '../../models/preprocess/plan.ts';
import { formatResolution, parseResolution, type Resolution } from '../../models/preprocess/resolution.ts';
import sharp from 'sharp';
import { boundedSharp, readImageFile } from '../image-file.ts';
import { PIXEL_CONVENTIONS, encodeJpeg, encodedSource, syntheticImage, type ImageSource, type PixelConvention, type VisualItem } from './visual-inputs.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);
/** Clip length frames are sampled from when the suite does not say (10 s at 30 fps). */
const DEFAULT_VIDEO_FRAMES = 300;
/** Distinct synthetic sources per cell: content does not change the work, memory does (4K = 25 MB each). */
const SYNTHETIC_SOURCES = 2;

export interface CellWorkload {
  items: VisualItem[];
  pixels: PixelConvention;
  /** Facts recorded with the cell. */
  settings: Record<string, string | number>;
}

function where(suite: Suite, field: string): string {
  return `suite "${suite.name}": ${field}`;
}

function positiveInt(v: unknown, suite: Suite, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new InputError(`${where(suite, field)}: expected an integer >= 1, got ${JSON.stringify(v)}`);
  return v;
}

/** options.maxTiles / maxPixels / minPixels; absent = the reference implementations' defaults. */
export function preprocessLimits(suite: Suite): PreprocessLimits {
  const o = suite.options ?? {};
  const limits: PreprocessLimits = {};
  const maxTiles = positiveInt(o['maxTiles'], suite, 'options.maxTiles');
  const maxPixels = positiveInt(o['maxPixels'], suite, 'options.maxPixels');
  const minPixels = positiveInt(o['minPixels'], suite, 'options.minPixels');
  if (maxTiles !== undefined) limits.maxTiles = maxTiles;
  if (maxPixels !== undefined) limits.maxPixels = maxPixels;
  if (minPixels !== undefined) limits.minPixels = minPixels;
  if (maxPixels !== undefined && minPixels !== undefined && minPixels > maxPixels) {
    throw new InputError(`${where(suite, 'options.minPixels')}: ${minPixels} is above options.maxPixels ${maxPixels}`);
  }
  return limits;
}

/** True when the cell asks for more than the legacy one-synthetic-tile-per-image shape. */
export function wantsWorkload(cell: Cell, suite: Suite): boolean {
  const o = suite.options ?? {};
  return cell.params['resolution'] !== undefined || cell.params['frames'] !== undefined || o['images'] !== undefined;
}

/** The family whose preprocessing applies: the zoo model's, or options.preprocess for real exports. */
export function preprocessFamily(suite: Suite, zooFamily: PreprocessFamily | undefined): PreprocessFamily {
  const v = suite.options?.['preprocess'];
  if (v === undefined) {
    if (zooFamily) return zooFamily;
    throw new InputError(`${where(suite, 'options.preprocess')}: is required with a resolution or frames axis or real images for a model given by path; expected one of ${PREPROCESS_FAMILIES.join(', ')}`);
  }
  if (typeof v !== 'string' || !PREPROCESS_FAMILIES.includes(v as PreprocessFamily)) {
    throw new InputError(`${where(suite, 'options.preprocess')}: expected one of ${PREPROCESS_FAMILIES.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as PreprocessFamily;
}

function resolvePath(p: string): string {
  if (isAbsolute(p)) return p;
  const fromCwd = resolve(p);
  if (existsSync(fromCwd)) return fromCwd;
  const fromRepo = join(repoRoot, p);
  return existsSync(fromRepo) ? fromRepo : fromCwd;
}

/** options.images: `{ dir: PATH }` (its JPEG/PNG/WebP files, sorted) or a list of files. */
export function imageFiles(suite: Suite): string[] | null {
  const v = suite.options?.['images'];
  if (v === undefined) return null;
  const field = 'options.images';
  if (Array.isArray(v)) {
    if (v.length === 0 || !v.every((f) => typeof f === 'string' && f)) throw new InputError(`${where(suite, field)}: expected a non-empty list of image files or { dir: PATH }`);
    const files = (v as string[]).map(resolvePath);
    for (const f of files) if (!existsSync(f)) throw new InputError(`${where(suite, field)}: file not found: ${f}`);
    return files;
  }
  if (v && typeof v === 'object' && typeof (v as Record<string, unknown>)['dir'] === 'string' && Object.keys(v).length === 1) {
    const dir = resolvePath((v as { dir: string }).dir);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`${where(suite, `${field}.dir`)}: not a folder: ${dir}`);
    const files = readdirSync(dir)
      .filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()))
      .sort()
      .map((f) => join(dir, f));
    if (files.length === 0) throw new InputError(`${where(suite, `${field}.dir`)}: no ${[...IMAGE_EXTENSIONS].join('/')} files in ${dir}`);
    return files;
  }
  throw new InputError(`${where(suite, field)}: expected { dir: PATH } or a list of image files, got ${JSON.stringify(v)}`);
}

async function sourcesFor(count: number, files: string[] | null, resolution: Resolution | null, fallback: Resolution, seed: number): Promise<ImageSource[]> {
  if (files) {
    const sources: ImageSource[] = [];
    for (let i = 0; i < count; i++) {
      const file = files[i % files.length]!;
      if (!resolution) {
        sources.push(await encodedSource(file));
        continue;
      }
      // The file's content at the cell's resolution (scaled to cover, centre-cropped), encoded
      // again so the timed decode is of an image of that resolution.
      const { data, info } = await boundedSharp((await readImageFile(file)).bytes).rotate().removeAlpha().resize(resolution.width, resolution.height, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true });
      sources.push(await encodeJpeg({ data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height }, `${file}@${formatResolution(resolution)}`));
    }
    return sources;
  }
  const size = resolution ?? fallback;
  const distinct = Array.from({ length: Math.min(count, SYNTHETIC_SOURCES) }, (_, k) => syntheticImage(size, seed + k));
  return Array.from({ length: count }, (_, i): ImageSource => ({ kind: 'pixels', image: distinct[i % distinct.length]! }));
}

export async function buildWorkload(
  cell: Cell,
  suite: Suite,
  family: PreprocessFamily,
  geo: TileGeometry,
  images: number,
  seed: number,
): Promise<CellWorkload> {
  const resolutionValue = cell.params['resolution'];
  const resolution = resolutionValue === undefined ? null : parseResolution(resolutionValue, `cell ${cell.id}: axis "resolution"`);
  const framesValue = cell.params['frames'];
  const frames = framesValue === undefined ? 0 : Number(framesValue);
  if (framesValue !== undefined && (!Number.isInteger(frames) || frames < 1)) {
    throw new InputError(`cell ${cell.id}: axis "frames" must be an integer >= 1, got ${String(framesValue)}`);
  }
  const limits = preprocessLimits(suite);
  const files = imageFiles(suite);
  const tile: Resolution = { width: geo.tileSize, height: geo.tileSize };
  const items: VisualItem[] = [];

  const imageSources = await sourcesFor(images, files, resolution, tile, seed);
  for (const source of imageSources) {
    const size = source.kind === 'pixels' ? { width: source.image.width, height: source.image.height } : source.size;
    items.push({ kind: 'image', plan: imagePlan(family, size, geo, limits), sources: [source] });
  }
  const settings: Record<string, string | number> = {
    preprocessFamily: family,
    imageSource: files ? `${files.length} file(s): ${files.map((f) => f.split('/').pop()).join(', ')}` : 'synthetic camera frames (made before timing)',
    imageLibrary: `sharp ${sharp.versions.sharp ?? '?'} (libvips ${sharp.versions.vips})`,
  };
  if (resolution) settings['resolution'] = formatResolution(resolution);
  if (limits.maxTiles !== undefined) settings['maxTiles'] = limits.maxTiles;
  if (limits.maxPixels !== undefined) settings['maxPixels'] = limits.maxPixels;
  if (limits.minPixels !== undefined) settings['minPixels'] = limits.minPixels;

  if (frames > 0) {
    const clip = positiveInt(suite.options?.['videoFrames'], suite, 'options.videoFrames') ?? DEFAULT_VIDEO_FRAMES;
    const sampling = sampleFrames(family, clip, frames);
    const frameSources = await sourcesFor(frames, files, resolution, tile, seed + 100);
    const first = frameSources[0]!;
    const size = first.kind === 'pixels' ? { width: first.image.width, height: first.image.height } : first.size;
    items.push({ kind: 'video', plan: videoPlan(family, frames, size, geo, limits), sources: frameSources });
    settings['videoFrames'] = frames;
    settings['frameSampling'] = sampling.rule;
    settings['frameIndices'] = sampling.indices.join(',');
  }

  for (const item of items) checkRunnable(item, family, geo, cell);
  const imagePlans = items.filter((i) => i.kind === 'image').map((i) => i.plan);
  if (imagePlans.length > 0) {
    const distinct = (f: (p: (typeof imagePlans)[number]) => string | number) => [...new Set(imagePlans.map(f))].join(' / ');
    settings['tilesPerImage'] = distinct((p) => p.tiles);
    settings['imageTokensPerImage'] = distinct((p) => p.tokens);
    settings['imagePreprocessing'] = distinct((p) => p.detail);
  }
  const video = items.find((i) => i.kind === 'video');
  if (video) {
    settings['videoTokens'] = video.plan.tokens;
    settings['videoPreprocessing'] = video.plan.detail;
  }
  settings['visionEncoderRunsPerRequest'] = items.reduce((n, i) => n + i.plan.tiles, 0);
  settings['imageTokensPerRequest'] = items.reduce((n, i) => n + i.plan.tokens, 0);
  return { items, pixels: PIXEL_CONVENTIONS[family], settings };
}

/**
 * The ORT pipeline runs square tiles of the vision graph's fixed size. InternVL and SmolVLM
 * always tile to it; Qwen2-VL's encoder takes the whole smart-resized image, which a graph with
 * a baked grid can run only at that grid.
 */
function checkRunnable(item: VisualItem, family: PreprocessFamily, geo: TileGeometry, cell: Cell): void {
  if (family !== 'qwen2-vl') return;
  if (item.kind === 'video') {
    // The pipeline feeds the encoder one frame per input; Qwen2-VL packs 2 frames into each
    // temporal patch of one input, which this pipeline does not build.
    throw new InputError(
      `cell ${cell.id}: Qwen2-VL video (${item.plan.detail}, ${item.plan.tokens} tokens) is planned but not run by the ORT runner: it packs 2 frames per temporal patch into one encoder input; use the frames axis with InternVL or SmolVLM, or an endpoint`,
    );
  }
  const input = item.plan.encoderInputs[0]!;
  if (input.width !== geo.tileSize || input.height !== geo.tileSize) {
    throw new InputError(
      `cell ${cell.id}: Qwen2-VL image becomes ${input.width}x${input.height}` +
        ` (${item.plan.detail}); this vision graph runs a fixed ${geo.tileSize}x${geo.tileSize} grid. ` +
        `Use a resolution that smart-resizes to ${geo.tileSize}x${geo.tileSize}, or an export with a dynamic grid`,
    );
  }
}
