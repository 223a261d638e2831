import type { RunnerDescriptor } from '../descriptor.ts';
import { AXERA_RUNNER_SPEC } from './spec.ts';

export const AXERA_RUNNER: RunnerDescriptor = {
  spec: AXERA_RUNNER_SPEC,
  description: 'Axera NPU: per-subgraph timing (ax_run_model) composed into whole-request figures, or the board demo\'s own log',
  capabilities: { inProcess: false, streamsTokens: false, takesImages: true, buildsZooModels: false, measuresRemoteServer: false },
  backendLabel: ({ settings: s }) => `axera ${s['engineVersion'] ? `engine ${String(s['engineVersion'])}` : '(engine version not recorded)'}`,
  load: async ({ target }) => (await import('./index.ts')).createAxeraSubgraphRunner(target ? { target } : {}),
};
