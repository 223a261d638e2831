import { localOnly, type RunnerDescriptor } from '../descriptor.ts';
import { LLAMACPP_RUNNER_SPEC } from './spec.ts';

export const LLAMACPP_RUNNER: RunnerDescriptor = {
  spec: LLAMACPP_RUNNER_SPEC,
  description: "llama.cpp in this process on the zoo's GGUF builds (text: node-llama-cpp; images: the suite's mtmd addon on node-llama-cpp's llama.cpp libraries, with the zoo's mmproj)",
  capabilities: { inProcess: true, streamsTokens: true, takesImages: true, buildsZooModels: false, measuresRemoteServer: false },
  backendLabel: ({ settings: s }) => `llamacpp ${String(s['binding'] ?? '(binding not recorded)')}${s['ggufType'] ? ` ${String(s['ggufType'])}` : ''}`,
  async load({ target }) {
    const { llamaCppRunner } = await import('./index.ts');
    // llama.cpp runs in this process only (no worker for it on a board yet): refused on SSH targets.
    if (target && target.kind === 'ssh') {
      return localOnly(llamaCppRunner, target.name, 'on a board use runner command (llama-bench) or endpoint (llama-server)');
    }
    return llamaCppRunner;
  },
};
