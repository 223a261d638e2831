import type { Runner } from '../core/runner.ts';

/** Runners by the name suites use; imported lazily so `bench list` does not load ONNX Runtime. */
export async function loadRunners(): Promise<Record<string, Runner>> {
  const { ortRunner } = await import('../runners/ort/index.ts');
  return { ort: ortRunner };
}
