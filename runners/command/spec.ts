import { IMAGES_AXIS, PREFILL_AXIS, labelAxis, type RunnerSpec } from '../spec.ts';

/** A command line per iteration (llama.cpp CLIs, vendor demos), local or on a board. */
export const COMMAND_RUNNER_SPEC: RunnerSpec = {
  name: 'command',
  axes: {
    images: IMAGES_AXIS,
    prefill: PREFILL_AXIS,
    precision: labelAxis('what the command runs (recorded, not set by the runner)'),
  },
  options: ['target', 'command', 'parser', 'stdin', 'imageFiles', 'vars', 'timeoutMs', 'promptSeed', 'weightFormat'],
};
