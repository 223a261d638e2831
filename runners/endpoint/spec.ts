import { IMAGES_AXIS, PREFILL_AXIS, RESOLUTION_AXIS, intAxis, labelAxis, type RunnerSpec } from '../spec.ts';

/** OpenAI-compatible streaming servers. */
export const ENDPOINT_RUNNER_SPEC: RunnerSpec = {
  name: 'endpoint',
  axes: {
    images: IMAGES_AXIS,
    prefill: PREFILL_AXIS,
    concurrency: intAxis('requests in flight together', 1),
    image_size: {
      meaning: 'size of the generated test images',
      allowed: 'pixels such as 448 or "640x480"',
      accepts: (v) => (typeof v === 'number' && Number.isInteger(v) && v > 0) || (typeof v === 'string' && /^\d+(x\d+)?$/.test(v.trim())),
    },
    resolution: { ...RESOLUTION_AXIS, meaning: 'size of the images sent (files scaled to it, or generated at it); the server preprocesses them' },
    precision: labelAxis('what the server runs (recorded, not set by the runner)'),
  },
  options: [
    'url',
    'model',
    'maxTokens',
    'apiKeyEnv',
    'timeoutMs',
    'maxSseLineBytes',
    'deadlineMs',
    'maxResponseBytes',
    'requestRate',
    'ttftTargetMs',
    'tpotTargetMs',
    'e2eTargetMs',
    'imageFiles',
    'imageSize',
    'imagePattern',
    'uniqueInputs',
    'fixedOutputLength',
    'serverParams',
    'calibrate',
    'seed',
    'extraBody',
  ],
};
