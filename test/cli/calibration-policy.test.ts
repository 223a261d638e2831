import { describe, expect, it } from 'vitest';
import { calibrationReason } from '../../harness/calibration-policy.ts';
import { measured, runWith, testCalibration } from '../roofline/fixtures.ts';

/** runWith(): a full-scale zoo suite on target local with the ort runner. */
describe('when bench run measures this machine', () => {
  const full = testCalibration({ weightStream: { int8: measured(30) }, decodeAttention: measured(16) });

  it('once: without a calibration, or with one that predates the decode kernel ceilings', () => {
    const run = runWith([]);
    expect(calibrationReason(run, null, false)).toMatch(/^no calibration of this machine yet: .* once$/);
    expect(calibrationReason(run, testCalibration(), false)).toMatch(/^the calibration of this machine has no decode kernel ceilings yet/);
    expect(calibrationReason(run, testCalibration({ weightStream: { int8: measured(30) } }), false)).toMatch(/no decode kernel ceilings yet/);
    expect(calibrationReason(run, full, false)).toBeNull();
  });

  it('every time with --recalibrate, tiny scale included', () => {
    const tiny = runWith([]);
    tiny.suite.definition.model = { zoo: 'internvl2_5-1b', scale: 'tiny' };
    expect(calibrationReason(tiny, full, false)).toBeNull();
    expect(calibrationReason(tiny, null, false)).toBeNull();
    expect(calibrationReason(tiny, full, true)).toMatch(/^--recalibrate: measuring/);
  });

  it('never for a board target or another runner: their hardware is not this CPU', () => {
    const board = runWith([]);
    board.target = 'ax650';
    expect(calibrationReason(board, null, true)).toBeNull();
    const endpoint = runWith([]);
    endpoint.suite.definition.runner = 'endpoint';
    expect(calibrationReason(endpoint, null, true)).toBeNull();
  });
});
