import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import { applyFilters, expandMatrix, parseFilters } from '../../harness/matrix.ts';

const matrix = { images: [0, 1, 4], prefill: [128, 256], precision: ['int8', 'int4'] };

describe('matrix expansion', () => {
  it('gives the Cartesian product in axis order, last axis fastest', () => {
    const cells = expandMatrix(matrix);
    expect(cells).toHaveLength(12);
    expect(cells[0]!.id).toBe('images=0,prefill=128,precision=int8');
    expect(cells[1]!.id).toBe('images=0,prefill=128,precision=int4');
    expect(cells[2]!.id).toBe('images=0,prefill=256,precision=int8');
    expect(cells[11]!.id).toBe('images=4,prefill=256,precision=int4');
    expect(cells.map((c) => c.index)).toEqual([...Array(12).keys()]);
    expect(new Set(cells.map((c) => c.id)).size).toBe(12);
    expect(cells[7]!.params).toEqual({ images: 1, prefill: 256, precision: 'int4' });
  });

  it('carries extra axes into params', () => {
    const cells = expandMatrix({ images: [1], chunk: [64, 128], backend: ['ort'] });
    expect(cells.map((c) => c.id)).toEqual(['images=1,chunk=64,backend=ort', 'images=1,chunk=128,backend=ort']);
  });
});

describe('filters', () => {
  const cells = expandMatrix(matrix);
  it('selects by one axis', () => {
    const picked = applyFilters(cells, parseFilters(['images=1'], matrix));
    expect(picked.map((c) => c.id)).toEqual([
      'images=1,prefill=128,precision=int8',
      'images=1,prefill=128,precision=int4',
      'images=1,prefill=256,precision=int8',
      'images=1,prefill=256,precision=int4',
    ]);
  });
  it('ANDs different axes and ORs values of one axis', () => {
    const picked = applyFilters(cells, parseFilters(['images=0,4', 'precision=int4', 'prefill=128'], matrix));
    expect(picked.map((c) => c.id)).toEqual(['images=0,prefill=128,precision=int4', 'images=4,prefill=128,precision=int4']);
    const repeated = applyFilters(cells, parseFilters(['images=0', 'images=4', 'precision=int4', 'prefill=128'], matrix));
    expect(repeated.map((c) => c.id)).toEqual(picked.map((c) => c.id));
  });
  it('rejects unknown axes, unknown values and malformed specs with the reason', () => {
    expect(() => parseFilters(['gpu=1'], matrix)).toThrow(/unknown axis "gpu"; the suite's axes are images, prefill, precision/);
    expect(() => parseFilters(['images=3'], matrix)).toThrow(/axis "images" has no value "3"; its values are 0, 1, 4/);
    expect(() => parseFilters(['images'], matrix)).toThrow(InputError);
    expect(() => parseFilters(['=1'], matrix)).toThrow(/expected key=value/);
  });
});
