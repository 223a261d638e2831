import { describe, expect, it } from 'vitest';
import type { Calibration } from '../../core/calibration-types.ts';
import { busyCalibrationNote } from '../../roofline/calibration-load.ts';
import { calibrationSummary } from '../../reporters/report-roofline.ts';

const figure = (value: number) => ({ value, source: 'measured' as const, method: 'test' });

function calibration(before: number[], after: number[], cores = 2): Calibration {
  return {
    schemaVersion: 1,
    host: 'vm',
    target: 'local',
    createdAt: '2026-12-06T04:00:00.000Z',
    durationMs: 17000,
    machine: { cpu: 'AMD EPYC', cores, memoryBytes: null, llcBytes: null, runtime: 'onnxruntime-node 1.30.0' },
    threads: 2,
    loadAverage: { before, after },
    bandwidth: { read: figure(21.3), copy: null, extra: {} },
    matmul: { int8: figure(69.1) },
    matmulExtra: {},
    runtimeFormats: {},
    notes: [],
  } as unknown as Calibration;
}

describe('a calibration measured on a busy machine', () => {
  it('is named with its load when more than half the CPUs were busy before measuring', () => {
    // The load of the README example's calibration (5-10 on 2 CPUs) against a quiet one (1.2 -> 0.6 per CPU is busy too).
    expect(busyCalibrationNote(calibration([5.12, 4, 3], [5.4, 4, 3]))).toBe(
      'measured on a busy machine (1-minute load average 5.12 before, 5.40 after, on 2 CPUs): its rates may read low and every bound computed from it slow; calibrate again on a quiet machine',
    );
    expect(busyCalibrationNote(calibration([1.01, 1, 1], [2, 1, 1]))).toContain('1.01 before');
    // At most half the CPUs busy before: quiet. The load after includes the calibration's own threads, so it does not count.
    expect(busyCalibrationNote(calibration([1.0, 1, 1], [2.9, 1, 1]))).toBeNull();
    expect(busyCalibrationNote(calibration([3.9, 1, 1], [3.9, 1, 1], 8))).toBeNull();
    // Not recorded (a published calibration): nothing to say.
    const published = calibration([9], [9]);
    delete published.loadAverage;
    expect(busyCalibrationNote(published)).toBeNull();
  });

  it('the roofline report names it beside the calibration the bounds come from', () => {
    expect(calibrationSummary(calibration([5.12, 4, 3], [5.4, 4, 3]))).toMatch(/int8 matmul 69\.10 G op\/s \(measured\)\. \*\*Warning:\*\* measured on a busy machine \(1-minute load average 5\.12 before/);
    expect(calibrationSummary(calibration([0.3, 1, 1], [1.1, 1, 1]))).not.toContain('Warning');
  });
});
