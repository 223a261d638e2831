import { InputError } from '../core/errors.ts';

export interface TargetInfo {
  name: string;
  kind: 'local';
  description: string;
}

/** Targets this build knows. Board targets (SSH) come from a targets file in a later change. */
export const BUILTIN_TARGETS: TargetInfo[] = [
  { name: 'local', kind: 'local', description: 'this machine, in process (ONNX Runtime CPU execution provider)' },
];

export function resolveTarget(name: string): TargetInfo {
  const t = BUILTIN_TARGETS.find((x) => x.name === name);
  if (!t) {
    throw new InputError(`unknown target "${name}"; known targets: ${BUILTIN_TARGETS.map((x) => x.name).join(', ')}`);
  }
  return t;
}
