/**
 * The one place a run's result is finished: roofline bounds recorded with the calibration they
 * come from, status and end time set, written. And the one place it is marked interrupted.
 */
import type { Calibration } from '../core/calibration-types.ts';
import type { RunResult } from '../core/result-types.ts';
import { calibrate } from '../roofline/calibrate/calibrate.ts';
import { findCalibration, saveCalibration } from '../roofline/calibrate/store.ts';
import { rooflineRecord } from '../roofline/record.ts';
import { calibrationReason } from './calibration-policy.ts';
import type { ResultStore } from './result-store.ts';
import { allCellsRecorded } from './run-plan.ts';
import { errorMessage } from '../core/errors.ts';

/** Whether a run measures this machine for its roofline when it ends (bench run's --no-calibrate / --recalibrate). */
export interface RooflinePolicy {
  calibrate: boolean;
  recalibrate: boolean;
}

/**
 * The report's roofline needs this machine's bandwidth, matmul peaks and decode kernel
 * ceilings. The first full-scale local run measures them (about 20 s, after the cells, on an
 * idle machine) and saves them for later runs; `--recalibrate` measures them after every run;
 * `bench calibrate --long` gives steadier figures. See calibration-policy.ts.
 */
async function calibrationFor(result: RunResult, policy: RooflinePolicy, log: (message: string) => void): Promise<Calibration | null> {
  const existing = findCalibration({ target: result.target, host: result.environment.host.hostname }).calibration;
  if (!policy.calibrate) return existing;
  const reason = calibrationReason(result, existing, policy.recalibrate);
  if (!reason) return existing;
  log(reason);
  try {
    const c = await calibrate({ target: 'local' });
    log(`calibration saved: ${saveCalibration(c)}`);
    return c;
  } catch (err) {
    log(`calibration failed, the report has no roofline: ${errorMessage(err)}`);
    return existing;
  }
}

/** Records the roofline (when a policy is given and a calibration exists), marks the run complete and writes it. */
export async function finishRun(store: ResultStore, policy: RooflinePolicy | undefined, log: (message: string) => void): Promise<void> {
  const result = store.result;
  if (policy && result.cells.some((c) => c.status === 'ok')) {
    const calibration = await calibrationFor(result, policy, log);
    if (calibration) result.roofline = rooflineRecord(result, calibration);
  }
  result.status = 'complete';
  result.finishedAt = new Date().toISOString();
  store.flush();
}

/** The signals that stop a run: Ctrl-C, kill / timeout, and a closed terminal or ssh session. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const satisfies readonly NodeJS.Signals[];

/** 128 + the signal's number, as shells report it: 129 SIGHUP, 130 SIGINT, 143 SIGTERM. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGHUP' ? 129 : signal === 'SIGTERM' ? 143 : 130;
}

/**
 * Finished cells are already on disk; the mark tells a reader (and --resume) the run did not end.
 * A signal after the last cell was recorded does not make a complete run interrupted: it is
 * marked complete (without the roofline, if that was still being measured).
 */
export function markInterrupted(store: ResultStore, signal: NodeJS.Signals): void {
  if (allCellsRecorded(store.result)) {
    if (store.result.status !== 'complete') {
      store.result.status = 'complete';
      store.result.finishedAt = new Date().toISOString();
      store.result.warnings.push(`${signal} after the last cell, at ${store.result.finishedAt}: the run's cells are complete`);
    }
  } else {
    store.result.status = 'interrupted';
    store.result.warnings.push(`interrupted by ${signal} at ${new Date().toISOString()}`);
  }
  store.flush();
}
