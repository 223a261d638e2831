import type { Runner } from '../core/runner.ts';

/** Runners by the name suites use; imported lazily so `bench list` does not load ONNX Runtime. */
export async function loadRunners(): Promise<Record<string, Runner>> {
  const [{ ortRunner }, { endpointRunner }] = await Promise.all([
    import('../runners/ort/index.ts'),
    import('../runners/endpoint/index.ts'),
  ]);
  return { ort: ortRunner, endpoint: endpointRunner };
}
