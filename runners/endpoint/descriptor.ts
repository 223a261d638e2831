import type { RunnerDescriptor } from '../descriptor.ts';
import { ENDPOINT_RUNNER_SPEC } from './spec.ts';

export const ENDPOINT_RUNNER: RunnerDescriptor = {
  spec: ENDPOINT_RUNNER_SPEC,
  description: 'an OpenAI-compatible streaming server, reached over HTTP from this machine',
  capabilities: { inProcess: false, streamsTokens: true, takesImages: true, buildsZooModels: false, measuresRemoteServer: true },
  backendLabel: ({ settings }) => `endpoint ${String(settings['server'] ?? '(server not identified)')}`,
  load: async () => (await import('./index.ts')).endpointRunner,
};
