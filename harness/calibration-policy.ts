import { suiteRunnerNames } from '../core/matrix.ts';
import type { RunResult } from '../core/result-types.ts';
import type { Calibration } from '../core/calibration-types.ts';
import { runnerCan } from '../runners/registry.ts';

/**
 * Whether `bench run` should measure this machine after its cells, and the line it logs when it
 * does; null when it should not. Only local runs of in-process runners (capability inProcess: ORT, llama.cpp) are measured (a board's accelerator is not
 * this CPU). Without `--recalibrate`, only full-scale runs that find no calibration, or one made
 * before decode kernel ceilings were measured; with it, every local ORT run, so on a shared
 * machine the bounds describe the conditions of this run.
 */
export function calibrationReason(result: RunResult, existing: Calibration | null, recalibrate: boolean): string | null {
  const suite = result.suite.definition;
  if (result.target !== 'local' || !suiteRunnerNames(suite).some((r) => runnerCan(r, 'inProcess'))) return null;
  const when = 'for roofline bounds (about 20 s)';
  if (recalibrate) return `--recalibrate: measuring memory bandwidth, matmul peaks and decode kernel ceilings again ${when}`;
  const fullScale = !('zoo' in suite.model) || suite.model.scale === 'full';
  if (!fullScale) return null;
  if (!existing) return `no calibration of this machine yet: measuring memory bandwidth, matmul peaks and decode kernel ceilings ${when}, once`;
  if (!existing.weightStream || !existing.decodeAttention) {
    return `the calibration of this machine has no decode kernel ceilings yet: measuring it again ${when}, once`;
  }
  return null;
}
