/**
 * The zoo's int8 linear form, defined once for the model builder (models/layers/linear.ts) and
 * the roofline calibration graphs (hw-probes/calibrate/graphs.ts), so both run the same kernels.
 *
 * Why 7-bit weight codes. DynamicQuantizeMatMul (and MatMulInteger) quantise activations to u8
 * and, with s8 weights, run MLAS's U8S8 kernels. On x86 without VNNI (AVX2, AVX-512 BW/Core)
 * those multiply with VPMADDUBSW, which adds each pair of u8*s8 products into an int16 with
 * saturation (MLAS QgemmU8S8KernelAvx2.S, `vpmaddubsw` + `vpmaddwd` with ones). The raw u8
 * codes are used, the zero point is corrected afterwards, so a pair can reach 2*255*127 = 64770
 * and is clipped to 32767: int8 models were numerically wrong on such CPUs (logit cosine 0.79
 * vs 0.9993 on AVX-512 VNNI, whose VPDPBUSD accumulates in int32). Keeping every weight code in
 * [-64, 64] bounds a pair by 2*255*64 = 32640 <= 32767, so no CPU saturates and every CPU
 * computes the same integers; this is what ORT's own quantiser does with `reduce_range`
 * ("7-bit quantization for better accuracy on non-VNNI CPUs"), and what OpenVINO documents as
 * the workaround for the same saturation. The kernels, file size and speed are those of s8.
 */

/** Identifier recorded in builder.json and in each result cell (`settings.int8Form`). */
export const INT8_FORM_ID = 's7-dynamic-quantize-matmul';

/** Largest weight code magnitude: symmetric codes in [-INT8_CODE_LIMIT, INT8_CODE_LIMIT]. */
export const INT8_CODE_LIMIT = 64;

/** Largest u8 activation code DynamicQuantizeLinear / DynamicQuantizeMatMul produce. */
export const U8_ACTIVATION_MAX = 255;

/** int16 range VPMADDUBSW saturates to. */
export const INT16_MAX = 32767;
export const INT16_MIN = -32768;

/** Worst |pair sum| VPMADDUBSW sees with u8 activations and weight codes within `limit`. */
export function worstPairSum(limit: number): number {
  return 2 * U8_ACTIVATION_MAX * limit;
}

/** One sentence for reports and method strings. */
export const INT8_FORM_TEXT =
  'com.microsoft.DynamicQuantizeMatMul, symmetric per-output-channel weights with 7-bit codes (|q| <= 64, as ORT reduce_range) + fp32 scales, u8 dynamic activations';
