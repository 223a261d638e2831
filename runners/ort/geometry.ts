import type { InferenceSession } from 'onnxruntime-node';
import { InputError } from '../../core/errors.ts';
import type { Qwen2PatchGeometry } from '../../models/qwen2-vl-inputs.ts';

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
   * How the vision encoder takes an image: `images` = `pixel_values [n, 3, S, S]`; Qwen2-VL's
   * `patches` = flattened patches `[num_patches, C*T*P*P]` + `grid_thw [num_images, 3]`.
   */
  visionInput: { kind: 'images' } | { kind: 'patches'; patches: Qwen2PatchGeometry } | null;
}

/** Qwen2-VL processor defaults (patch 14, temporal patch 2, 2x2 merge, RGB): a 1176-wide patch vector. */
const QWEN2_VL_PATCHES: Qwen2PatchGeometry = { patchSize: 14, temporalPatchSize: 2, mergeSize: 2, channels: 3 };

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
  hints: { imageSize?: number; tokensPerImage?: number; patches?: Qwen2PatchGeometry },
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
  let visionInput: PipelineGeometry['visionInput'] = null;
  if (vision && vision.inputNames.includes('grid_thw')) {
    const patches = hints.patches ?? QWEN2_VL_PATCHES;
    const width = fixedDim(pixels?.shape, 1);
    const expected = patches.channels * patches.temporalPatchSize * patches.patchSize ** 2;
    if (width !== null && width !== expected) {
      throw new InputError(`${source}: vision encoder pixel_values is [num_patches, ${width}], expected ${expected} (channels x temporal patch x patch^2)`);
    }
    visionInput = { kind: 'patches', patches };
  } else if (vision) {
    visionInput = { kind: 'images' };
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
    imageSize: (visionInput?.kind === 'images' ? fixedDim(pixels?.shape, 3) : null) ?? hints.imageSize ?? null,
    // Qwen2-VL's features are [num_image_tokens, hidden] (no per-image axis): tokens come from hints.
    tokensPerImage: (visionInput?.kind === 'images' ? fixedDim(features?.shape, 1) : null) ?? hints.tokensPerImage ?? null,
    visionInput,
  };
}
