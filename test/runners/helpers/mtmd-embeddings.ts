/**
 * Image embeddings of one PNG through both runtimes, for the F32 agreement tests:
 * - llama.cpp's mtmd (mmproj) through the suite's mtmd addon: every encoded image chunk's
 *   projector output, all tokens (mtmd_get_output_embd);
 * - ONNX Runtime (vision_encoder): the pixels decoded from the same PNG (lossless), normalised as
 *   the ORT runner does, fed as an image tensor or (Qwen-VL) as the processor's flattened patches.
 */
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { expect } from 'vitest';
import type { VlmDescriptor } from '../../../models/descriptors.ts';
import { DEEPSTACK_FEATURES, gridInputName } from '../../../models/layouts/onnx-community.ts';
import { familyPixels } from '../../../models/preprocess/pixels.ts';
import { flattenPatches, patchCount, patchGeometry, patchRowWidth } from '../../../models/qwen-patches.ts';
import { MEDIA_MARKER } from '../../../runners/llamacpp/image-pipeline.ts';
import { loadMtmdAddon } from '../../../runners/llamacpp/mtmd-native/addon.ts';
import { resolveLlamaLibrary } from '../../../runners/llamacpp/mtmd-native/library.ts';
import { makeTestImage } from '../../../runners/ort/inputs.ts';
import { normalizeTile } from '../../../runners/ort/visual-inputs.ts';

export interface MtmdTileEmbeddings {
  embd: number;
  tokens: number;
  /** tokens x embd, row-major. */
  data: Float32Array;
}

/** Writes the synthetic camera frame the runners use (makeTestImage) as a lossless PNG. */
export async function writeFramePng(path: string, side: number, seed: number): Promise<void> {
  await sharp(Buffer.from(makeTestImage(side, seed)), { raw: { width: side, height: side, channels: 3 } }).png().toFile(path);
}

/** mtmd's embeddings of `png`, one entry per image chunk in encode order (`imageMinTokens` = mtmd's --image-min-tokens). */
export async function mtmdEmbeddings(llm: string, mmproj: string, png: string, imageMinTokens?: number): Promise<MtmdTileEmbeddings[]> {
  const { addon } = await loadMtmdAddon(resolveLlamaLibrary('auto'));
  const session = await addon.open({ model: llm, mmproj, nCtx: 4096, nBatch: 4096, nThreads: 1, ...(imageMinTokens ? { imageMinTokens } : {}) });
  try {
    const embd = session.info().nEmbdInp;
    const chunks = await session.prepare(`${MEDIA_MARKER}x`, [png]);
    const out: MtmdTileEmbeddings[] = [];
    for (let i = 0; i < chunks.length; i++) {
      if (chunks[i]!.type !== 'image') continue;
      await session.encodeImage(i);
      out.push({ embd, tokens: chunks[i]!.nTokens, data: session.imageEmbedding(i) });
    }
    return out;
  } finally {
    session.close();
  }
}

/** ORT's `image_features` of `png` (one image of the descriptor's tile size) through `vision_encoder`. */
export async function ortEmbeddings(visionEncoder: string, d: VlmDescriptor, png: string): Promise<Float32Array> {
  return (await ortVisionOutputs(visionEncoder, d, png)).features;
}

/**
 * ORT's vision encoder outputs for `png`: `image_features` [tokens x hidden] and, for Qwen3-VL,
 * `deepstack_features` [levels x tokens x hidden] split per level.
 */
export async function ortVisionOutputs(visionEncoder: string, d: VlmDescriptor, png: string): Promise<{ features: Float32Array; deepstack: Float32Array[] }> {
  const side = d.vision.imageSize;
  const pixels = familyPixels(d.family);
  if (!pixels) throw new Error(`${d.family}: no reference pixel mean/std`);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== side || info.height !== side || info.channels !== 3) throw new Error(`expected a ${side}x${side} RGB frame, got ${info.width}x${info.height}x${info.channels}`);
  const chw = new Float32Array(3 * side * side);
  normalizeTile({ data: new Uint8Array(data), width: side, height: side }, 0, 0, side, pixels, chw);
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
    const features = out['image_features']!.data as Float32Array;
    const stacked = out[DEEPSTACK_FEATURES]?.data as Float32Array | undefined;
    const levels = d.vision.deepstackLayers?.length ?? 0;
    const deepstack = Array.from({ length: stacked ? levels : 0 }, (_, k) => stacked!.slice(k * features.length, (k + 1) * features.length));
    return { features, deepstack };
  } finally {
    await session.release();
  }
}

/**
 * Level `level` of mtmd's embeddings when each token holds `levels` slices of `hidden` values
 * (Qwen3-VL: 0 = the merger's output, k = DeepStack level k-1), as one tokens x hidden tile.
 */
export function mtmdLevel(tile: MtmdTileEmbeddings, hidden: number, levels: number, level: number): MtmdTileEmbeddings {
  expect(tile.embd).toBe(hidden * levels);
  const data = new Float32Array(tile.tokens * hidden);
  for (let t = 0; t < tile.tokens; t++) data.set(tile.data.subarray(t * tile.embd + level * hidden, t * tile.embd + (level + 1) * hidden), t * hidden);
  return { embd: hidden, tokens: tile.tokens, data };
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
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

/** The lowest cosine over tokens of two tokens x hidden tensors (row-major). */
export function minTokenCosine(a: Float32Array, b: Float32Array, hidden: number): { min: number; token: number } {
  let min = Infinity;
  let token = -1;
  for (let t = 0; t * hidden < a.length; t++) {
    const c = cosine(a.subarray(t * hidden, (t + 1) * hidden), b.subarray(t * hidden, (t + 1) * hidden));
    if (c < min) [min, token] = [c, t];
  }
  return { min, token };
}

/**
 * The agreement the tests require: same shape, cosine >= 0.999 on EVERY token, and every value
 * within `valueTolerance` (5e-3: ggml's tanh GELU against ORT's erf GELU moves values by ~1e-3;
 * measured 0.9-1.5e-3 on InternVL and Qwen-VL).
 */
export function expectAgreement(mtmd: MtmdTileEmbeddings, features: Float32Array, hidden: number, valueTolerance = 5e-3): { minCosine: number; maxAbsDiff: number } {
  expect(mtmd.embd).toBe(hidden);
  expect(mtmd.data.length).toBe(hidden * mtmd.tokens);
  expect(features.length).toBe(mtmd.data.length);
  const { min, token } = minTokenCosine(mtmd.data, features, hidden);
  expect(min, `lowest per-token cosine (token ${token})`).toBeGreaterThanOrEqual(0.999);
  let maxAbsDiff = 0;
  for (let i = 0; i < features.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(mtmd.data[i]! - features[i]!));
  expect(maxAbsDiff).toBeLessThan(valueTolerance);
  return { minCosine: min, maxAbsDiff };
}
