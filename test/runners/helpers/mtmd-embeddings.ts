/**
 * Image embeddings of one PNG through both runtimes, for the F32 agreement tests:
 * - llama.cpp's mtmd (mmproj): a child process (mtmd-debug-embeddings.cjs) with
 *   MTMD_DEBUG_EMBEDDINGS set, whose log carries clip.cpp's print per encoded tile: token 0's
 *   first and last 16 values and statistics over all the tile's tokens (the binding exposes no
 *   embeddings otherwise);
 * - ONNX Runtime (vision_encoder): the pixels decoded from the same PNG (lossless), normalised as
 *   the ORT runner does, fed as an image tensor or (Qwen-VL) as the processor's flattened patches.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { expect } from 'vitest';
import type { VlmDescriptor } from '../../../models/descriptors.ts';
import { gridInputName } from '../../../models/layouts/onnx-community.ts';
import { PIXEL_CONVENTIONS } from '../../../models/preprocess/pixels.ts';
import { familyPreprocessing } from '../../../models/preprocess/plan.ts';
import { flattenPatches, patchCount, patchGeometry, patchRowWidth } from '../../../models/qwen-patches.ts';
import { makeTestImage } from '../../../runners/ort/inputs.ts';
import { normalizeTile } from '../../../runners/ort/visual-inputs.ts';

export interface MtmdTileEmbeddings {
  embd: number;
  tokens: number;
  /** Token 0: its first 16 values then its last 16. */
  token0: number[];
  mean: number;
  std: number;
  min: number;
  max: number;
}

/** Every MTMD_DEBUG_EMBEDDINGS block of a log (clip.cpp clip_image_batch_encode), in encode order. */
export function parseDebugEmbeddings(log: string): MtmdTileEmbeddings[] {
  const blocks = [...log.matchAll(/=== MTMD_DEBUG_EMBEDDINGS ===([\s\S]*?)=== END MTMD_DEBUG_EMBEDDINGS ===/g)].map((m) => m[1]!);
  if (blocks.length === 0) throw new Error(`no MTMD_DEBUG_EMBEDDINGS block in the child's log:\n${log.slice(-2000)}`);
  return blocks.map((block) => {
    const nums = (re: RegExp) => (re.exec(block)?.[1] ?? '').trim().split(/\s+/).map(Number);
    const stat = (name: string) => Number(new RegExp(`${name}=(-?[\\d.]+)`).exec(block)?.[1]);
    const [, embd, tokens] = (/Shape: \[(\d+), (\d+)\]/.exec(block) ?? []).map(Number);
    return {
      embd: embd!,
      tokens: tokens!,
      token0: [...nums(/Token 0 \(first 16 values\):([^\n]*)/), ...nums(/Token 0 \(last 16 values\):([^\n]*)/)],
      mean: stat('mean'),
      std: stat('std'),
      min: stat('min'),
      max: stat('max'),
    };
  });
}

/** Writes the synthetic camera frame the runners use (makeTestImage) as a lossless PNG. */
export async function writeFramePng(path: string, side: number, seed: number): Promise<void> {
  await sharp(Buffer.from(makeTestImage(side, seed)), { raw: { width: side, height: side, channels: 3 } }).png().toFile(path);
}

/** mtmd's per-tile embeddings of `png` (child process; `imageMinTokens` = mtmd's --image-min-tokens). */
export async function mtmdEmbeddings(llm: string, mmproj: string, png: string, imageMinTokens?: number): Promise<MtmdTileEmbeddings[]> {
  const args = [join(import.meta.dirname, 'mtmd-debug-embeddings.cjs'), llm, mmproj, png, ...(imageMinTokens ? [String(imageMinTokens)] : [])];
  const child = await promisify(execFile)(process.execPath, args, { maxBuffer: 64 << 20 });
  return parseDebugEmbeddings(child.stdout + child.stderr);
}

/** ORT's `image_features` of `png` (one image of the descriptor's tile size) through `vision_encoder`. */
export async function ortEmbeddings(visionEncoder: string, d: VlmDescriptor, png: string): Promise<Float32Array> {
  const side = d.vision.imageSize;
  const family = familyPreprocessing(d.family);
  if (!family) throw new Error(`${d.family}: no reference preprocessing`);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== side || info.height !== side || info.channels !== 3) throw new Error(`expected a ${side}x${side} RGB frame, got ${info.width}x${info.height}x${info.channels}`);
  const chw = new Float32Array(3 * side * side);
  normalizeTile({ data: new Uint8Array(data), width: side, height: side }, 0, 0, side, PIXEL_CONVENTIONS[family], chw);
  const qwen = d.vision.temporalPatchSize !== undefined;
  const feeds: Record<string, ort.Tensor> = {};
  if (qwen) {
    const g = patchGeometry(d);
    const grid = side / d.vision.patchSize;
    feeds['pixel_values'] = new ort.Tensor('float32', flattenPatches(chw, g), [patchCount(g), patchRowWidth(g)]);
    feeds[gridInputName(d)] = new ort.Tensor('int64', BigInt64Array.from([1n, BigInt(grid), BigInt(grid)]), [1, 3]);
  } else {
    feeds['pixel_values'] = new ort.Tensor('float32', chw, [1, 3, side, side]);
  }
  const session = await ort.InferenceSession.create(visionEncoder);
  try {
    const out = await session.run(feeds);
    return out['image_features']!.data as Float32Array;
  } finally {
    await session.release();
  }
}

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

/**
 * The agreement the tests require: same shape, token 0 cosine >= 0.999 and each printed value
 * within 5e-3 (printed with 6 decimals; ggml's tanh GELU against ORT's erf GELU moves values by
 * ~1e-3), and the whole tile's mean / std within 1e-3 and min / max within 5e-3.
 */
export function expectAgreement(mtmd: MtmdTileEmbeddings, features: Float32Array, hidden: number): { cosine: number } {
  expect(mtmd.embd).toBe(hidden);
  expect(features.length).toBe(hidden * mtmd.tokens);
  const ortToken0 = [...features.subarray(0, 16), ...features.subarray(hidden - 16, hidden)];
  const c = cosine(mtmd.token0, ortToken0);
  expect(c).toBeGreaterThanOrEqual(0.999);
  for (let i = 0; i < 32; i++) expect(Math.abs(mtmd.token0[i]! - ortToken0[i]!)).toBeLessThan(5e-3);
  let sum = 0;
  let sq = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const x of features) {
    sum += x;
    sq += x * x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = sum / features.length;
  expect(Math.abs(mtmd.mean - mean)).toBeLessThan(1e-3);
  expect(Math.abs(mtmd.std - Math.sqrt(sq / features.length - mean * mean))).toBeLessThan(1e-3);
  expect(Math.abs(mtmd.min - min)).toBeLessThan(5e-3);
  expect(Math.abs(mtmd.max - max)).toBeLessThan(5e-3);
  return { cosine: c };
}
