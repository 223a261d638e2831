import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import { calibrationPlan } from '../../roofline/calibrate/calibrate.ts';
import { calibrationFromPeaks, publishedCalibration } from '../../roofline/calibrate/published.ts';
import { calibrationFileName, checkCalibration, findCalibration, loadCalibration, saveCalibration } from '../../roofline/calibrate/store.ts';
import { testCalibration } from './fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('roofline-store-');

describe('calibration files', () => {
  it('round-trips through results/calibration/<host>.json', () => {
    const c = testCalibration({ host: 'my host/1' });
    const path = saveCalibration(c, dir);
    expect(path).toBe(join(dir, 'my_host_1.json'));
    expect(loadCalibration(path)).toEqual(c);
    expect(calibrationFileName('..')).toBe('_.json');
  });

  it('finds the newest calibration of the target, on the same host for measured figures', () => {
    const d = mkdtempSync(join(dir, 'find-'));
    saveCalibration(testCalibration({ host: 'a', createdAt: '2025-01-01T00:00:00Z' }), d);
    writeFileSync(join(d, 'a-old.json'), JSON.stringify(testCalibration({ host: 'a', createdAt: '2024-01-01T00:00:00Z' })));
    writeFileSync(join(d, 'a-new.json'), JSON.stringify(testCalibration({ host: 'a', createdAt: '2025-06-01T00:00:00Z' })));
    saveCalibration(testCalibration({ host: 'b', createdAt: '2026-01-01T00:00:00Z' }), d);
    writeFileSync(join(d, 'broken.json'), '{"schemaVersion": 1');
    const found = findCalibration({ target: 'local', host: 'a' }, d);
    expect(found.path).toBe(join(d, 'a-new.json'));
    expect(found.calibration?.createdAt).toBe('2025-06-01T00:00:00Z');
    expect(found.skipped).toHaveLength(1);
    expect(found.skipped[0]).toContain('broken.json: not JSON');
    expect(findCalibration({ target: 'local', host: 'c' }, d).calibration).toBeNull();
    // Published figures apply whatever host reads them.
    saveCalibration(publishedCalibration('ax650', 'ax650', new Date('2025-02-02T00:00:00Z')), d);
    expect(findCalibration({ target: 'ax650', host: 'laptop' }, d).calibration?.matmul.int4?.value).toBe(72_000);
    expect(findCalibration({ target: 'local' }, join(d, 'missing')).calibration).toBeNull();
  });

  it('names the file and field of a bad calibration', () => {
    const bad = (patch: (doc: Record<string, unknown>) => void) => {
      const doc = JSON.parse(JSON.stringify(testCalibration())) as Record<string, unknown>;
      patch(doc);
      return () => checkCalibration(doc, 'cal.json');
    };
    expect(bad((d) => (d['schemaVersion'] = 2))).toThrow('cal.json: field "schemaVersion": expected 1 or older (this build cannot read newer calibrations), got 2');
    expect(bad((d) => ((d['bandwidth'] as Record<string, unknown>)['read'] = { value: -3, source: 'measured', method: 'x', threads: 1 }))).toThrow(
      'cal.json: field "bandwidth.read.value": expected a positive finite rate, got -3',
    );
    expect(bad((d) => ((d['matmul'] as Record<string, unknown>)['bf8'] = (d['matmul'] as Record<string, unknown>)['fp32']))).toThrow(
      'field "matmul.bf8": expected one of fp32, fp16, int8, int4',
    );
    expect(bad((d) => ((d['matmul'] as Record<string, Record<string, unknown>>)['int8']!['source'] = 'guessed'))).toThrow('field "matmul.int8.source"');
    expect(bad((d) => (d['weightStream'] = { q4: (d['matmul'] as Record<string, unknown>)['int4'] }))).toThrow('field "weightStream.q4": expected one of fp32, fp16, int8, int4');
    expect(bad((d) => (d['weightStream'] = { int4: { value: 0, source: 'measured', method: 'x', threads: 2 } }))).toThrow('field "weightStream.int4.value"');
    expect(bad((d) => (d['decodeAttention'] = { value: 5, source: 'guessed', method: 'x', threads: 2 }))).toThrow('field "decodeAttention.source"');
    expect(bad((d) => delete d['createdAt'])).toThrow(InputError);
    expect(() => loadCalibration(join(dir, 'nope.json'))).toThrow(/nope\.json: cannot read calibration/);
  });
});

describe('published figures', () => {
  it('built-in boards carry their citation and are labelled published', () => {
    const c = publishedCalibration('orin-nx-16gb', 'jetson', new Date('2025-03-04T00:00:00Z'));
    expect(c.target).toBe('jetson');
    expect(c.host).toBe('orin-nx-16gb');
    expect(c.bandwidth.read).toMatchObject({ value: 102.4, source: 'published', threads: null });
    expect(c.bandwidth.read?.citation).toContain('DS-10712-001');
    expect(c.bandwidth.copy).toBeNull();
    expect(c.matmul.int8?.method).toContain('sparse INT8');
    expect(checkCalibration(JSON.parse(JSON.stringify(c)), 'x')).toEqual(c);
    // AX650N: no bandwidth figure is invented.
    expect(publishedCalibration('ax650').bandwidth.read).toBeNull();
    expect(() => publishedCalibration('rk3588')).toThrow(/no published peaks for target "rk3588"; known boards: orin-nx-16gb, agx-orin-64gb, ax650/);
  });

  it('converts a target definition\'s peaks (TOPS -> G op/s) with its source as citation', () => {
    const c = calibrationFromPeaks({ name: 'orin-nx', peaks: { source: 'data sheet X', int8Tops: 100, memoryBandwidthGBps: 102.4, bf16Tflops: 5, notes: 'sparse' } });
    expect(c.bandwidth.read?.value).toBe(102.4);
    expect(c.matmul.int8?.value).toBe(100_000);
    expect(c.matmul.fp16?.value).toBe(5_000);
    expect(c.matmul.int8?.citation).toBe('data sheet X');
    expect(c.matmul.int8?.method).toBe('published figure; sparse');
    expect(c.notes).toContain('fp16 peak taken from bf16Tflops.');
    const noBw = calibrationFromPeaks({ name: 'b', peaks: { source: 's', int4Tops: 72 } });
    expect(noBw.bandwidth.read).toBeNull();
    expect(noBw.notes).toContain('The target gives no memoryBandwidthGBps: decode bounds are unavailable.');
  });

  it('plans: local measures, a targets-file board with peaks is published, one without is refused', () => {
    const file = join(dir, 'targets.yaml');
    writeFileSync(
      file,
      [
        'targets:',
        '  - name: orin-nx',
        '    kind: ssh',
        '    host: orin.example',
        '    peaks: { source: "data sheet", memoryBandwidthGBps: 102.4, int8Tops: 100 }',
        '  - name: bare',
        '    kind: ssh',
        '    host: bare.example',
        '  - name: board-ci',
        '    kind: local',
        '',
      ].join('\n'),
    );
    expect(calibrationPlan('local').kind).toBe('measure');
    expect(calibrationPlan('board-ci', file).kind).toBe('measure');
    const plan = calibrationPlan('orin-nx', file);
    expect(plan.kind).toBe('published');
    if (plan.kind === 'published') expect(plan.calibration('jetson').bandwidth.read?.citation).toBe('data sheet');
    expect(() => calibrationPlan('bare', file)).toThrow(/target "bare" \(.*targets\.yaml\) has no "peaks"/);
    expect(calibrationPlan('ax650', file).kind).toBe('published');
    expect(() => calibrationPlan('nowhere', file)).toThrow(/cannot calibrate target "nowhere": unknown target "nowhere"/);
    expect(readFileSync(file, 'utf8')).toContain('orin-nx');
  });
});
