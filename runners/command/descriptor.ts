import type { RunnerDescriptor } from '../descriptor.ts';
import { COMMAND_RUNNER_SPEC } from './spec.ts';

export const COMMAND_RUNNER: RunnerDescriptor = {
  spec: COMMAND_RUNNER_SPEC,
  description: "a command line per iteration (llama.cpp CLIs, vendor demos), timed from the tool's own log, local or on a board",
  capabilities: { inProcess: false, streamsTokens: false, takesImages: true, buildsZooModels: false, measuresRemoteServer: false },
  backendLabel: () => 'command',
  load: async ({ target }) => (await import('./index.ts')).createCommandRunner(target ? { target } : {}),
};
