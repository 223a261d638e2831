/**
 * What the rest of the suite knows about a runner: its spec (axes and options a suite may give
 * it), its capabilities, the label of its runtime in tables, and a lazy loader. Each runner
 * declares one in its own folder (runners/<name>/descriptor.ts) and runners/registry.ts lists
 * them; the harness, reporters, publish and the CLI read capabilities from here instead of
 * comparing runner names, so a new runner is one folder and one line in the registry (or one
 * line of `plugins:` in bench.config.yaml, see docs/architecture.md).
 *
 * A descriptor imports no runtime (ONNX Runtime, node-llama-cpp): `load` imports the runner
 * module when a run needs it, so `bench list` and the suite loader stay light.
 */
import { InputError } from '../core/errors.ts';
import type { Runner } from '../core/runner.ts';
import type { TargetDefinition } from '../targets/types.ts';
import type { RunnerSpec } from './spec.ts';

export interface RunnerCapabilities {
  /**
   * Computes in this process on this machine's CPU (on an SSH target through `bench worker` on
   * the board): this machine's calibration bounds its cells, and `bench run` calibrates for it.
   */
  inProcess: boolean;
  /** Times each generated token as it comes (TTFT and inter-token latencies per token). */
  streamsTokens: boolean;
  /** Takes images in a request (an `images` axis above 0). */
  takesImages: boolean;
  /** Runs the zoo's synthetic ONNX builds; a first local run builds the missing ones in parallel first. */
  buildsZooModels: boolean;
  /**
   * Measures a server somewhere else: the hardware is the server's, which this machine cannot
   * see, so there is no roofline and the board is named by the server's address.
   */
  measuresRemoteServer: boolean;
}

/** What a cell recorded that names its runtime: the cell's settings and the run's library versions. */
export interface BackendFacts {
  settings: Readonly<Record<string, unknown>>;
  versions: Readonly<Record<string, string>>;
}

export interface RunnerDescriptor {
  spec: RunnerSpec;
  capabilities: RunnerCapabilities;
  /** One line naming the runtime a cell ran on ("ort 1.30.0", "endpoint llama.cpp"), for tables. */
  backendLabel(facts: BackendFacts): string;
  /** The runner, bound to the run's target (absent: this machine / the suite's own target option). */
  load(opts: { target?: TargetDefinition }): Promise<Runner>;
  /** One sentence for `bench list runners`. */
  description: string;
}

/** A runner that can only compute on this machine, refusing cells meant for a remote target. */
export function localOnly(runner: Runner, targetName: string, alternative: string): Runner {
  return {
    name: runner.name,
    prepare: () => Promise.reject(new InputError(`${runner.name} runner: runs in this process only, not on target "${targetName}"; ${alternative}`)),
  };
}
