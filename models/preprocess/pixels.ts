/**
 * Pixel conventions of each family's reference processor (resampling kernel, normalisation),
 * shared by the ONNX runner's preprocessing and the mmproj GGUF writer (which records the same
 * mean/std for llama.cpp's mtmd).
 */
import { familyPreprocessing, type PreprocessFamily } from './plan.ts';

/** Per-family pixel conventions of the reference processors. */
export interface PixelConvention {
  /** Resampling kernel: PIL BICUBIC (InternVL, Qwen2-VL) or LANCZOS (SmolVLM/Idefics3). */
  kernel: 'cubic' | 'lanczos3';
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

export const PIXEL_CONVENTIONS: Record<PreprocessFamily, PixelConvention> = {
  // InternVL build_transform: ImageNet mean/std, BICUBIC
  internvl: { kernel: 'cubic', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  // Qwen2VLImageProcessor: OPENAI_CLIP_MEAN/STD, BICUBIC
  'qwen2-vl': { kernel: 'cubic', mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] },
  // SmolVLM preprocessor_config: mean/std 0.5, LANCZOS
  smolvlm: { kernel: 'lanczos3', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
};

/**
 * Qwen3-VL's processor (Qwen2VLImageProcessorFast with Qwen3-VL's preprocessor_config.json:
 * image_mean / image_std 0.5, BICUBIC). The zoo has no Qwen3-VL resize plan yet (plan.ts
 * familyPreprocessing is null for it), only these pixels, which its mmproj GGUF records.
 */
export const QWEN3_VL_PIXELS: PixelConvention = { kernel: 'cubic', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

/** The pixel convention of a zoo family's reference processor; null when the zoo has none. */
export function familyPixels(family: string): PixelConvention | null {
  if (family === 'qwen3-vl') return QWEN3_VL_PIXELS;
  const preprocess = familyPreprocessing(family);
  return preprocess ? PIXEL_CONVENTIONS[preprocess] : null;
}
