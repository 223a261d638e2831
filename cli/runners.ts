import type { Runner } from '../core/runner.ts';
import type { TargetDefinition } from '../targets/targets.ts';

/**
 * Runners by the name suites use, bound to the run's target; imported lazily so `bench list`
 * does not load ONNX Runtime.
 */
export async function loadRunners(target?: TargetDefinition): Promise<Record<string, Runner>> {
  const [{ ortRunner }, { createRemoteOrtRunner }, { endpointRunner }, { createCommandRunner }, { createAxeraSubgraphRunner }] = await Promise.all([
    import('../runners/ort/index.ts'),
    import('../runners/remote/index.ts'),
    import('../runners/endpoint/index.ts'),
    import('../runners/command/index.ts'),
    import('../runners/axera/index.ts'),
  ]);
  const opts = target ? { target } : {};
  return {
    // On an SSH target the in-process runner runs on the board (bench worker) and streams back.
    ort: target && target.kind === 'ssh' ? createRemoteOrtRunner(opts) : ortRunner,
    endpoint: endpointRunner,
    command: createCommandRunner(opts),
    'axera-subgraph': createAxeraSubgraphRunner(opts),
  };
}
