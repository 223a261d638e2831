import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import { applyFilters, expandMatrix, parseCellId, parseFilters } from '../../core/matrix.ts';
import { checkResult } from '../../harness/result-schema.ts';

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

describe('cell ids are unique and reversible (issue 18.5)', () => {
  it('values of different types give different ids', () => {
    const cells = expandMatrix({ tag: [1, '1', true, 'true'] });
    expect(cells.map((c) => c.id)).toEqual(['tag=1', 'tag="1"', 'tag=true', 'tag="true"']);
    for (const c of cells) expect(parseCellId(c.id)).toEqual(c.params);
  });

  it('"," and "=" inside values never read as separators', () => {
    const cells = expandMatrix({ a: ['1,b=2', '1'], b: ['3', '2,b=3'] });
    const ids = cells.map((c) => c.id);
    expect(new Set(ids).size).toBe(4);
    for (const c of cells) expect(parseCellId(c.id)).toEqual(c.params);
    expect(parseCellId(ids[0]!)).toEqual({ a: '1,b=2', b: '3' });
  });

  it('plain ids keep their usual form; odd strings and axis names round-trip', () => {
    expect(expandMatrix({ images: [1], precision: ['int8'], size: ['448x448'], q: ['q4_K_M'] })[0]!.id).toBe(
      'images=1,precision=int8,size=448x448,q=q4_K_M',
    );
    const odd = { 'a b': ['x y', '', '"q"', '1e3', '0.50', 'null', 'ü'], n: [-1.5, 0] };
    const cells = expandMatrix(odd);
    expect(new Set(cells.map((c) => c.id)).size).toBe(cells.length);
    for (const c of cells) expect(parseCellId(c.id)).toEqual(c.params);
  });

  it('a value listed twice on an axis is refused', () => {
    expect(() => expandMatrix({ images: [1, 2, 1] })).toThrow(InputError);
    expect(() => expandMatrix({ images: [1, 2, 1] })).toThrow(/matrix axis "images" lists 1 twice/);
    expect(() => expandMatrix({ images: [1, '1'] })).not.toThrow();
  });

  it('a result file with a duplicate cell id is an error naming the field', () => {
    const cell = { id: 'tag=1', index: 0, params: { tag: 1 }, status: 'ok', startedAt: 'x', finishedAt: 'x', loadMs: 1, model: null, settings: {}, iterations: [], metrics: {}, subgraphs: {}, peakRssBytes: null };
    const doc = makeResultDoc([cell, { ...cell, index: 1 }]);
    expect(() => checkResult(doc, 'r.json')).toThrow(/r\.json: not a valid result: field "cells\[1\]\.id": cell id "tag=1" occurs twice/);
    expect(() => checkResult(makeResultDoc([cell]), 'r.json')).not.toThrow();
  });
});

function makeResultDoc(cells: unknown[]): unknown {
  return {
    schemaVersion: 1,
    runId: 'r',
    suite: { name: 's', source: 'x', hash: 'h', definition: { name: 's', model: { name: 'm' }, target: 'local', runner: 'ort', defaults: { warmup: 0, iterations: 1, outputTokens: 1 }, matrix: { tag: [1] } } },
    target: 'local',
    status: 'complete',
    startedAt: 'x',
    finishedAt: 'x',
    options: { iterations: 1, warmup: 0, outputTokens: 1, threads: 1, filters: [] },
    environment: { host: { hostname: 'h', cpu: 'c', cores: 1, physicalCores: 1, memoryBytes: 1, arch: 'x' }, os: { platform: 'p', distro: 'd', release: 'r', kernel: 'k' }, versions: {}, git: { revision: null, dirty: null } },
    cells,
    plannedCells: ['tag=1'],
    warnings: [],
  };
}
