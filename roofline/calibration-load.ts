/**
 * Whether a calibration was measured on a busy machine. Other work running while the machine is
 * calibrated lowers every measured rate, so every bound computed from it reads slow, and a
 * runtime may then "beat" its bound (the roofline report says the bound is wrong). The 1-minute
 * load average before measuring is what tells: the one after includes the calibration's own
 * threads.
 */
import type { Calibration } from '../core/calibration-types.ts';

/** Runnable work per CPU, before measuring, above which the machine counts as busy. */
export const BUSY_LOAD_PER_CPU = 0.5;

/** A sentence saying the calibration was measured on a busy machine, or null (quiet, or not recorded). */
export function busyCalibrationNote(c: Pick<Calibration, 'loadAverage' | 'machine'>): string | null {
  const before = c.loadAverage?.before[0];
  const cpus = c.machine.cores;
  if (before === undefined || !Number.isFinite(before) || !(cpus > 0) || before <= cpus * BUSY_LOAD_PER_CPU) return null;
  const after = c.loadAverage?.after[0];
  return (
    `measured on a busy machine (1-minute load average ${before.toFixed(2)} before${after !== undefined && Number.isFinite(after) ? `, ${after.toFixed(2)} after` : ''}, on ${cpus} CPUs): ` +
    'its rates may read low and every bound computed from it slow; calibrate again on a quiet machine'
  );
}
