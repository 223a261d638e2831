/** The one list of runner specs (axes and options), by the name suites use in `runner:`. */
import { AXERA_RUNNER_SPEC } from './axera/spec.ts';
import { COMMAND_RUNNER_SPEC } from './command/spec.ts';
import { ENDPOINT_RUNNER_SPEC } from './endpoint/spec.ts';
import { LLAMACPP_RUNNER_SPEC } from './llamacpp/spec.ts';
import { ORT_RUNNER_SPEC } from './ort/spec.ts';
import type { RunnerSpec } from './spec.ts';

export const RUNNER_SPECS: Readonly<Record<string, RunnerSpec>> = Object.fromEntries(
  [ORT_RUNNER_SPEC, LLAMACPP_RUNNER_SPEC, ENDPOINT_RUNNER_SPEC, COMMAND_RUNNER_SPEC, AXERA_RUNNER_SPEC].map((s) => [s.name, s]),
);
