/**
 * The one list of runners, by the name suites use in `runner:`. Built-in runners are listed
 * below; a user's runner (a module outside this repository) is added with `registerRunner`,
 * which the plug-in loader (harness/plugins.ts) calls for each `plugins:` entry of
 * bench.config.yaml. Everything that needs to know what a runner can do asks here.
 */
import { InputError } from '../core/errors.ts';
import type { Runner } from '../core/runner.ts';
import type { TargetDefinition } from '../targets/types.ts';
import { AXERA_RUNNER } from './axera/descriptor.ts';
import { COMMAND_RUNNER } from './command/descriptor.ts';
import { ENDPOINT_RUNNER } from './endpoint/descriptor.ts';
import { LLAMACPP_RUNNER } from './llamacpp/descriptor.ts';
import { ORT_RUNNER } from './ort/descriptor.ts';
import type { BackendFacts, RunnerCapabilities, RunnerDescriptor } from './descriptor.ts';
import type { RunnerSpec } from './spec.ts';

export type { RunnerCapabilities, RunnerDescriptor } from './descriptor.ts';

const BUILT_IN: readonly RunnerDescriptor[] = [ORT_RUNNER, LLAMACPP_RUNNER, ENDPOINT_RUNNER, COMMAND_RUNNER, AXERA_RUNNER];

const registry = new Map<string, RunnerDescriptor>(BUILT_IN.map((d) => [d.spec.name, d]));

/** Names a runner may have: they appear in suites, cell ids, file names and tables. */
const RUNNER_NAME = /^[a-z][a-z0-9-]{0,39}$/;

/** Adds a runner; a name already taken or not of the allowed form is refused (never replaced). */
export function registerRunner(descriptor: RunnerDescriptor, from = 'a plug-in'): void {
  const name = descriptor.spec?.name;
  if (typeof name !== 'string' || !RUNNER_NAME.test(name)) {
    throw new InputError(`${from}: runner name ${JSON.stringify(name)} is not allowed; expected lower-case letters, digits and "-" (at most 40), starting with a letter`);
  }
  if (registry.has(name)) throw new InputError(`${from}: a runner named "${name}" is already registered`);
  registry.set(name, descriptor);
}

export function runnerDescriptors(): readonly RunnerDescriptor[] {
  return [...registry.values()];
}

export function runnerNames(): string[] {
  return [...registry.keys()];
}

export function runnerDescriptor(name: string): RunnerDescriptor | undefined {
  return registry.get(name);
}

export function runnerSpec(name: string): RunnerSpec | undefined {
  return registry.get(name)?.spec;
}

/** Whether the named runner has a capability; an unknown runner (an old result's, a plug-in not loaded) has none. */
export function runnerCan(name: string | undefined, capability: keyof RunnerCapabilities): boolean {
  return (name !== undefined && registry.get(name)?.capabilities[capability]) ?? false;
}

/** The runtime a cell ran on, for tables; an unknown runner is named as it is. */
export function backendLabel(name: string, facts: BackendFacts): string {
  return registry.get(name)?.backendLabel(facts) ?? name;
}

/**
 * Every registered runner, bound to the run's target; loaded concurrently and lazily (each
 * descriptor imports its runtime here), so `bench list` does not load ONNX Runtime.
 */
export async function loadRunners(target?: TargetDefinition): Promise<Record<string, Runner>> {
  const opts = target ? { target } : {};
  const entries = await Promise.all(runnerDescriptors().map(async (d) => [d.spec.name, await d.load(opts)] as const));
  return Object.fromEntries(entries);
}
