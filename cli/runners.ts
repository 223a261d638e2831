import { InputError } from '../core/errors.ts';
import type { Runner } from '../core/runner.ts';
import type { TargetDefinition } from '../targets/targets.ts';

/**
 * Runners by the name suites use, bound to the run's target; imported lazily so `bench list`
 * does not load ONNX Runtime.
 */
export async function loadRunners(target?: TargetDefinition): Promise<Record<string, Runner>> {
  const [{ ortRunner }, { llamaCppRunner }, { createRemoteOrtRunner }, { endpointRunner }, { createCommandRunner }, { createAxeraSubgraphRunner }] = await Promise.all([
    import('../runners/ort/index.ts'),
    import('../runners/llamacpp/index.ts'),
    import('../runners/remote/index.ts'),
    import('../runners/endpoint/index.ts'),
    import('../runners/command/index.ts'),
    import('../runners/axera/index.ts'),
  ]);
  const opts = target ? { target } : {};
  return {
    // On an SSH target the in-process runner runs on the board (bench worker) and streams back.
    ort: target && target.kind === 'ssh' ? createRemoteOrtRunner(opts) : ortRunner,
    // llama.cpp runs in this process only (no worker for it on a board yet): refused on SSH targets.
    llamacpp: target && target.kind === 'ssh' ? localOnly(llamaCppRunner, target.name) : llamaCppRunner,
    endpoint: endpointRunner,
    command: createCommandRunner(opts),
    'axera-subgraph': createAxeraSubgraphRunner(opts),
  };
}

/** A runner that can only compute on this machine, refusing cells meant for a remote target. */
function localOnly(runner: Runner, targetName: string): Runner {
  return {
    name: runner.name,
    prepare: () =>
      Promise.reject(
        new InputError(`${runner.name} runner: runs in this process only, not on target "${targetName}"; on a board use runner command (llama-bench) or endpoint (llama-server)`),
      ),
  };
}
