import type { InferenceSession } from 'onnxruntime-node';
import { InputError } from '../../core/errors.ts';
import { DEEPSTACK_EMBEDS, DEEPSTACK_FEATURES } from '../../models/layouts/onnx-community.ts';
import type { PatchGeometry } from '../../models/qwen-patches.ts';

/** Shapes the pipeline needs, read from the sessions' own metadata so real exports work too. */
export interface PipelineGeometry {
  hidden: number;
  layers: number;
  kvHeads: number;
  headDim: number;
  kvType: 'float32' | 'float16';
  /** Rank of position_ids: 2 = [batch, seq]; 3 = M-RoPE [3, batch, seq] (Qwen-VL); 0 = absent. */
  positionIdsRank: 0 | 2 | 3;
  hasAttentionMask: boolean;
  /** Decoder output read for the next step: hidden states for a separate lm_head, else logits. */
  decoderOutput: 'hidden_states' | 'logits';
  imageSize: number | null;
  tokensPerImage: number | null;
  /**
   * How the vision encoder takes an image: `image` = `pixel_values [n, 3, S, S]`; `patches` =
   * Qwen-VL flattened patches `pixel_values [patches, C*T*P*P]` plus a grid input.
   */
  pixelLayout: 'image' | 'patches';
  /** Patches: the grid input's name (`grid_thw` or `image_grid_thw`) and the patch layout. */
  gridInput: string | null;
  patch: PatchGeometry | null;
  /** DeepStack levels the decoder adds (Qwen3-VL `deepstack_visual_embeds`); 0 without. */
  deepstackTaps: number;
}

function tensorMeta(session: InferenceSession, name: string, side: 'input' | 'output') {
  const list = side === 'input' ? session.inputMetadata : session.outputMetadata;
  const meta = list.find((m) => m.name === name);
  return meta && meta.isTensor ? meta : undefined;
}

function fixedDim(shape: ReadonlyArray<number | string> | undefined, index: number): number | null {
  const d = shape?.[index];
  return typeof d === 'number' && d > 0 ? d : null;
}

export function readGeometry(
  decoder: InferenceSession,
  vision: InferenceSession | undefined,
  hints: { imageSize?: number; tokensPerImage?: number; patch?: PatchGeometry },
  source: string,
): PipelineGeometry {
  const pastKeys = decoder.inputNames.filter((n) => /^past_key_values\.\d+\.key$/.test(n));
  if (pastKeys.length === 0) {
    throw new InputError(`${source}: decoder has no past_key_values.{i}.key inputs; expected an onnx-community decoder with KV cache`);
  }
  const past = tensorMeta(decoder, 'past_key_values.0.key', 'input');
  const kvHeads = fixedDim(past?.shape, 1);
  const headDim = fixedDim(past?.shape, 3);
  const hidden = fixedDim(tensorMeta(decoder, 'inputs_embeds', 'input')?.shape, 2);
  if (!kvHeads || !headDim || !hidden) {
    throw new InputError(
      `${source}: cannot read KV heads / head_dim / hidden size from the decoder's input shapes (past_key_values.0.key ${JSON.stringify(past?.shape)}, inputs_embeds)`,
    );
  }
  const kvType = past?.type === 'float16' ? 'float16' : 'float32';
  const pos = tensorMeta(decoder, 'position_ids', 'input');
  const positionIdsRank = !pos ? 0 : pos.shape.length === 3 ? 3 : 2;
  const decoderOutput = decoder.outputNames.includes('hidden_states') ? 'hidden_states' : 'logits';
  if (!decoder.outputNames.includes(decoderOutput)) {
    throw new InputError(`${source}: decoder outputs neither hidden_states nor logits`);
  }
  const pixels = vision ? tensorMeta(vision, 'pixel_values', 'input') : undefined;
  const features = vision ? tensorMeta(vision, 'image_features', 'output') : undefined;
  const pixelLayout = pixels && pixels.shape.length === 2 ? 'patches' : 'image';
  const gridInput = vision?.inputNames.find((n) => n === 'grid_thw' || n === 'image_grid_thw') ?? null;
  if (pixelLayout === 'patches' && (!gridInput || !hints.patch)) {
    throw new InputError(
      `${source}: the vision encoder takes flattened patches; it needs a grid_thw / image_grid_thw input and the patch layout (zoo models give it)`,
    );
  }
  const deepstack = tensorMeta(decoder, DEEPSTACK_EMBEDS, 'input');
  const deepstackTaps = deepstack ? fixedDim(deepstack.shape, 0) ?? 0 : 0;
  if (deepstack && !deepstackTaps) throw new InputError(`${source}: ${DEEPSTACK_EMBEDS} needs a fixed level count as its first dimension`);
  if (deepstack && vision && !vision.outputNames.includes(DEEPSTACK_FEATURES)) {
    throw new InputError(`${source}: the decoder takes ${DEEPSTACK_EMBEDS} but the vision encoder has no ${DEEPSTACK_FEATURES} output`);
  }
  return {
    hidden,
    layers: pastKeys.length,
    kvHeads,
    headDim,
    kvType,
    positionIdsRank,
    hasAttentionMask: decoder.inputNames.includes('attention_mask'),
    decoderOutput,
    imageSize: (pixelLayout === 'image' ? fixedDim(pixels?.shape, 3) : null) ?? hints.imageSize ?? null,
    // image_features is [n, tokens, hidden] per image, or [tokens of all images, hidden] (Qwen-VL).
    tokensPerImage: (features?.shape.length === 3 ? fixedDim(features.shape, 1) : null) ?? hints.tokensPerImage ?? null,
    pixelLayout,
    gridInput,
    patch: pixelLayout === 'patches' ? hints.patch ?? null : null,
    deepstackTaps,
  };
}
