/**
 * Targets come from the targets file (`--targets FILE`, $BENCH_TARGETS or ./targets.yaml; see
 * targets.example.yaml); `local` always exists. Errors name the file, the target and the field;
 * probe names are checked against the probe registry (harness/plan-run.ts).
 */
export { listTargets, resolveTarget } from '../harness/plan-run.ts';
export type { TargetDefinition } from '../targets/types.ts';
