/**
 * The one list of hardware probes, by the name targets.yaml, suites and --probe use. Built-in
 * probes are listed below; a user's probe is added with `registerProbe` (the plug-in loader,
 * harness/plugins.ts, calls it for each `plugins:` entry of bench.config.yaml).
 */
import { ValidationError } from '../core/errors.ts';
import { NamedRegistry } from '../core/named-registry.ts';
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

const registry = new NamedRegistry<ProbeDescriptor>('probe', (d) => d.name, BUILT_IN);

/** Adds a probe; a name already taken or not of the allowed form is refused (never replaced). */
export function registerProbe(descriptor: ProbeDescriptor, from = 'a plug-in'): void {
  registry.register(descriptor, from);
}

export function probeDescriptors(): readonly ProbeDescriptor[] {
  return registry.all();
}

export function probeNames(): string[] {
  return registry.names();
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
