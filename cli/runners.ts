import type { Runner } from '../core/runner.ts';
import type { TargetDefinition } from '../targets/targets.ts';

/**
 * Runners by the name suites use, bound to the run's target; imported lazily so `bench list`
 * does not load ONNX Runtime.
 */
export async function loadRunners(target?: TargetDefinition): Promise<Record<string, Runner>> {
  const [{ ortRunner }, { endpointRunner }, { createCommandRunner }, { createAxeraSubgraphRunner }] = await Promise.all([
    import('../runners/ort/index.ts'),
    import('../runners/endpoint/index.ts'),
    import('../runners/command/index.ts'),
    import('../runners/axera/index.ts'),
  ]);
  const opts = target ? { target } : {};
  return {
    ort: ortRunner,
    endpoint: endpointRunner,
    command: createCommandRunner(opts),
    'axera-subgraph': createAxeraSubgraphRunner(opts),
  };
}
