import type { RunnerDescriptor } from '../descriptor.ts';
import { ORT_RUNNER_SPEC } from './spec.ts';

export const ORT_RUNNER: RunnerDescriptor = {
  spec: ORT_RUNNER_SPEC,
  description: 'ONNX Runtime in this process on the zoo or an onnx-community export (on an SSH target: bench worker on the board)',
  capabilities: { inProcess: true, streamsTokens: true, takesImages: true, buildsZooModels: true, measuresRemoteServer: false },
  backendLabel: ({ versions }) => `ort ${versions['onnxruntime-node'] ?? '(version not recorded)'}`,
  async load({ target }) {
    // On an SSH target the in-process runner runs on the board (bench worker) and streams back.
    if (target && target.kind === 'ssh') return (await import('../remote/index.ts')).createRemoteOrtRunner({ target });
    return (await import('./index.ts')).ortRunner;
  },
};
