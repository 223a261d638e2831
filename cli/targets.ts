import { checkTargetProbes } from '../hw-probes/registry.ts';
import { loadTargets, resolveTarget as resolveFromFile, type TargetDefinition } from '../targets/targets.ts';

/**
 * Targets come from the targets file (`--targets FILE`, $BENCH_TARGETS or ./targets.yaml; see
 * targets.example.yaml); `local` always exists. Errors name the file, the target and the field.
 */
export function resolveTarget(name: string, file?: string): TargetDefinition {
  listTargets(file);
  return resolveFromFile(name, file);
}

/** Every target, each probe name checked against the probe registry (plug-ins included). */
export function listTargets(file?: string): TargetDefinition[] {
  const targets = loadTargets(file);
  for (const t of targets) checkTargetProbes(t);
  return targets;
}

export type { TargetDefinition };
