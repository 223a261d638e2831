import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../core/errors.ts';

/** Sessions the ORT runner knows, by onnx-community file stem. */
export const SESSION_NAMES = ['vision_encoder', 'embed_tokens', 'decoder_model_merged', 'lm_head'] as const;
export type SessionName = (typeof SESSION_NAMES)[number];

/** onnx-community file suffixes per precision, in order of preference. */
const SUFFIXES: Record<string, string[]> = {
  fp32: [''],
  fp16: ['_fp16'],
  int8: ['_int8', '_quantized', '_uint8'],
  int4: ['_q4'],
  q4f16: ['_q4f16'],
};

/**
 * Finds the ONNX files of a real export in the onnx-community layout (`<dir>/onnx/*.onnx` or
 * `<dir>/*.onnx`) for a precision. Missing per-precision files fall back to the fp32 file of the
 * same session, because exports often keep e.g. embed_tokens unquantised; the fallback is
 * reported so the result says what actually ran.
 */
export function findExportFiles(
  dir: string,
  precision: string,
): { files: Partial<Record<SessionName, string>>; fallbacks: string[] } {
  const folder = existsSync(join(dir, 'onnx')) ? join(dir, 'onnx') : dir;
  if (!existsSync(folder)) throw new InputError(`model folder not found: ${dir}`);
  const present = new Set(readdirSync(folder));
  const suffixes = SUFFIXES[precision];
  if (!suffixes) {
    throw new InputError(`precision "${precision}" has no onnx-community file suffix; known: ${Object.keys(SUFFIXES).join(', ')}`);
  }
  const files: Partial<Record<SessionName, string>> = {};
  const fallbacks: string[] = [];
  for (const name of SESSION_NAMES) {
    const hit = suffixes.map((s) => `${name}${s}.onnx`).find((f) => present.has(f));
    if (hit) files[name] = join(folder, hit);
    else if (present.has(`${name}.onnx`)) {
      files[name] = join(folder, `${name}.onnx`);
      fallbacks.push(`${name}: no ${precision} file, using ${name}.onnx`);
    }
  }
  if (!files.embed_tokens || !files.decoder_model_merged) {
    throw new InputError(
      `${folder}: expected embed_tokens*.onnx and decoder_model_merged*.onnx (onnx-community layout); found ${[...present].filter((f) => f.endsWith('.onnx')).join(', ') || 'no .onnx files'}`,
    );
  }
  return { files, fallbacks };
}
