import { loadTargets, resolveTarget as resolveFromFile, type TargetDefinition } from '../targets/targets.ts';

/**
 * Targets come from the targets file (`--targets FILE`, $BENCH_TARGETS or ./targets.yaml; see
 * targets.example.yaml); `local` always exists. Errors name the file, the target and the field.
 */
export function resolveTarget(name: string, file?: string): TargetDefinition {
  return resolveFromFile(name, file);
}

export function listTargets(file?: string): TargetDefinition[] {
  return loadTargets(file);
}

export type { TargetDefinition };
