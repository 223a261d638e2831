import { IMAGES_AXIS, PREFILL_AXIS, labelAxis, type RunnerSpec } from '../spec.ts';

/** Axera per-subgraph timing (ax_run_model) composed into the Axera table. */
export const AXERA_RUNNER_SPEC: RunnerSpec = {
  name: 'axera-subgraph',
  axes: {
    images: IMAGES_AXIS,
    prefill: PREFILL_AXIS,
    precision: labelAxis('what the axmodels were compiled as (recorded, not set by the runner)'),
  },
  options: ['layers', 'chunkSize', 'tokensPerImage', 'graphs', 'axRunModel', 'mode', 'demo', 'target', 'hashGraphs'],
};
