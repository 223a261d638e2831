import { FRAMES_AXIS, IMAGES_AXIS, PREFILL_AXIS, RESOLUTION_AXIS, enumAxis, intAxis, type RunnerSpec } from '../spec.ts';

/** Precisions the model zoo synthesises and the onnx-community file suffixes the runner maps. */
export const ORT_PRECISIONS = ['fp32', 'fp16', 'int8', 'int4'] as const;

/** The in-process ONNX Runtime runner (also on a board through `bench worker`). */
export const ORT_RUNNER_SPEC: RunnerSpec = {
  name: 'ort',
  axes: {
    images: IMAGES_AXIS,
    prefill: PREFILL_AXIS,
    precision: enumAxis('weight precision of every graph', ORT_PRECISIONS),
    vision_precision: enumAxis('weight precision of the vision encoder (overrides precision for it)', ORT_PRECISIONS),
    llm_precision: enumAxis('weight precision of the LLM graphs (overrides precision for them)', ORT_PRECISIONS),
    output_tokens: intAxis('tokens generated per request', 1),
    chunk: intAxis('prefill chunk size in tokens (0 = whole prompt)', 0),
    resolution: RESOLUTION_AXIS,
    frames: FRAMES_AXIS,
  },
  options: [
    // real exports: what their graphs do not say
    'vocab',
    'imageSize',
    'tokensPerImage',
    'kvCache',
    // preprocessing (defaults: the reference implementations')
    'preprocess',
    'maxTiles',
    'maxPixels',
    'minPixels',
    // real images and video sources
    'images',
    'videoFrames',
    // on a board (SSH target): which target, and how to start `bench worker` there
    'target',
    'remoteBench',
  ],
};
