/**
 * Image resolutions as suites write them: `WIDTHxHEIGHT` (e.g. `1280x720`) or a preset name.
 * Width comes first, as camera and display modes are named.
 */
import { InputError } from '../../core/errors.ts';

export interface Resolution {
  width: number;
  height: number;
}

/** Common camera/display modes (16:9). */
export const RESOLUTION_PRESETS: Readonly<Record<string, Resolution>> = {
  '480p': { width: 854, height: 480 },
  '720p': { width: 1280, height: 720 },
  '1080p': { width: 1920, height: 1080 },
  '1440p': { width: 2560, height: 1440 },
  '4k': { width: 3840, height: 2160 },
};

/** Above this either side is refused: 8K is the largest common camera mode. */
export const MAX_RESOLUTION_SIDE = 8192;

export const RESOLUTION_FORMS = `WIDTHxHEIGHT (e.g. 448x448, 1280x720; each side 1..${MAX_RESOLUTION_SIDE}) or a preset: ${Object.keys(RESOLUTION_PRESETS).join(', ')}`;

/** Parses one resolution value; `null` when the value is not in an allowed form. */
export function tryParseResolution(value: unknown): Resolution | null {
  if (typeof value !== 'string') return null;
  const text = value.trim().toLowerCase();
  const preset = RESOLUTION_PRESETS[text];
  if (preset) return { ...preset };
  const m = /^(\d{1,5})x(\d{1,5})$/.exec(text);
  if (!m) return null;
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width < 1 || height < 1 || width > MAX_RESOLUTION_SIDE || height > MAX_RESOLUTION_SIDE) return null;
  return { width, height };
}

/** As tryParseResolution, throwing an InputError that names `where` and the allowed forms. */
export function parseResolution(value: unknown, where: string): Resolution {
  const parsed = tryParseResolution(value);
  if (!parsed) throw new InputError(`${where}: ${JSON.stringify(value)} is not a resolution; expected ${RESOLUTION_FORMS}`);
  return parsed;
}

export function formatResolution(r: Resolution): string {
  return `${r.width}x${r.height}`;
}
