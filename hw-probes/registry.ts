/**
 * The one list of hardware probes, by the name targets.yaml, suites and --probe use. Built-in
 * probes are listed below; a user's probe is added with `registerProbe` (the plug-in loader,
 * harness/plugins.ts, calls it for each `plugins:` entry of bench.config.yaml).
 */
import { InputError, ValidationError } from '../core/errors.ts';
import { issueText } from '../core/validate.ts';
import type { TargetDefinition } from '../targets/types.ts';
import { AXERA_PROBE } from './axera/descriptor.ts';
import type { ProbeDescriptor, ProbeTool, SampledQuantity } from './descriptor.ts';
import { HWMON_PROBE } from './hwmon.ts';
import { NVIDIA_SMI_PROBE } from './nvidia-smi/descriptor.ts';
import { POWERCAP_PROBE } from './powercap.ts';
import { SYSTEM_PROBE } from './system.ts';
import { TEGRASTATS_PROBE } from './tegrastats/descriptor.ts';

export type { BoardCheck, ProbeContext, ProbeDescriptor, ProbeTool, SampledQuantity } from './descriptor.ts';

const BUILT_IN: readonly ProbeDescriptor[] = [TEGRASTATS_PROBE, AXERA_PROBE, HWMON_PROBE, POWERCAP_PROBE, NVIDIA_SMI_PROBE, SYSTEM_PROBE];

const registry = new Map<string, ProbeDescriptor>(BUILT_IN.map((d) => [d.name, d]));

/** Names a probe may have: they key result records, warnings and environment facts. */
const PROBE_NAME = /^[a-z][a-z0-9-]{0,39}$/;

/** Adds a probe; a name already taken or not of the allowed form is refused (never replaced). */
export function registerProbe(descriptor: ProbeDescriptor, from = 'a plug-in'): void {
  const name = descriptor.name;
  if (typeof name !== 'string' || !PROBE_NAME.test(name)) {
    throw new InputError(`${from}: probe name ${JSON.stringify(name)} is not allowed; expected lower-case letters, digits and "-" (at most 40), starting with a letter`);
  }
  if (registry.has(name)) throw new InputError(`${from}: a probe named "${name}" is already registered`);
  registry.set(name, descriptor);
}

export function probeDescriptors(): readonly ProbeDescriptor[] {
  return [...registry.values()];
}

export function probeNames(): string[] {
  return [...registry.keys()];
}

export function probeDescriptor(name: string): ProbeDescriptor | undefined {
  return registry.get(name);
}

export function isProbeName(name: string): boolean {
  return registry.has(name);
}

/** Tools the named probes need (unknown names need none). */
export function probeTools(names: readonly string[]): ProbeTool[] {
  return names.flatMap((n) => registry.get(n)?.tools ?? []);
}

export function probeSamples(name: string, quantity: SampledQuantity): boolean {
  return registry.get(name)?.samples.includes(quantity) ?? false;
}

/** "expected one of "a", "b"": the words the validator uses for an enum, so every probe-name error reads alike. */
export function expectedProbeNames(): string {
  return `expected one of ${probeNames().map((n) => JSON.stringify(n)).join(', ')}`;
}

/** Refuses a probe name the registry does not know, naming the file, the target and the field, as the validator does. */
export function checkTargetProbes(target: TargetDefinition): void {
  (target.probes ?? []).forEach((name, i) => {
    if (registry.has(name)) return;
    const field = `probes[${i}]`;
    throw new ValidationError(target.source, field, expectedProbeNames(), issueText(target.source, field, expectedProbeNames(), `target "${target.name}"`));
  });
}
